"""Lead score: the probability that a prospect makes a first purchase within a window.

Prospects (people seen in ``events`` or ``customers`` without a purchase, see
:mod:`clvlab.lifecycle._lead_features`) get a **lead score** from two kinds of features (seed
002: behaviour and fit):

- behaviour, from ``events`` up to the date: per event type (the 12 most frequent) the count in
  the last 30 days and ever, active days (last 30 days and ever), event value in the last 30
  days, days since the last event (365 at most; "no event yet" flags a prospect known only from
  ``customers``);
- fit, from ``customers``: each text attribute (acquisition channel, region, tier, store, ...)
  as indicators of its 8 most frequent levels, and days since ``first_seen_at`` when known.

**Model**: a logistic regression (scikit-learn, L2, counts and days log1p-transformed and
standardised). Chosen over gradient boosting because the score is used as a probability
(logistic regression is calibrated by construction on the training split), the features are few
and mostly monotone (more views, more recent: more likely), and each prospect's drivers are then
exact: a feature's contribution to the log-odds is its coefficient x its standardised value, so
"top drivers" need no permutation or SHAP machinery.

**Time split**: with ``w`` = ``window`` days, the model that scores prospects as of ``as_of`` is
trained on the prospects as of ``as_of - w`` labelled by a first purchase in the ``w`` days
that follow (up to ``as_of``). The **evaluation** is out of time: a model trained one window
earlier (prospects as of ``as_of - 2w``, labelled up to ``as_of - w``) ranks the prospects as of
``as_of - w``, whose conversion up to ``as_of`` is known: AUC, the conversion rate of the top
decile against the base rate (lift), against the baseline "days since the last event" (more
recent, more likely). Training and evaluation use dated prospects only: a ``customers`` row
without ``first_seen_at`` (and no event) has no known arrival date, so it is scored at
``as_of`` but never learnt from (it would teach the model from the future).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, Hint, check_param
from clvlab.lifecycle._features import check_as_of, purchase_days
from clvlab.lifecycle._lead_features import (
    Spec,
    design,
    event_rows,
    make_spec,
    prospect_frame,
    tables,
)

__all__ = ["lead_scores"]

_WHERE = "lead_scores"
#: drivers shown per prospect
N_DRIVERS = 3


class _Model:
    """Standardise, then an L2 logistic regression; ``contributions`` gives each feature's share
    of the log-odds (coefficient x standardised value)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
        from sklearn.linear_model import LogisticRegression

        self.names = names
        self.mean = x.mean(axis=0)
        sd = x.std(axis=0)
        self.sd = np.where(sd > 1e-9, sd, 1.0)  # a constant feature (up to rounding) stays unscaled
        self.fit = LogisticRegression(C=1.0, max_iter=2000).fit(self._z(x), y)

    def _z(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.sd

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.fit.predict_proba(self._z(x))[:, 1], dtype=float)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._z(x) * self.fit.coef_[0], dtype=float)

    def coefficients(self) -> dict[str, float]:
        return {n: float(c) for n, c in zip(self.names, self.fit.coef_[0], strict=True)}


def _labelled(source: Any, events: Any, firsts: Any, day: dt.date, window: int, spec: Spec
              ) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    frame = prospect_frame(source, events, firsts, day, window, spec, dated_only=True)
    x, names, _ = design(frame, spec)
    return frame, x, names


def _check_classes(frame: pd.DataFrame, start: dt.date, end: dt.date, last_first: dt.date) -> None:
    """A located error unless the prospects as of ``start`` hold converters and others."""
    n, won = len(frame), int(frame["converted"].sum()) if len(frame) else 0
    if n and 0 < won < n:
        return
    what = (f"no dated prospect as of {start}" if not n else
            f"none of the {n:,} prospects as of {start} converted by {end}" if not won else
            f"all {n:,} prospects as of {start} converted by {end}")
    msg = f"{_WHERE}: {what}, so there is nothing to learn a lead score from"
    if not n:
        raise DataValidationError(msg, hint="load behavioural events (`clvlab load events FILE`) or customers with "
                                  "a first_seen_at column: a prospect needs a known arrival date to learn from")
    hints = [Hint("the day of the last first purchase", option="as_of", value=str(last_first)),
             Hint("or a longer window", option="window", value=2 * (end - start).days)]
    raise DataValidationError(msg, hint=hints)


def _top_decile_rate(score: np.ndarray, y: np.ndarray) -> float:
    k = max(1, int(np.ceil(len(y) / 10)))
    order = np.argsort(-score, kind="stable")
    return float(y[order[:k]].mean())


def _evaluate(source: Any, events: Any, firsts: Any, as_of: dt.date, window: int, spec: Spec,
              test: pd.DataFrame, x1: np.ndarray) -> dict[str, Any]:
    """Out-of-time evaluation (see the module docstring) on ``test``, the labelled prospects as
    of ``as_of - window`` (matrix ``x1``); ``{"error": ...}`` when it cannot run."""
    from sklearn.metrics import roc_auc_score

    t0, t1 = as_of - dt.timedelta(days=2 * window), as_of - dt.timedelta(days=window)
    train, x0, names = _labelled(source, events, firsts, t0, window, spec)
    for frame, start, end in ((train, t0, t1), (test, t1, as_of)):
        n, won = len(frame), int(frame["converted"].sum()) if len(frame) else 0
        if not n or won in (0, n):
            return {"error": f"the prospects as of {start} hold {'no' if not won else 'only'} converters by {end}: "
                    "no out-of-time evaluation", "trained_on": str(t0), "evaluated_on": str(t1)}
    model = _Model(x0, train["converted"].to_numpy(), names)
    y = test["converted"].to_numpy()
    score = model.predict(x1)
    since = test["days_since_last_event"] if "days_since_last_event" in test else pd.Series(np.nan, index=test.index)
    baseline = -since.fillna(1e6).to_numpy(float)
    base = float(y.mean())
    top, top_base = _top_decile_rate(score, y), _top_decile_rate(baseline, y)
    return {
        "trained_on": str(t0), "evaluated_on": str(t1), "label_end": str(as_of), "window_days": window,
        "n_train": len(train), "n_test": len(test), "converted_test": int(y.sum()), "base_rate": base,
        "auc": float(roc_auc_score(y, score)), "top_decile_rate": top, "lift": top / base,
        "baseline": "days since the last event", "baseline_auc": float(roc_auc_score(y, baseline)),
        "baseline_top_decile_rate": top_base, "baseline_lift": top_base / base,
    }


def _drivers(contrib: np.ndarray, shown: pd.DataFrame, names: list[str]) -> list[str]:
    """Per prospect, the features that raise its score most: ``label: value (+log-odds)``."""
    out = []
    raw = shown.to_numpy(float)
    for i in range(len(contrib)):
        order = np.argsort(-contrib[i], kind="stable")[:N_DRIVERS]
        parts = [f"{names[j]}: {raw[i, j]:g} ({contrib[i, j]:+.2f})" for j in order if contrib[i, j] > 0]
        out.append("; ".join(parts) or "(nothing above average)")
    return out


def _last_first_purchase(firsts: Any) -> dt.date:
    value = firsts["first"].max().execute()
    return pd.Timestamp(value).date()


def lead_scores(source: Any, *, as_of: Any = None, window: int = 30, evaluate: bool = True) -> pd.DataFrame:
    """Score every prospect as of ``as_of``: the probability of a first purchase within ``window`` days.

    Parameters
    ----------
    source
        A :class:`clvlab.Workspace` with ``transactions`` (who bought, and when first) and
        ``events`` and/or ``customers`` (who the prospects are).
    as_of
        The scoring date (default: the day of the last first purchase, the latest date with
        conversions before it to learn from). It must lie within the purchases' range.
    window
        Days after a date in which a first purchase counts as a conversion (default 30).
    evaluate
        Also run the out-of-time evaluation (``attrs["evaluation"]``).

    Returns
    -------
    pandas.DataFrame
        One row per prospect (index ``customer_id``), best first: ``lead_score``, ``rank``,
        ``drivers`` (the features that raise the score most, with their contribution to the
        log-odds), ``days_since_last_event``, ``events_30d``. ``attrs``: ``as_of``,
        ``window_days``, ``trained_on``, ``n_train``, ``base_rate`` (share of the training
        prospects who converted), ``coefficients``, ``model``, ``evaluation`` and ``notes``
        (e.g. that the bundled demo events are made up).

    Raises
    ------
    DataValidationError
        No events and no ``customers`` prospects (says what to load); no conversion (or only
        conversions) in the window before ``as_of`` to learn from (says which dates have some).
    """
    check_param(isinstance(window, int) and not isinstance(window, bool) and window > 0, "window", _WHERE,
                "a number of days > 0", window)
    have = tables(source)
    if "events" not in have and "customers" not in have:
        msg = f"{_WHERE}: the workspace has no events and no customers table, so there are no prospects to score"
        raise DataValidationError(msg, hint="load behavioural events (`clvlab load events FILE`: customer_id, "
                                  "occurred_at, event) or customers rows (`clvlab load customers FILE`)")
    days = purchase_days(source, _WHERE)
    firsts = days.group_by("cid").aggregate(first=days.day.min())
    last_first = _last_first_purchase(firsts)
    day = check_as_of(as_of if as_of is not None else last_first, days, _WHERE)
    events = event_rows(source)
    spec = make_spec(source, events, day)
    t1 = day - dt.timedelta(days=window)
    train, x, names = _labelled(source, events, firsts, t1, window, spec)
    _check_classes(train, t1, day, last_first)
    model = _Model(x, train["converted"].to_numpy(), names)
    now = prospect_frame(source, events, firsts, day, None, spec, dated_only=False)
    if now.empty:
        msg = f"{_WHERE}: every person seen by {day} has bought: no prospect to score"
        raise DataValidationError(msg, hint="load events or customers of people who have not bought yet")
    xs, _, shown = design(now, spec)
    out = pd.DataFrame(index=now.index)
    out["lead_score"] = model.predict(xs)
    out["drivers"] = _drivers(model.contributions(xs), shown, names)
    out["days_since_last_event"] = now.get("days_since_last_event", pd.Series(np.nan, index=now.index))
    recent = [c for c in now.columns if c.startswith("ev") and c.endswith("_30d")]
    out["events_30d"] = now[recent].fillna(0).sum(axis=1).astype("int64") if recent else 0
    out = out.sort_values(["lead_score"], ascending=False, kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    out = out[["lead_score", "rank", "drivers", "days_since_last_event", "events_30d"]]
    out.attrs.update(
        as_of=day.isoformat(), window_days=window, trained_on=t1.isoformat(), n_train=len(train),
        base_rate=float(train["converted"].mean()), coefficients=model.coefficients(),
        model="logistic regression (standardised log1p counts; L2, C=1)",
        evaluation=_evaluate(source, events, firsts, day, window, spec, train, x) if evaluate else None,
        notes=_demo_notes(source),
    )
    return out


#: the bundled made-up inputs of prospects (scripts/make_demo_events.py)
DEMO_SOURCES = ("demo_events.csv.gz", "demo_prospects.csv.gz")


def _demo_notes(source: Any) -> list[str]:
    used: set[str] = set()
    for name in ("events", "customers"):
        if name in tables(source) and "_source" in source.table(name).columns:
            used |= set(source.table(name).select("_source").distinct().execute()["_source"].dropna())
    if not used & set(DEMO_SOURCES):
        return []
    return ["demo assumption: the events and prospects are made up (scripts/make_demo_events.py; CDNOW has no "
            "behaviour): conversion follows rules made up there, so the AUC says how well the score recovers "
            "them, not how it would do on real prospects"]


def write_leads_table(workspace: Any, *, run_id: str, as_of: Any) -> dict[str, Any]:
    """Score the prospects and store them as the derived table ``leads`` with ``run_id``.

    The scores hold as of the last first purchase up to ``as_of`` (the latest date with
    conversions before it to learn from; on live data, about ``as_of`` itself). Returns a
    JSON-ready record: prospects, the date, the base rate and the evaluation, or why there is no
    lead score (``error``); an empty record without events or customers tables.
    """
    from clvlab.derived import write_derived

    have = tables(workspace)
    if "events" not in have and "customers" not in have:
        return {}
    days = purchase_days(workspace, _WHERE)
    end = pd.Timestamp(str(as_of)).date()
    last = days.filter(days.day <= end).group_by("cid").aggregate(first=days.day.min())["first"].max().execute()
    try:
        leads = lead_scores(workspace, as_of=pd.Timestamp(last).date() if not pd.isna(last) else end)
    except DataValidationError as exc:
        return {"error": str(exc)}
    write_derived(workspace, "leads", leads, run_id=run_id, as_of=leads.attrs["as_of"],
                  values={"window_days": float(leads.attrs["window_days"])})
    return {"n_prospects": len(leads), "as_of": leads.attrs["as_of"], "window_days": leads.attrs["window_days"],
            "base_rate": leads.attrs["base_rate"], "evaluation": leads.attrs["evaluation"],
            "notes": leads.attrs["notes"]}
