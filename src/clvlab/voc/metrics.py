"""NPS, CSAT and CES with confidence intervals: one sample, by any dimension, and as a trend.

Definitions (Reichheld 2003): on the 0-10 "how likely to recommend" scale, promoters answer 9-10,
passives 7-8, detractors 0-6; NPS = 100 (p_P - p_D). CSAT is the top-2-box share of a 1-5 scale
(4 or 5), with the mean beside it; CES is the mean of a 1-7 effort scale, with the share of
"easy" answers (top 3 box, 5-7) beside it.

Intervals (all from :mod:`clvlab.stats`)
----------------------------------------
NPS: Rocks' (2016) adjusted Wald with the multinomial variance (``method="wald"`` for the plain
one). Top-box shares: Wilson (1927). Means of CSAT and CES answers: the bounded-mean interval
(Wilson's on the rescaled mean with an effective sample size, Korn and Graubard 1998), which
stays inside the scale where Student's t would not (``csat([5, 4, 2])``: t gives -0.13 to 7.46 on
a 1-5 scale). See docs/voc.md.

References
----------
Rocks, B. (2016). Interval estimation for the "net promoter score". The American Statistician
70(4), 365-372 (the multinomial variance; the adjusted Wald interval with pseudo-observations).
Wilson, E. B. (1927). Probable inference ... JASA 22, 209-212.
Korn, E. L. and Graubard, B. I. (1998). Survey Methodology 24(2), 193-201.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from clvlab.errors import DataValidationError, Issue, check_param
from clvlab.stats import (
    NPSMethod,
    bounded_mean_interval,
    check_level,
    nps_interval,
    wilson_interval,
    z_quantile,
)
from clvlab.voc.feedback import feedback_table, grouped_frame

__all__ = ["NPSResult", "ScaleResult", "ces", "csat", "feedback_metrics", "metric_trend", "nps"]

Metric = Literal["nps", "csat", "ces"]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
DEFAULT_SCALES: dict[str, tuple[float, float]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@dataclass(frozen=True)
class NPSResult:
    """An NPS with its interval. ``value``, ``lower``, ``upper`` are on the -100..100 scale."""

    value: float
    lower: float
    upper: float
    n: int
    promoters: int
    passives: int
    detractors: int
    se: float  # the plain multinomial standard error, in points
    level: float = 0.95
    method: str = "adjusted_wald"

    @property
    def shares(self) -> dict[str, float]:
        """Shares (%) of promoters, passives and detractors."""
        n = self.n or 1
        return {"promoters": 100 * self.promoters / n, "passives": 100 * self.passives / n,
                "detractors": 100 * self.detractors / n}

    def __str__(self) -> str:
        s = self.shares
        return (f"NPS {self.value:+.1f} ({self.level:.0%} CI {self.lower:+.1f} to {self.upper:+.1f}), "
                f"n={self.n}: {s['promoters']:.0f}% promoters, {s['passives']:.0f}% passives, "
                f"{s['detractors']:.0f}% detractors")


@dataclass(frozen=True)
class ScaleResult:
    """A rating-scale metric: the mean with an interval inside the scale and a top-box share (%) with Wilson's."""

    metric: str
    n: int
    mean: float
    mean_lower: float
    mean_upper: float
    share: float  # % of answers >= top_box
    share_lower: float
    share_upper: float
    top_box: float
    scale: tuple[float, float]
    level: float = 0.95

    @property
    def value(self) -> float:
        """The headline number: top-2-box share (%) for CSAT, the mean for CES."""
        return self.share if self.metric == "csat" else self.mean

    def __str__(self) -> str:
        lo, hi = self.scale
        return (f"{self.metric.upper()} n={self.n}: share >= {self.top_box:g} {self.share:.1f}% "
                f"({self.level:.0%} CI {self.share_lower:.1f}-{self.share_upper:.1f}); "
                f"mean {self.mean:.2f} on {lo:g}-{hi:g} (CI {self.mean_lower:.2f}-{self.mean_upper:.2f})")


def _scores(scores: Any, scale: tuple[float, float], where: str) -> FloatArray:
    """Validated float scores in ``scale``; missing values dropped; located errors otherwise."""
    series = pd.Series(np.asarray(scores, dtype=object).ravel() if not isinstance(scores, pd.Series)
                       else scores.to_numpy(dtype=object))
    values = pd.to_numeric(series, errors="coerce")
    lo, hi = scale
    bad = (values.isna() & series.notna()) | (values < lo) | (values > hi)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        issues = [Issue(f"not a score in [{lo:g}, {hi:g}]", row=int(r) + 1, value=series.iloc[r])
                  for r in rows]
        msg = f"{where}: {len(rows)} score(s) outside the {lo:g}-{hi:g} scale"
        raise DataValidationError(msg, issues, hint="pass scale=(low, high) if your scale differs")
    out = values.dropna().to_numpy(dtype=float)
    if out.size == 0:
        msg = f"{where}: no scores given (after dropping missing values)"
        raise DataValidationError(msg)
    return out


def nps(scores: Any, *, level: float = 0.95, method: NPSMethod = "adjusted_wald") -> NPSResult:
    """Net Promoter Score of 0-10 answers with a confidence interval.

    Parameters
    ----------
    scores
        Array-like of 0-10 answers (missing values are dropped).
    level
        Confidence level of the interval.
    method
        ``"adjusted_wald"`` (Rocks 2016, the default) or ``"wald"``.

    Examples
    --------
    >>> r = nps([10] * 50 + [7] * 30 + [3] * 20, method="wald")
    >>> round(r.value), round(r.upper - r.value, 1)
    (30, 15.3)
    """
    level = check_level(level, "nps")
    check_param(method in ("adjusted_wald", "wald"), "method", "nps", "'adjusted_wald' or 'wald'", method)
    x = _scores(scores, DEFAULT_SCALES["nps"], "nps")
    p, d = int((x >= 9).sum()), int((x <= 6).sum())
    pa = x.size - p - d
    value, lower, upper, se = nps_interval(p, pa, d, level=level, method=method)
    return NPSResult(float(value), float(lower), float(upper), int(x.size), p, pa, d, float(se),
                     level, method)


def _top_box(metric: str, scale: tuple[float, float]) -> float:
    lo, hi = scale
    boxes = 3 if (metric == "ces" and hi - lo >= 6) else 2
    return hi - boxes + 1


def _scale_result(metric: str, scores: Any, scale: tuple[float, float], level: float) -> ScaleResult:
    where = metric
    level = check_level(level, where)
    check_param(len(scale) == 2 and scale[0] < scale[1], "scale", where, "(low, high) with low < high", scale)
    x = _scores(scores, scale, where)
    top = _top_box(metric, scale)
    k = int((x >= top).sum())
    lo_s, hi_s = wilson_interval(k, x.size, level=level)
    sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
    lo_m, hi_m = bounded_mean_interval(x.mean(), sd, x.size, scale=scale, level=level)
    return ScaleResult(metric, int(x.size), float(x.mean()), float(lo_m), float(hi_m),
                       100 * k / x.size, 100 * float(lo_s), 100 * float(hi_s), top,
                       (float(scale[0]), float(scale[1])), level)


def csat(scores: Any, *, scale: tuple[float, float] = (1, 5), level: float = 0.95) -> ScaleResult:
    """CSAT: top-2-box share (%) with a Wilson interval, and the mean with an interval inside the scale.

    The mean's interval is :func:`clvlab.stats.bounded_mean_interval` (never outside ``scale``,
    never a point when every answer is the same).

    Examples
    --------
    >>> r = csat([5, 4, 4, 3, 1, 5, 2, 4, 5, 5])
    >>> r.share, round(r.mean, 1)
    (70.0, 3.8)
    """
    return _scale_result("csat", scores, scale, level)


def ces(scores: Any, *, scale: tuple[float, float] = (1, 7), level: float = 0.95) -> ScaleResult:
    """CES: the mean effort score with an interval inside the scale, and the share "easy" (top 3 box of 1-7)."""
    return _scale_result("ces", scores, scale, level)


def _intervals(metric: str, agg: pd.DataFrame, level: float, scale: tuple[float, float]) -> pd.DataFrame:
    """Add value, lower, upper, se and shares to per-group counts (Python, group rows only)."""
    out = agg.copy()
    n = out["n"].to_numpy(dtype=float)
    if metric == "nps":
        p, d = out["promoters"].to_numpy(dtype=float), out["detractors"].to_numpy(dtype=float)
        out["passives"] = (n - p - d).astype("int64")
        value, lower, upper, se = nps_interval(p, n - p - d, d, level=level)
        out["value"], out["lower"], out["upper"], out["se"] = value, lower, upper, se
        with np.errstate(divide="ignore", invalid="ignore"):
            for col in ("promoters", "passives", "detractors"):
                out[f"share_{col}"] = 100 * out[col].to_numpy(dtype=float) / n
        return out
    s1, s2 = out.pop("sum").to_numpy(dtype=float), out.pop("sum_sq").to_numpy(dtype=float)
    k = out["top_box"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean, share = s1 / n, 100 * k / n
        sd = np.sqrt(np.where(n > 1, np.maximum(s2 - n * mean**2, 0.0) / (n - 1), np.nan))
        share_se = np.sqrt(share * (100 - share) / n)
    lo_s, hi_s = wilson_interval(k, n, level=level)
    lo_m, hi_m = bounded_mean_interval(mean, sd, n, scale=scale, level=level)
    out["mean"], out["mean_lower"], out["mean_upper"], out["sd"] = mean, lo_m, hi_m, sd
    out["share"], out["share_lower"], out["share_upper"] = share, 100 * lo_s, 100 * hi_s
    if metric == "csat":
        out["value"], out["lower"], out["upper"], out["se"] = share, 100 * lo_s, 100 * hi_s, share_se
    else:
        out["value"], out["lower"], out["upper"], out["se"] = mean, lo_m, hi_m, sd / np.sqrt(n)
    return out


def feedback_metrics(
    source: Any,
    *,
    metric: Metric = "nps",
    by: str | Sequence[str] = ("store_id",),
    period: Literal["month", "week"] | None = None,
    min_n: int = 30,
    level: float = 0.95,
    scale: tuple[float, float] | None = None,
    scores: Any = None,
) -> pd.DataFrame:
    """NPS / CSAT / CES per group with n, interval and a small-sample flag.

    Counts per group are computed in the engine holding the feedback (DuckDB, PostgreSQL, ...);
    only one row per group comes back, and the intervals are computed on those rows.

    Parameters
    ----------
    source
        A Workspace (its ``feedback`` table; ``stages`` joined for stage, ``scores`` for segment), an
        ibis.Table, or a pandas frame of responses (columns of the feedback contract).
    metric
        ``"nps"``, ``"csat"`` or ``"ces"``; rows of other metrics are ignored.
    by
        Columns to group by (any feedback column) and derived dimensions: ``month``/``week``
        (of ``responded_at``), ``stage`` (the workspace's ``stages`` table), ``segment`` (``scores``);
        user-facing aliases ``store``, ``product`` work too. ``()`` gives one overall row.
    period
        Also group by ``"month"`` or ``"week"``.
    min_n
        Groups with fewer responses are kept and flagged ``small_sample``.
    level, scale
        Confidence level; the metric's scale (default NPS 0-10, CSAT 1-5, CES 1-7).
    scores
        Per-customer scores (customer_id, segment, ...) when ``source`` is not a Workspace.

    Returns
    -------
    pandas.DataFrame
        One row per group: the group columns, ``n``, ``value``, ``lower``, ``upper``, ``se``,
        ``small_sample``; NPS adds class counts and ``share_*``; CSAT/CES add ``mean`` (with
        interval), ``share`` (top-box %, with Wilson interval) and ``top_box``.
    """
    where = "feedback_metrics"
    level = check_level(level, where)
    check_param(metric in DEFAULT_SCALES, "metric", where, "one of 'nps', 'csat', 'ces'", metric)
    check_param(isinstance(min_n, int) and min_n >= 0, "min_n", where, "an int >= 0", min_n)
    check_param(period in (None, "month", "week"), "period", where, "None, 'month' or 'week'", period)
    dims = [by] if isinstance(by, str) else list(by)
    if period is not None and period not in dims:
        dims.append(period)
    use_scale = scale or DEFAULT_SCALES[metric]
    table, canon = feedback_table(source, dims, metric=metric, where=where, scores=scores)
    agg = grouped_frame(table, canon, metric=metric, top_box=_top_box(metric, use_scale))
    out = _intervals(metric, agg, level, use_scale)
    out.insert(len(canon), "metric", metric)
    out["small_sample"] = out["n"] < min_n
    out = out.sort_values(canon, kind="stable").reset_index(drop=True) if canon else out
    out.attrs.update(metric=metric, level=level, min_n=min_n, by=canon, scale=use_scale)
    return out


def metric_trend(
    source: Any,
    *,
    metric: Metric = "nps",
    period: Literal["month", "week"] = "month",
    by: str | Sequence[str] = (),
    level: float = 0.95,
    scale: tuple[float, float] | None = None,
    scores: Any = None,
) -> pd.DataFrame:
    """The metric per period with its interval, the change from the previous period and its test.

    Tests (two-sided, on independent samples of consecutive periods): NPS, z = (N2 - N1) /
    sqrt(se1^2 + se2^2) with the multinomial variances (Rocks 2016); CSAT, the pooled
    two-proportion z test on the top-2-box shares; CES, Welch's z on the means.
    ``significant`` is ``p_value < 1 - level``.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`feedback_metrics` plus ``change``, ``change_lower``, ``change_upper``,
        ``p_value``, ``significant`` (NaN / False on each series' first period).
    """
    where = "metric_trend"
    check_param(period in ("month", "week"), "period", where, "'month' or 'week'", period)
    dims = [by] if isinstance(by, str) else list(by)
    frame = feedback_metrics(source, metric=metric, by=[*dims, period], min_n=0, level=level,
                             scale=scale, scores=scores)
    keys: list[str] = frame.attrs["by"][:-1]
    frame = frame.sort_values([*keys, period], kind="stable").reset_index(drop=True)
    prev = frame.groupby(keys, sort=False, dropna=False).shift(1) if keys else frame.shift(1)
    change = frame["value"] - prev["value"]
    se_diff = np.sqrt(frame["se"] ** 2 + prev["se"] ** 2)
    se_test = se_diff
    if metric == "csat":  # pooled two-proportion test
        pooled = (prev["top_box"] + frame["top_box"]) / (prev["n"] + frame["n"])
        se_test = 100 * np.sqrt(pooled * (1 - pooled) * (1 / prev["n"] + 1 / frame["n"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stats.norm.sf(np.abs((change / se_test).to_numpy(dtype=float)))
    p_value = np.where(se_test.to_numpy(dtype=float) == 0, np.where(change == 0, 1.0, 0.0), p_value)
    frame["change"] = change
    frame["change_lower"], frame["change_upper"] = change - z_quantile(level) * se_diff, change + z_quantile(level) * se_diff
    frame["p_value"] = np.where(change.isna(), np.nan, p_value)
    frame["significant"] = frame["p_value"] < 1 - level
    frame.attrs.update(period=period)
    return frame

