"""Health score: 0-100 per customer from named components, weights fitted and backtested.

Each component is a number in [0, 1] (1 = healthy); a customer without data for one (no NPS
answer, no comment) gets the neutral 0.5 there, and the ``*_known`` flags say so.

================ ==========================================================================
recency          1 - min(days since last purchase / (churn_ratio x own cadence), 1)
frequency_trend  purchase days in the last ``trend_days`` / those and the window before
                 (0.5 when the first purchase is inside the last window)
spend_trend      the same with spend
p_alive          P(alive) of Pareto/NBD or MBG/NBD (never BG/NBD)
nps              latest NPS answer: promoter 1, passive 0.5, detractor 0
sentiment        latest comment's sentiment, (score + 1) / 2
open_cases       0 with a case open on the date in the application store, else 1
================ ==========================================================================

Weights: a logistic regression of "bought again within ``churn_window_days``" on the
components, with non-negative weights (a component can only add health), fitted on a time
split: components as of ``as_of - churn_window_days``, the label from the window after it.
The points of a component are ``100 x weight x value / sum of weights``; the score is their
sum. :func:`health_backtest` fits one window earlier still and shows the churn rate per band
on the window that follows, out of time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import optimize, special

from clvlab.errors import DataValidationError
from clvlab.lifecycle._features import (
    aligned,
    check_as_of,
    data_range,
    positions,
    purchase_days,
    sample_days,
)
from clvlab.lifecycle.stages import _features_with_alive, _thresholds, labels, take_labels
from clvlab.lifecycle.thresholds import HEALTH_COMPONENTS, LifecycleThresholds

COMPONENTS = HEALTH_COMPONENTS
BANDS = ("red", "yellow", "green")


@dataclass(frozen=True)
class HealthWeights:
    """Fitted weights: per component, the intercept, and the split they were fitted on."""

    weights: dict[str, float]
    intercept: float
    features_as_of: str
    label_end: str
    n_customers: int
    churn_rate: float
    unused: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {"weights": self.weights, "intercept": self.intercept, "features_as_of": self.features_as_of,
                "label_end": self.label_end, "n_customers": self.n_customers, "churn_rate": self.churn_rate,
                "unused": list(self.unused)}


def _trend(recent: np.ndarray, before: np.ndarray, young: np.ndarray) -> np.ndarray:
    total = recent + before
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, recent / total, 0.0)
    return np.where(young, 0.5, share)


def _latest(source: Any, as_of: dt.date, metric: str | None) -> pd.DataFrame:
    """Latest NPS score (``metric='nps'``) or latest comment (None) per customer up to ``as_of``."""
    tables = getattr(source, "tables", None)
    if not callable(tables) or "feedback" not in tables():
        return pd.DataFrame(columns=["value"], index=pd.Index([], name="customer_id"))
    fb = source.table("feedback")
    col = "score" if metric else "comment"
    if col not in fb.columns or "customer_id" not in fb.columns:
        return pd.DataFrame(columns=["value"], index=pd.Index([], name="customer_id"))
    fb = fb.filter(fb.customer_id.notnull(), fb.responded_at.cast("date") <= ibis.date(as_of), fb[col].notnull())
    fb = fb.filter(fb.metric == metric) if metric else fb.filter(fb.comment.strip().length() > 0)
    order = [ibis.desc(fb.responded_at)]
    if "response_id" in fb.columns:  # ties broken as voc.drivers does: the same answer every run
        order.append(ibis.desc(fb.response_id))
    w = ibis.window(group_by=fb.customer_id, order_by=order)
    fb = fb.mutate(rank_=ibis.row_number().over(w))
    frame = fb.filter(fb.rank_ == 0).select(customer_id=fb.customer_id.cast("string"), value=fb[col]).execute()
    return frame.set_index("customer_id")


def _naive(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp


def _open_cases(app_store: Any, as_of: dt.date) -> set[str]:
    """Customers with a case opened by the end of ``as_of`` and not resolved or closed by then (UTC)."""
    from clvlab.cases.service import CaseService

    day = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    ids = set()
    for v in CaseService(app_store).list_cases():
        ended = v.resolved_at or v.closed_at
        if v.customer_id and _naive(v.opened_at) < day and (ended is None or _naive(ended) >= day):
            ids.add(str(v.customer_id))
    return ids


def health_components(
    source: Any, *, as_of: Any = None, model: Any = "ModifiedBetaGeo", thresholds: Any = None,
    app_store: Any = None,
) -> pd.DataFrame:
    """Every component in [0, 1] per customer who bought by ``as_of`` (NaN: no data)."""
    where = "health_components"
    th = _thresholds(thresholds, where)
    days = purchase_days(source, where)
    day = check_as_of(as_of, days, where)
    return _components(source, days, day, model, th, app_store, where)


def _components(source: Any, days: Any, day: dt.date, model: Any, th: LifecycleThresholds,
                app_store: Any, where: str) -> pd.DataFrame:
    frame, res = _features_with_alive(days, day, model, th, where)  # shared with the stages: never changed here
    young = frame["age_days"].to_numpy() < th.trend_days
    out = pd.DataFrame(index=frame.index)
    out["recency"] = 1 - np.minimum(frame["gap_ratio"].to_numpy(dtype=float) / res.churn_ratio, 1.0)

    def column(name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype=float)

    out["frequency_trend"] = _trend(column("n_recent"), column("n_before"), young)
    # NumPy, not Series.clip: pandas' where slices the 3-million-id index and rebuilds its lookup
    out["spend_trend"] = _trend(np.maximum(column("spend_recent"), 0.0), np.maximum(column("spend_before"), 0.0),
                                young)
    out["p_alive"] = frame["p_alive"].to_numpy()
    nps = _latest(source, day, "nps")["value"].astype(float)
    points = pd.Series(np.select([nps >= 9, nps >= 7], [1.0, 0.5], 0.0), index=nps.index)
    out["nps"] = aligned(points, out.index) if len(points) else np.nan
    comments = _latest(source, day, None)["value"]
    if len(comments):
        from clvlab.text.sentiment import sentiment

        scores = sentiment(comments.astype(str).reset_index(drop=True))["score"].to_numpy(dtype=float)
        out["sentiment"] = aligned(pd.Series((scores + 1) / 2, index=comments.index), out.index)
    else:
        out["sentiment"] = np.nan
    if app_store is not None:
        open_ids = _open_cases(app_store, day)
        out["open_cases"] = np.where(positions(out.index, list(open_ids)) >= 0, 0.0, 1.0)
    else:
        out["open_cases"] = np.nan
    out["stage"], out["spend"] = frame["stage"], frame["spend"].to_numpy()
    out.attrs.update(as_of=day.isoformat(), thresholds=res.as_dict())
    return out


def _matrix(components: pd.DataFrame) -> np.ndarray:
    return components[list(COMPONENTS)].to_numpy(dtype=float)


def _fit(x: np.ndarray, stayed: np.ndarray) -> tuple[np.ndarray, float, list[int]]:
    """Max-likelihood logistic regression with weights >= 0; constant columns get weight 0."""
    known = ~np.isnan(x)
    usable = [j for j in range(x.shape[1]) if known[:, j].any() and np.nanstd(x[:, j]) > 1e-9]
    z = np.where(known, x, 0.5)[:, usable]
    y = stayed.astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] + z @ theta[1:]
        nll = float(np.sum(np.logaddexp(0, eta) - y * eta)) / len(y)
        r = (special.expit(eta) - y) / len(y)
        return nll, np.concatenate([[r.sum()], z.T @ r])

    bounds = [(None, None)] + [(0.0, None)] * len(usable)
    result = optimize.minimize(loss, np.zeros(len(usable) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    w = np.zeros(x.shape[1])
    w[usable] = result.x[1:]
    return w, float(result.x[0]), usable


def _label(days: Any, start: dt.date, end: dt.date) -> pd.Index:
    """Customers with a purchase day in (start, end]."""
    d = days.filter((days.day > ibis.date(start)) & (days.day <= ibis.date(end)))
    return pd.Index(d.select("cid").distinct().execute()["cid"].astype(str))


def fit_health_weights(
    source: Any, *, label_end: Any = None, model: Any = "ModifiedBetaGeo", thresholds: Any = None,
    app_store: Any = None,
) -> HealthWeights:
    """Fit the component weights: components as of ``label_end - churn_window_days``, label =
    a purchase in the window up to ``label_end`` (default: the last purchase day); on at most
    ``fit_customers`` of the thresholds (a seeded sample beyond)."""
    where = "fit_health_weights"
    th = _thresholds(thresholds, where)
    days = purchase_days(source, where)
    end = check_as_of(label_end, days, where, "label_end")
    start = end - dt.timedelta(days=th.churn_window_days)
    lo, hi = data_range(days)
    if start <= lo:
        msg = (f"{where}: fitting the health weights needs purchases before {start.isoformat()} "
               f"({th.churn_window_days} days before {end.isoformat()}); the data start on {lo.isoformat()}")
        raise DataValidationError(msg, hint=f"use a later date (the data end on {hi.isoformat()}) "
                                  "or a shorter churn_window_days")
    sample = sample_days(days, start, th.fit_customers, seed=0)  # every customer up to fit_customers
    comps = _components(source, sample, start, model, th, app_store, where)
    stayed = comps.index.isin(_label(sample, start, end))
    w, b, usable = _fit(_matrix(comps), stayed)
    unused = tuple(c for j, c in enumerate(COMPONENTS) if j not in usable)
    return HealthWeights(weights={c: float(v) for c, v in zip(COMPONENTS, w, strict=True)}, intercept=b,
                         features_as_of=start.isoformat(), label_end=end.isoformat(), n_customers=len(comps),
                         churn_rate=float(1 - stayed.mean()), unused=unused)


def score_health(components: pd.DataFrame, weights: HealthWeights, th: LifecycleThresholds, *,
                 by_health: bool = False) -> pd.DataFrame:
    """Points per component, the 0-100 health score, its band and the fitted churn probability;
    rows in the order of ``components``, or by ascending health (stable) with ``by_health``."""
    n, k = len(components), len(COMPONENTS)
    w = np.array([weights.weights[c] for c in COMPONENTS])
    total = w.sum()
    # A component at a time, with the arithmetic of 100 * z * w / total and of the points' row
    # sums in the same order (the same numbers to the last bit): whole-matrix expressions on 3
    # million customers allocate 180 MB per operation, and fresh memory is what costs here.
    values = [components[c].to_numpy(dtype=float) for c in COMPONENTS]
    z = np.empty((k, n))  # z.T: the (customers, components) matrix, no data scored neutral
    for j, x in enumerate(values):
        np.copyto(z[j], x)
        z[j][np.isnan(x)] = 0.5

    def points(j: int, zj: np.ndarray) -> np.ndarray:
        return 100 * zj * w[j] / total if total > 0 else np.zeros(n)

    names = ["health", "churn_probability", "spend", *(f"points_{c}" for c in COMPONENTS), *COMPONENTS]
    block = np.empty((len(names), n))  # one float block, filled in place: pandas stores its transpose
    health = np.zeros(n)
    for j in range(k):
        p = points(j, z[j])
        health += p
        if not by_health:  # kept as summed; sorted, they are computed again from the sorted values
            block[3 + j] = p
    churn = 1 - special.expit(weights.intercept + z.T @ w)  # before sorting: BLAS sums a row as it lies
    del z
    # sorted as the block is filled: the inputs are taken (random reads cost), the points computed
    order = np.argsort(health, kind="stable") if by_health else None
    for row, data in ((0, health), (1, churn), (2, components["spend"].to_numpy(dtype=float)),
                      *((3 + k + j, x) for j, x in enumerate(values))):
        if order is None:
            block[row] = data
        else:
            np.take(data, order, out=block[row])
    for j in range(k if by_health else 0):
        x = block[3 + k + j]
        block[3 + j] = points(j, np.where(np.isnan(x), 0.5, x))
    index = components.index if order is None else components.index.take(order)
    out = pd.DataFrame(block.T, index=index, columns=names, copy=False)
    band = np.select([block[0] < th.red_below, block[0] < th.green_from], [0, 1], 2)
    out.insert(1, "band", labels(band, BANDS, index, "band"))
    out.insert(3, "stage", components["stage"] if order is None else take_labels(components["stage"], order, index))
    return out


def health_scores(
    source: Any, *, as_of: Any = None, weights: HealthWeights | None = None, model: Any = "ModifiedBetaGeo",
    thresholds: Any = None, app_store: Any = None, by_health: bool = True,
) -> pd.DataFrame:
    """The health score of every customer who bought by ``as_of``.

    Parameters
    ----------
    source
        A Workspace (``transactions``; ``feedback`` for NPS and sentiment).
    as_of
        The date (default: the last purchase day).
    weights
        Fitted :class:`HealthWeights`; default: fitted on the window that ends on ``as_of``
        (:func:`fit_health_weights`), i.e. only on what was known by then.
    model, thresholds
        As in :func:`clvlab.lifecycle_stages` (P(alive) model, default MBG/NBD).
    app_store
        The application store, for open cases (without it that component is unused).
    by_health
        Rows by ascending health (default), or in customer id order (False: no sort of millions
        of rows, as the pipeline writes the ``health`` table; its readers order it themselves).

    Returns
    -------
    pandas.DataFrame
        Per customer: ``health`` (0-100), ``band``, ``churn_probability`` (fitted, next
        ``churn_window_days``), ``stage``, ``spend`` (total up to ``as_of``), ``points_<component>`` (summing to ``health``) and
        each component's value (NaN: no data, scored neutral). ``attrs['weights']`` holds the fit.
    """
    where = "health_scores"
    th = _thresholds(thresholds, where)
    days = purchase_days(source, where)
    day = check_as_of(as_of, days, where)
    if weights is None:  # a fitted model is refitted on the earlier data (its parameters saw the label window)
        fit_model = model if isinstance(model, str | None) else type(model).__name__
        weights = fit_health_weights(source, label_end=day, model=fit_model, thresholds=th, app_store=app_store)
    comps = _components(source, days, day, model, th, app_store, where)
    out = score_health(comps, weights, th, by_health=by_health)
    out.attrs.update(as_of=day.isoformat(), weights=weights.as_dict(), thresholds=comps.attrs["thresholds"])
    return out


def health_backtest(
    source: Any, *, as_of: Any = None, model: Any = "ModifiedBetaGeo", thresholds: Any = None,
) -> pd.DataFrame:
    """How the bands separate customers who then churned, out of time.

    With W = ``churn_window_days``: weights fitted on the window ending ``as_of - W``, scores as
    of ``as_of - W``, churn = no purchase in (``as_of - W``, ``as_of``].

    Returns
    -------
    pandas.DataFrame
        Per band (red, yellow, green): ``customers``, ``churned``, ``churn_rate`` (%) and
        ``mean_churn_probability`` (%, the fit's prediction, for calibration). ``attrs`` hold the
        dates, the weights and the AUC of the score.
    """
    where = "health_backtest"
    th = _thresholds(thresholds, where)
    days = purchase_days(source, where)
    end = check_as_of(as_of, days, where)
    score_day = end - dt.timedelta(days=th.churn_window_days)
    weights = fit_health_weights(source, label_end=score_day, model=model, thresholds=th)
    scores = health_scores(source, as_of=score_day, weights=weights, model=model, thresholds=th)
    churned = ~scores.index.isin(_label(days, score_day, end))
    frame = pd.DataFrame({"band": scores["band"], "churned": churned, "p": scores["churn_probability"]})
    table = frame.groupby("band").agg(customers=("churned", "size"), churned=("churned", "sum"),
                                      mean_churn_probability=("p", "mean")).reindex(list(BANDS))
    table["customers"] = table["customers"].fillna(0).astype("int64")
    table["churned"] = table["churned"].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        table["churn_rate"] = 100 * table["churned"] / table["customers"].where(table["customers"] > 0)
    table["mean_churn_probability"] *= 100
    table.index.name = "band"
    from scipy.stats import mannwhitneyu

    pos, neg = scores["health"][~churned], scores["health"][churned]
    auc = float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))) if len(pos) and len(neg) else float("nan")
    table.attrs.update(scored_as_of=score_day.isoformat(), churn_until=end.isoformat(),
                       weights=weights.as_dict(), auc=auc)
    return table[["customers", "churned", "churn_rate", "mean_churn_probability"]]


__all__ = ["COMPONENTS", "HealthWeights", "fit_health_weights", "health_backtest",
           "health_components", "health_scores", "score_health"]
