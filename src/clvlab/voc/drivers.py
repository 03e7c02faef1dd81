"""What moves NPS (relative importance of touchpoints, topics and attributes) and what NPS is worth.

Driver importance: LMG, the Shapley decomposition of R^2 (Lindeman, Merenda & Gold 1980;
Grömping 2007). A linear model of the answer (the 0-10 score, or the net indicator +100 for a
promoter, 0 passive, -100 detractor, whose mean is the NPS) is fitted on every subset of the
drivers; a driver's importance is its increase in R^2 when it joins, averaged over all orders in
which drivers can enter:

    I_j = sum over S not containing j of |S|! (p - |S| - 1)! / p! * (R^2(S + j) - R^2(S))

The I_j are non-negative in expectation, sum exactly to the full model's R^2, and do not depend
on the order the drivers are listed in (unlike sequential R^2 or standardized coefficients, which
split the shared variance of correlated drivers arbitrarily). A categorical driver enters as its
whole group of dummy columns; each theme of a multi-theme column is one 0/1 driver. The exact
computation fits 2^p models from the p x p covariance matrix, so p is limited (default 12).

Beside it, per level: the NPS gap, NPS among responses with the level minus NPS among those
without, with a Wald interval from the two multinomial variances (independent groups).

References
----------
Lindeman, R. H., Merenda, P. F. & Gold, R. Z. (1980). Introduction to Bivariate and
Multivariate Analysis, p. 119 ff. Scott, Foresman.
Grömping, U. (2007). Estimators of relative importance in linear regression based on variance
decomposition. The American Statistician 61(2), 139-147 (eq. 3: the LMG formula).
Rocks, B. (2016). Interval estimation for the "net promoter score". Am. Stat. 70(4), 365-372.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from clvlab.errors import DataValidationError, ParameterError, check_param
from clvlab.stats import nps_interval, t_interval, z_quantile
from clvlab.voc.feedback import _as_table, feedback_table

__all__ = ["lmg", "nps_drivers", "value_by_nps_class"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
CLASSES = ("promoter", "passive", "detractor")


def nps_class(score: Any) -> Any:
    """'promoter' (9-10), 'passive' (7-8) or 'detractor' (0-6) for each score."""
    s = np.asarray(score, dtype=float)
    return np.where(s >= 9, "promoter", np.where(s >= 7, "passive", "detractor"))


# ---- LMG ------------------------------------------------------------------------------------


def lmg(x: Any, y: Any, groups: Sequence[Sequence[int]] | None = None) -> tuple[FloatArray, float]:
    """Shapley (LMG) decomposition of the R^2 of an OLS fit of ``y`` on ``x`` (with intercept).

    Parameters
    ----------
    x
        (n, k) predictor matrix.
    y
        (n,) response.
    groups
        Column indices of each driver (a categorical driver's dummies together); default one
        group per column.

    Returns
    -------
    (importances, r2)
        One importance per group, summing to the full model's ``r2``.
    """
    xm = np.asarray(x, dtype=float)
    ym = np.asarray(y, dtype=float)
    groups = [list(g) for g in (groups or [[j] for j in range(xm.shape[1])])]
    p = len(groups)
    xc, yc = xm - xm.mean(axis=0), ym - ym.mean()
    sxx, sxy, syy = xc.T @ xc, xc.T @ yc, float(yc @ yc)
    if syy == 0:
        return np.zeros(p), 0.0
    r2 = np.zeros(1 << p)
    for mask in range(1, 1 << p):
        idx = [c for j in range(p) if mask >> j & 1 for c in groups[j]]
        beta = np.linalg.lstsq(sxx[np.ix_(idx, idx)], sxy[idx], rcond=None)[0]
        r2[mask] = float(sxy[idx] @ beta) / syy
    weights = [math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)]
    imp = np.zeros(p)
    for mask in range(1 << p):
        size = mask.bit_count()
        for j in range(p):
            if not mask >> j & 1:
                imp[j] += weights[size] * (r2[mask | 1 << j] - r2[mask])
    return imp, float(r2[-1])


# ---- drivers of NPS -------------------------------------------------------------------------


def _comment_themes(comments: list[Any], merge: Any) -> list[list[str]]:
    """Themes of each comment: curated only, or with discovered themes merged (``merge``)."""
    from clvlab.text.themes import assign_themes, match_themes

    if merge is None:
        return match_themes(comments)
    from clvlab.text.clean import clean_text
    from clvlab.text.segment import tokenize

    texts = clean_text([c if isinstance(c, str) else None for c in comments])
    return assign_themes(texts, tokenize(texts), merge=merge)[0]


def _response_frame(source: Any, drivers: Sequence[str], themes: str, where: str, merge: Any = None) -> pd.DataFrame:
    """Responses of the NPS metric with ``score`` and the driver columns, as pandas."""
    if isinstance(source, pd.DataFrame):
        frame = source
        if "metric" in frame.columns:
            frame = frame[frame["metric"].astype(str).str.lower() == "nps"]
        missing = [d for d in (*drivers, "score") if d not in frame.columns]
        if missing:
            msg = f"{where}: column(s) {missing} not in the frame (columns: {', '.join(map(str, frame.columns))})"
            hint = ("get a 'themes' column from clvlab.analyze_text(comments)" if themes in missing else None)
            raise DataValidationError(msg, hint=hint)
        frame = frame[frame["score"].notna()].reset_index(drop=True)
        if merge is not None and themes in drivers:
            frame = frame.copy()
            if isinstance(merge, Mapping):
                from clvlab.text.themes import merge_themes

                frame[themes] = merge_themes(_theme_lists(frame[themes]), merge)
            elif "comment" in frame.columns:
                frame[themes] = _comment_themes(frame["comment"].tolist(), merge)
            else:
                msg = f"{where}: theme_merge='auto' needs the comments; the frame has no 'comment' column"
                raise DataValidationError(msg, hint="pass a mapping {discovered theme: named theme} instead")
        return frame
    if themes not in drivers:
        table, canon = feedback_table(source, drivers, metric="nps", where=where)
        return pd.DataFrame(table.execute()).rename(columns=dict(zip(canon, drivers, strict=True)))
    # topic drivers from a workspace: the themes of each comment (clvlab.text.themes)
    columns = [*(d for d in drivers if d != themes), "comment"]
    table, canon = feedback_table(source, columns, metric="nps", where=where)
    frame = pd.DataFrame(table.execute()).rename(columns=dict(zip(canon, columns, strict=True)))
    frame[themes] = _comment_themes(frame["comment"].tolist(), merge)
    return frame


def _theme_lists(values: pd.Series) -> list[list[str]]:
    out: list[list[str]] = []
    for v in values:
        if isinstance(v, str):
            out.append([t.strip() for t in v.split(",") if t.strip()])
        elif isinstance(v, list | tuple | set | np.ndarray):
            out.append([str(t).strip() for t in v if str(t).strip()])
        else:
            out.append([])
    return out


def _theme_sets(values: pd.Series) -> list[set[str]]:
    return [set(ts) for ts in _theme_lists(values)]


def _design(
    frame: pd.DataFrame, drivers: Sequence[str], themes: str, max_themes: int
) -> tuple[list[FloatArray], list[list[int]], list[str], list[tuple[str, str | None, FloatArray]]]:
    """Design columns, their groups and names, and each level's 0/1 membership (for gaps)."""
    cols: list[FloatArray] = []
    groups: list[list[int]] = []
    names: list[str] = []
    levels: list[tuple[str, str | None, FloatArray]] = []
    for d in drivers:
        values = frame[d]
        if d == themes or values.map(lambda v: isinstance(v, list | tuple | set | np.ndarray)).any():
            sets = _theme_sets(values)
            counts = pd.Series([t for s in sets for t in s], dtype=object).value_counts()
            for theme in list(counts.index[counts < len(frame)])[:max_themes]:
                member = np.array([theme in s for s in sets], dtype=float)
                groups.append([len(cols)])
                cols.append(member)
                names.append(f"{d}:{theme}")
                levels.append((f"{d}:{theme}", str(theme), member))
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            x = np.asarray(values, dtype=np.float64).copy()
            x[np.isnan(x)] = np.nanmean(x)
            groups.append([len(cols)])
            cols.append(x)
            names.append(d)
            levels.append((d, None, np.full(len(frame), np.nan)))
        else:
            lab = values.astype(object).where(values.notna(), "(missing)").astype(str)
            order = lab.value_counts()
            if len(order) < 2:
                continue
            group = []
            for level in order.index:
                member = (lab == level).to_numpy(dtype=float)
                levels.append((d, str(level), member))
                if level != order.index[0]:  # the most frequent level is the reference
                    group.append(len(cols))
                    cols.append(member)
            groups.append(group)
            names.append(d)
    return cols, groups, names, levels


def nps_drivers(
    source_or_frame: Any,
    *,
    drivers: str | Sequence[str] = ("touchpoint",),
    target: Literal["score", "net"] = "score",
    themes: str = "themes",
    theme_merge: Mapping[str, str] | Literal["auto"] | None = None,
    max_themes: int = 8,
    max_exact: int = 12,
    min_n: int = 30,
    level: float = 0.95,
) -> pd.DataFrame:
    """Which drivers explain NPS and by how much: LMG importance plus the NPS gap of each level.

    Parameters
    ----------
    source_or_frame
        A Workspace / ibis.Table of feedback, or a pandas frame of responses (``score`` plus
        driver columns; a ``themes`` column of lists or comma-separated strings, e.g. from
        :func:`clvlab.analyze_text`, for topic drivers). From a workspace, the ``themes`` driver
        is each comment's curated themes (:func:`clvlab.text.themes.match_themes`).
    drivers
        Driver columns: categorical (dummy group), numeric, or the themes column (one 0/1
        driver per theme, the ``max_themes`` most frequent).
    target
        ``"score"`` (the 0-10 answer) or ``"net"`` (+100 promoter, 0 passive, -100 detractor).
    theme_merge
        Count discovered themes under named ones in the topic drivers: a mapping (discovered id
        -> theme id, applied to the themes column), or ``"auto"``: themes recomputed from the
        comments with discovery and the suggested merges (:func:`clvlab.text.themes.assign_themes`).
        Default: the themes column as given; from a workspace, curated themes only.
    max_exact
        Most drivers (groups) for the exact 2^p computation.
    min_n
        Levels with fewer responses are flagged ``small_sample``.

    Returns
    -------
    pandas.DataFrame
        One row per driver level: ``driver``, ``level``, ``n``, ``nps``, ``nps_without``,
        ``gap``, ``gap_lower``, ``gap_upper``, ``p_value``, ``small_sample``, and the driver's
        ``importance`` (its part of R^2) and ``importance_pct`` (% of R^2); sorted by
        importance. ``attrs``: ``r2``, ``n``, ``target``, ``method``.
    """
    where = "nps_drivers"
    dlist = [drivers] if isinstance(drivers, str) else list(drivers)
    check_param(len(dlist) > 0, "drivers", where, "at least one column", drivers)
    check_param(target in ("score", "net"), "target", where, "'score' or 'net'", target)
    frame = _response_frame(source_or_frame, dlist, themes, where, theme_merge)
    score = pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float)
    if len(frame) < 3:
        msg = f"{where}: {len(frame)} NPS response(s); at least 3 are needed"
        raise DataValidationError(msg)
    cols, groups, names, levels = _design(frame, dlist, themes, max_themes)
    if len(groups) > max_exact:
        msg = (f"{where}: {len(groups)} drivers; the exact Shapley decomposition is limited to "
               f"max_exact={max_exact} (2^p model fits)")
        raise ParameterError(msg + "; pass fewer drivers or a smaller max_themes")
    y = score if target == "score" else 100 * np.where(score >= 9, 1.0, np.where(score >= 7, 0.0, -1.0))
    imp, r2 = lmg(np.column_stack(cols), y, groups) if groups else (np.zeros(0), 0.0)
    importance = dict(zip(names, imp, strict=True))
    z = z_quantile(level)
    prom, det = score >= 9, score <= 6
    rows = []
    for driver, lev, member in levels:
        row: dict[str, Any] = {"driver": driver, "level": lev, "importance": importance.get(driver, 0.0)}
        if lev is not None:
            w = member.astype(bool)
            counts = [(int((prom & m).sum()), int((~prom & ~det & m).sum()), int((det & m).sum())) for m in (w, ~w)]
            v1, _, _, se1 = nps_interval(*counts[0])
            v0, _, _, se0 = nps_interval(*counts[1])
            se = float(np.hypot(se1, se0))
            gap = float(v1 - v0)
            row.update(n=int(w.sum()), nps=float(v1), nps_without=float(v0), gap=gap,
                       gap_lower=gap - z * se, gap_upper=gap + z * se,
                       p_value=float(2 * stats.norm.sf(abs(gap) / se)) if se > 0 else float("nan"))
        else:
            row.update(n=len(frame))
        rows.append(row)
    out = pd.DataFrame(rows, columns=["driver", "level", "n", "nps", "nps_without", "gap", "gap_lower",
                                      "gap_upper", "p_value", "importance"])
    out["small_sample"] = out["n"] < min_n
    out["importance_pct"] = 100 * out["importance"] / r2 if r2 > 0 else 0.0
    out = out.sort_values(["importance", "gap"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.attrs.update(r2=r2, n=len(frame), target=target, method="LMG (Shapley decomposition of R^2)",
                     importance=importance)
    return out


# ---- value by NPS class ---------------------------------------------------------------------


def _latest_nps(feedback: Any, where: str) -> pd.DataFrame:
    t = _as_table(feedback, "feedback", where)
    need = [c for c in ("customer_id", "score", "responded_at") if c not in t.columns]
    if need:
        msg = f"{where}: the feedback lacks column(s) {need}"
        raise DataValidationError(msg)
    if "metric" in t.columns:
        t = t.filter(t.metric.lower() == "nps")
    t = t.filter(t.customer_id.notnull() & t.score.notnull())
    keys = [ibis.desc(t.responded_at)] + ([ibis.desc(t.response_id)] if "response_id" in t.columns else [])
    t = t.mutate(_rn=ibis.row_number().over(group_by=t.customer_id, order_by=keys))
    latest = t.filter(t._rn == 0).select(customer_id=t.customer_id.cast("string"), score=t.score.cast("float64"))
    return pd.DataFrame(latest.execute())


def _scores_frame(scores: Any, where: str) -> pd.DataFrame:
    from clvlab.derived import read_derived

    table = read_derived(scores, "scores", columns=("clv", "p_alive"), where=where)
    return pd.DataFrame(table.select("customer_id", "clv", "p_alive").execute())


def _welch(a: FloatArray, b: FloatArray, level: float) -> tuple[float, float, float]:
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if se > 0 else np.inf
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return diff, diff - half, diff + half


def value_by_nps_class(feedback: Any, scores: Any, *, level: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Mean CLV and P(alive) of promoters, passives and detractors, with intervals.

    Each customer counts once, in the class of their latest NPS answer. Intervals are Student t
    on the class mean (CLT: a mean of n >= 30 skewed CLVs is close to normal; smaller classes
    are flagged ``small_sample``); the last row, ``promoter - detractor``, is Welch's difference
    of means with the Welch-Satterthwaite degrees of freedom.

    Parameters
    ----------
    feedback
        Workspace, ibis.Table or pandas frame with customer_id, responded_at, score (metric).
    scores
        Per-customer scores (index or column customer_id; clv, p_alive): a frame, an
        ibis.Table or a Workspace (table ``scores``).

    Returns
    -------
    pandas.DataFrame
        Rows promoter, passive, detractor, promoter - detractor; columns ``n``, ``clv``,
        ``clv_lower``, ``clv_upper``, ``p_alive``, ``p_alive_lower``, ``p_alive_upper``,
        ``small_sample``. ``attrs``: ``matched``, ``unmatched`` (answers with no score).
    """
    where = "value_by_nps_class"
    latest = _latest_nps(feedback, where)
    sc = _scores_frame(scores, where)
    merged = latest.merge(sc, on="customer_id", how="inner")
    merged["nps_class"] = nps_class(merged["score"])
    rows = []
    for cls in CLASSES:
        part = merged[merged["nps_class"] == cls]
        row: dict[str, Any] = {"nps_class": cls, "n": len(part)}
        for col in ("clv", "p_alive"):
            x = part[col].to_numpy(dtype=float)
            mean = float(x.mean()) if x.size else float("nan")
            sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
            lo, hi = t_interval(mean, sd, x.size, level=level)
            row.update({col: mean, f"{col}_lower": float(lo), f"{col}_upper": float(hi)})
        rows.append(row)
    diff: dict[str, Any] = {"nps_class": "promoter - detractor", "n": None}
    pro, det = merged[merged["nps_class"] == "promoter"], merged[merged["nps_class"] == "detractor"]
    for col in ("clv", "p_alive"):
        if len(pro) > 1 and len(det) > 1:
            d, lo_d, hi_d = _welch(pro[col].to_numpy(float), det[col].to_numpy(float), level)
        else:
            d = lo_d = hi_d = float("nan")
        diff.update({col: d, f"{col}_lower": lo_d, f"{col}_upper": hi_d})
    rows.append(diff)
    out = pd.DataFrame(rows).set_index("nps_class")
    out["n"] = out["n"].astype("Int64")
    out["small_sample"] = (out["n"] < min_n).fillna(False).astype(bool)
    out.attrs.update(matched=len(merged), unmatched=len(latest) - len(merged), level=level)
    return out
