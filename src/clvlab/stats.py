"""Confidence intervals, in one place: proportions, means, bounded means and the NPS.

Every function is vectorised (array-like in, float arrays out) and takes ``level``, the
confidence level in (0, 1). Survey metrics (:mod:`clvlab.voc.metrics`), NPS drivers and, next,
experiments build on these.

- :func:`wald_interval` and :func:`wilson_interval`: a proportion k / n. Wilson (1927) is the
  default everywhere (it stays in [0, 1] and keeps its coverage at small n or extreme p); Wald is
  the textbook p +- z se, kept for comparisons.
- :func:`t_interval`: a mean, Student t. Unbounded: use it for differences and sums.
- :func:`bounded_mean_interval`: the mean of answers on a bounded scale (CSAT 1-5, CES 1-7).
  The mean is rescaled to p in [0, 1], the share of the scale's range; the answers' variance gives
  an effective sample size n_eff = n p (1 - p) / s^2 (the design-effect idea of Korn and Graubard
  1998), and the Wilson interval of p with n_eff and Student t's quantile (n - 1 degrees of
  freedom) is mapped back. The interval always lies inside the scale, is not symmetric near its
  ends, and never collapses when every answer is at one end: with no spread observed
  (s = 0, or n = 1) the widest variance the mean allows, p (1 - p), is used (n_eff = n).
- :func:`nps_interval`: NPS from class counts with the multinomial variance (Rocks 2016), plain
  or adjusted Wald.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
JASA 22, 209-212.
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24(2), 193-201.
Rocks, B. (2016). Interval estimation for the "net promoter score". The American Statistician
70(4), 365-372.

Two-sample comparisons and design (experiments, :mod:`clvlab.experiments`): :func:`welch_interval`,
:func:`newcombe_interval`, :func:`relative_interval`, :func:`srm_test`, :func:`holm`,
:func:`benjamini_hochberg`, :func:`winsorize`, :func:`covariate_adjust` (CUPED),
:func:`bootstrap_interval`, :func:`sample_size_proportions`, :func:`sample_size_means`; their
sources are in their docstrings and in docs/experiments.md. Two scores ranked on the same
customers (the churn model against a baseline): :func:`auc_difference_interval`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats as _dist

from clvlab.errors import check_param

__all__ = [
    "auc_difference_interval",
    "benjamini_hochberg",
    "bootstrap_interval",
    "bounded_mean_interval",
    "check_level",
    "covariate_adjust",
    "holm",
    "newcombe_interval",
    "nps_difference",
    "nps_interval",
    "relative_interval",
    "sample_size_means",
    "sample_size_proportions",
    "srm_test",
    "t_interval",
    "two_proportion_p",
    "wald_interval",
    "welch_interval",
    "wilson_interval",
    "winsorize",
    "z_quantile",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
NPSMethod = Literal["adjusted_wald", "wald"]
#: a variance (on the 0-1 rescaled scale) below this is rounding error of identical answers
_NO_SPREAD = 1e-10
PSEUDO = 0.75  # Rocks (2016): 3/4 of a response added to promoters and to detractors, n + 3


def z_quantile(level: float) -> float:
    """The two-sided normal quantile of ``level`` (1.96 for 0.95)."""
    return float(_dist.norm.ppf(0.5 + level / 2))


def check_level(level: object, where: str) -> float:
    """``level`` as a float in (0, 1), or a :class:`~clvlab.errors.ParameterError` naming ``where``."""
    ok = isinstance(level, float | int) and not isinstance(level, bool) and 0 < level < 1
    check_param(ok, "level", where, "a float in (0, 1)", level)
    assert isinstance(level, float | int)
    return float(level)


def _t_quantile(level: float, n: FloatArray) -> FloatArray:
    """Student t quantiles with n - 1 degrees of freedom (NaN when n < 2)."""
    q: FloatArray = _dist.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan))
    return q


def wald_interval(k: Any, n: Any, *, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Wald interval p +- z sqrt(p (1 - p) / n) of a proportion k / n, clipped to [0, 1]."""
    k_arr, n_arr = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_arr / n_arr
        half = z_quantile(level) * np.sqrt(p * (1 - p) / n_arr)
    return np.clip(p - half, 0, 1), np.clip(p + half, 0, 1)


def _wilson(p: FloatArray, n: FloatArray, q: Any) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1 + q**2 / n
        centre = (p + q**2 / (2 * n)) / denom
        half = q * np.sqrt(p * (1 - p) / n + q**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def wilson_interval(k: Any, n: Any, *, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of a proportion k / n (as shares in [0, 1]).

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)       # Newcombe (1998), example (a)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    k_arr, n_arr = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_arr / n_arr
    return _wilson(p, n_arr, z_quantile(level))


def t_interval(mean: Any, sd: Any, n: Any, *, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Student t interval of a mean (NaN when n < 2)."""
    m, s, n_arr = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        half = _t_quantile(level, n_arr) * s / np.sqrt(n_arr)
    return m - half, m + half


def bounded_mean_interval(
    mean: Any, sd: Any, n: Any, *, scale: tuple[float, float], level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Interval of the mean of answers on ``scale`` = (low, high); always inside the scale.

    Wilson's interval of the rescaled mean with the effective sample size
    n p (1 - p) / s^2 and a t quantile (see the module docstring). ``sd`` is the sample standard
    deviation (ddof=1; NaN or 0 when it is unknown or no spread was seen).

    Examples
    --------
    >>> lo, hi = bounded_mean_interval(11 / 3, 1.5275, 3, scale=(1, 5))   # answers 5, 4, 2
    >>> bool(1 <= lo < 11 / 3 < hi <= 5)
    True
    """
    low, high = float(scale[0]), float(scale[1])
    width = high - low
    m, s, n_arr = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    p = np.clip((m - low) / width, 0.0, 1.0)
    var = (s / width) ** 2
    bound = p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.isfinite(var) & (var > _NO_SPREAD) & (bound > 0)
        n_eff = np.where(spread, n_arr * bound / np.where(spread, var, 1.0), n_arr)
    q = _t_quantile(level, n_arr)
    q = np.where(np.isnan(q) & (n_arr >= 1), z_quantile(level), q)
    lo, hi = _wilson(p, n_eff, q)
    return low + width * lo, low + width * hi


def _adjusted_nps(promoters: Any, detractors: Any, n: Any) -> tuple[Any, Any]:
    """Rocks' (2016) adjusted-Wald NPS (as a share) and its variance: 3/4 of a response added to
    promoters and to detractors, 3 to n."""
    n_adj = n + 4 * PSEUDO
    pa, da = (promoters + PSEUDO) / n_adj, (detractors + PSEUDO) / n_adj
    return pa - da, (pa + da - (pa - da) ** 2) / n_adj


def nps_interval(
    promoters: Any, passives: Any, detractors: Any, *, level: float = 0.95,
    method: NPSMethod = "adjusted_wald",
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """NPS (-100..100), lower, upper and the Wald standard error, from class counts.

    The counts are one multinomial draw, so Var(p_P - p_D) = (p_P + p_D - (p_P - p_D)^2) / n
    (the covariance term -2 p_P p_D / n is what a naive "difference of two proportions"
    forgets). ``se`` is always this plain standard error (x 100), as the two-sample test uses it.
    The bounds follow ``method``: ``"wald"``, or Rocks' (2016) adjusted Wald, which adds 3/4 of a
    response to promoters and to detractors and 3 to n (so 3/2 to passives) before applying the
    Wald formula: near-nominal coverage at small n, and no collapse when every answer is in one
    class.
    """
    p_cnt = np.asarray(promoters, dtype=float)
    d_cnt = np.asarray(detractors, dtype=float)
    n = p_cnt + np.asarray(passives, dtype=float) + d_cnt
    z = z_quantile(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp, pd_ = p_cnt / n, d_cnt / n
        value = pp - pd_
        se = np.sqrt(np.maximum(pp + pd_ - value**2, 0.0) / n)
        if method == "wald":
            centre, half = value, z * se
        else:
            centre, var = _adjusted_nps(p_cnt, d_cnt, n)
            half = z * np.sqrt(var)
    lower = np.clip(centre - half, -1.0, 1.0)
    upper = np.clip(centre + half, -1.0, 1.0)
    return 100 * value, 100 * lower, 100 * upper, 100 * se


def nps_difference(
    counts_t: tuple[int, int, int], counts_c: tuple[int, int, int], *, level: float = 0.95
) -> tuple[float, float, float, float, float]:
    """NPS of treatment minus control: ``(diff, lower, upper, se, p)``, in NPS points.

    ``counts_*`` are (promoters, passives, detractors) of each arm, independent multinomials, so
    Var(NPS_t - NPS_c) is the sum of the arms' multinomial variances (:func:`nps_interval`). The
    bounds use each arm's adjusted-Wald estimate and variance (3/4 of a response added to its
    promoters and detractors, Rocks 2016) and the normal quantile; ``se`` and the two-sided ``p``
    of "no difference" use the plain estimates. NaN when an arm has no respondent.
    """
    (v_t, _, _, se_t), (v_c, _, _, se_c) = (
        (float(x) for x in nps_interval(*arm, level=level, method="wald")) for arm in (counts_t, counts_c))
    if min(sum(counts_t), sum(counts_c)) == 0:
        return (float("nan"),) * 5
    (c_t, var_t), (c_c, var_c) = (_adjusted_nps(arm[0], arm[2], sum(arm)) for arm in (counts_t, counts_c))
    centre, var = c_t - c_c, var_t + var_c
    half = 100 * z_quantile(level) * np.sqrt(var)
    diff, se = v_t - v_c, float(np.hypot(se_t, se_c))
    p = float(2 * _dist.norm.sf(abs(diff) / se)) if se > 0 else float("nan")
    return diff, float(max(100 * centre - half, -200.0)), float(min(100 * centre + half, 200.0)), se, p


# --- two-sample comparisons, multiplicity and design (clvlab.experiments) ----------------------
#
# Welch (1947) for a difference of means; Newcombe (1998, method 10) for a difference of
# proportions; the delta method for the relative effect (Deng, Knoblich and Lu 2018); the SRM
# chi-squared test; Holm (1979) and Benjamini-Hochberg (1995); CUPED (Deng, Xu, Kohavi and Walker
# 2013) and its multi-covariate form; sample sizes by Fleiss, Tytun and Ury (1980) for proportions
# and the t-based formula (Cohen 1988, ch. 2) for means.


def welch_interval(
    mean_t: float, var_t: float, n_t: int, mean_c: float, var_c: float, n_c: int, *, level: float = 0.95
) -> tuple[float, float, float, float, float]:
    """Difference of means (treatment - control): ``(diff, lower, upper, se, p)`` by Welch's t.

    se = sqrt(s_t^2 / n_t + s_c^2 / n_c); degrees of freedom by Welch-Satterthwaite; ``p`` is
    the two-sided p-value of "no difference". NaN when an arm has fewer than 2 customers.
    """
    if n_t < 2 or n_c < 2:
        return (mean_t - mean_c, *(float("nan"),) * 4)
    a, b = var_t / n_t, var_c / n_c
    se = float(np.sqrt(a + b))
    diff = float(mean_t - mean_c)
    if se == 0:
        return diff, diff, diff, 0.0, float("nan")
    df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))
    q = float(_dist.t.ppf(0.5 + level / 2, df))
    p = float(2 * _dist.t.sf(abs(diff) / se, df))
    return diff, diff - q * se, diff + q * se, se, p


def newcombe_interval(k_t: int, n_t: int, k_c: int, n_c: int, *, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of proportions k_t / n_t - k_c / n_c with Newcombe's hybrid score interval.

    Method 10 of Newcombe (1998): the Wilson intervals (l, u) of each proportion combine as
    d - sqrt((p_t - l_t)^2 + (u_c - p_c)^2) and d + sqrt((u_t - p_t)^2 + (p_c - l_c)^2).

    Examples
    --------
    >>> d, lo, hi = newcombe_interval(56, 70, 48, 80)     # Newcombe (1998), table II, example (a)
    >>> round(d, 4), round(lo, 4), round(hi, 4)
    (0.2, 0.0524, 0.3339)
    """
    p_t, p_c = k_t / n_t, k_c / n_c
    (l_t, u_t), (l_c, u_c) = (tuple(float(v) for v in wilson_interval(k, n, level=level))
                              for k, n in ((k_t, n_t), (k_c, n_c)))
    d = p_t - p_c
    return d, d - float(np.hypot(p_t - l_t, u_c - p_c)), d + float(np.hypot(u_t - p_t, p_c - l_c))


def two_proportion_p(k_t: int, n_t: int, k_c: int, n_c: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (= Pearson's chi-squared, 1 df)."""
    pooled = (k_t + k_c) / (n_t + n_c)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    return float(2 * _dist.norm.sf(abs(k_t / n_t - k_c / n_c) / se)) if se > 0 else float("nan")


def relative_interval(
    mean_t: float, var_t: float, n_t: int, mean_c: float, var_c: float, n_c: int, *, level: float = 0.95
) -> tuple[float, float, float]:
    """Relative effect mean_t / mean_c - 1 and its interval by the delta method.

    Var(m_t / m_c) ~ s_t^2 / (n_t m_c^2) + m_t^2 s_c^2 / (n_c m_c^4) (Deng, Knoblich and Lu
    2018, the form GrowthBook uses). NaN when the control mean is 0.
    """
    if mean_c == 0 or n_t < 2 or n_c < 2:
        return (float("nan"),) * 3
    rel = mean_t / mean_c - 1
    se = np.sqrt(var_t / (n_t * mean_c**2) + mean_t**2 * var_c / (n_c * mean_c**4))
    half = z_quantile(level) * float(se)
    return float(rel), float(rel - half), float(rel + half)


def srm_test(counts: Any, shares: Any) -> tuple[float, float]:
    """Sample-ratio-mismatch test: Pearson's chi-squared of arm counts against the planned shares.

    Returns ``(chi2, p)``; a p below 0.001 is the usual alarm (Fabijan et al. 2019).
    """
    obs = np.asarray(counts, dtype=float)
    exp = np.asarray(shares, dtype=float) / np.sum(shares) * obs.sum()
    chi2 = float(np.sum((obs - exp) ** 2 / exp))
    return chi2, float(_dist.chi2.sf(chi2, len(obs) - 1))


def holm(p: Any) -> FloatArray:
    """Holm (1979) step-down adjusted p-values: max over j <= i of (m - j + 1) p_(j), capped at 1."""
    arr = np.asarray(p, dtype=float)
    order = np.argsort(arr)
    m = len(arr)
    adj = np.minimum(np.maximum.accumulate((m - np.arange(m)) * arr[order]), 1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p: Any) -> FloatArray:
    """Benjamini-Hochberg (1995) adjusted p-values: min over j >= i of m p_(j) / j, capped at 1."""
    arr = np.asarray(p, dtype=float)
    order = np.argsort(arr)
    m = len(arr)
    ranked = arr[order] * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def winsorize(values: Any, percentile: float) -> tuple[FloatArray, float]:
    """``values`` capped above at their ``percentile`` (0-100, linear interpolation) and the cap."""
    arr = np.asarray(values, dtype=float)
    cap = float(np.percentile(arr, percentile)) if len(arr) else float("nan")
    return np.minimum(arr, cap), cap


def covariate_adjust(y: Any, covariates: Any, groups: Any) -> tuple[FloatArray, FloatArray, float]:
    """CUPED / regression adjustment: ``y - (X - mean(X)) theta``, theta, and the variance explained.

    theta is the least-squares slope of y on the covariates X after centring both within each
    group (arm), i.e. pooled over arms: with one covariate theta = cov(y, x) / var(x) (Deng et al.
    2013); with several it is the regression adjustment without interactions (the "CUPED with
    multiple covariates" of Deng et al., sec. 3.3; Lin 2013 adds interactions). The returned r2
    is 1 - var(within-arm residual) / var(within-arm y): the share of variance removed.
    Constant covariates are dropped.
    """
    yv = np.asarray(y, dtype=float)
    x = np.asarray(covariates, dtype=float).reshape(len(yv), -1)
    g = np.asarray(groups)
    xc, yc = x.copy(), yv.copy()
    for level_ in np.unique(g):
        sel = g == level_
        xc[sel] -= x[sel].mean(axis=0)
        yc[sel] -= yv[sel].mean()
    keep = xc.std(axis=0) > 0
    theta = np.zeros(x.shape[1])
    if keep.any() and yc.var() > 0:
        theta[keep] = np.linalg.lstsq(xc[:, keep], yc, rcond=None)[0]
    resid = yc - xc @ theta
    r2 = 1 - float(resid.var() / yc.var()) if yc.var() > 0 else 0.0
    return yv - (x - x.mean(axis=0)) @ theta, theta, r2


def bootstrap_interval(
    y_t: Any, y_c: Any, *, level: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(y_t) - mean(y_c), each arm resampled on its own
    (Efron and Tibshirani 1993, ch. 13); seeded, so the same data give the same interval."""
    rng = np.random.default_rng(seed)
    t, c = np.asarray(y_t, dtype=float), np.asarray(y_c, dtype=float)
    diffs = np.empty(n_resamples)
    for i in range(0, n_resamples, 100):
        b = min(100, n_resamples - i)
        diffs[i:i + b] = (t[rng.integers(0, len(t), (b, len(t)))].mean(axis=1)
                          - c[rng.integers(0, len(c), (b, len(c)))].mean(axis=1))
    lo, hi = np.percentile(diffs, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def _weighted_auc(group: np.ndarray, k: int, positive: np.ndarray, negative: np.ndarray) -> float:
    """AUC of a score whose distinct values are ``group`` (0 .. k-1, ascending), each row weighted
    ``positive`` or ``negative`` (ties count half)."""
    p = np.bincount(group, positive, k)
    q = np.bincount(group, negative, k)
    below = np.cumsum(q) - q
    return float((p * (below + q / 2)).sum() / (p.sum() * q.sum()))


def auc_difference_interval(
    y: Any, score_a: Any, score_b: Any, *, level: float = 0.95, n_resamples: int = 200, seed: int = 0
) -> dict[str, float]:
    """AUC(``score_a``) - AUC(``score_b``) for the same 0/1 outcomes ``y``, with a paired
    percentile bootstrap over the rows (Efron and Tibshirani 1993, ch. 13): each resample draws
    rows with replacement and scores both on the same draw, so what the two share (the same
    hard customers) cancels; a draw with one class only (possible on tiny data) is drawn again.
    Seeded, so the same data give the same interval.

    Returns ``difference`` (on all rows), ``se`` (the resamples' standard deviation), ``lower``
    and ``upper`` (the interval at ``level``) and ``resamples``.

    Examples
    --------
    >>> r = auc_difference_interval([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], [0.1, 0.9, 0.2, 0.8])
    >>> r["difference"]
    0.5
    """
    check_level(level, "auc_difference_interval")
    check_param(isinstance(n_resamples, int) and n_resamples > 1, "n_resamples", "auc_difference_interval",
                "an int > 1", n_resamples)
    yv = np.asarray(y, dtype=float)
    check_param(bool(np.isin(yv, (0.0, 1.0)).all() and 0 < yv.sum() < len(yv)), "y", "auc_difference_interval",
                "0/1 outcomes with both values", "one class only" if np.isin(yv, (0.0, 1.0)).all() else "other values")
    scores = [np.asarray(s, dtype=float).ravel() for s in (score_a, score_b)]
    check_param(all(len(s) == len(yv) for s in scores), "score_a, score_b", "auc_difference_interval",
                f"one score per outcome ({len(yv)})", [len(s) for s in scores])
    groups = [np.unique(s, return_inverse=True) for s in scores]
    keys = [(inv.ravel(), len(u)) for u, inv in groups]

    def diff(w: np.ndarray) -> float:
        pos, neg = w * yv, w * (1 - yv)
        return _weighted_auc(*keys[0], pos, neg) - _weighted_auc(*keys[1], pos, neg)

    rng = np.random.default_rng(seed)
    n = len(yv)

    def resample() -> np.ndarray:  # a draw with one class only has no AUC: draw again
        while True:
            w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            if 0 < w @ yv < n:
                return w

    draws = np.array([diff(resample()) for _ in range(n_resamples)])
    lo, hi = np.percentile(draws, [50 * (1 - level), 50 * (1 + level)])
    return {"difference": diff(np.ones(n)), "se": float(draws.std(ddof=1)), "lower": float(lo), "upper": float(hi),
            "resamples": n_resamples}


def sample_size_proportions(
    p_c: float, p_t: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
    continuity: bool = True,
) -> float:
    """Control-arm size to tell p_t from p_c (two-sided); the treatment arm is ``ratio`` times it.

    Fleiss, Tytun and Ury (1980): n = [z_a sqrt((1 + 1/k) pbar qbar) + z_b sqrt(p_c q_c + p_t q_t / k)]^2
    / d^2 with pbar = (p_c + k p_t) / (1 + k), then with the continuity correction
    n / 4 (1 + sqrt(1 + 2 (k + 1) / (k n |d|)))^2. Not rounded.

    Examples
    --------
    >>> import math; math.ceil(sample_size_proportions(0.20, 0.25))   # Fleiss et al. (2003), table A.4
    1134
    """
    k, d = ratio, abs(p_t - p_c)
    z_a, z_b = _dist.norm.ppf(1 - alpha / 2), _dist.norm.ppf(power)
    pbar = (p_c + k * p_t) / (1 + k)
    n = (z_a * np.sqrt((1 + 1 / k) * pbar * (1 - pbar))
         + z_b * np.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t) / k)) ** 2 / d**2
    if continuity:
        n = n / 4 * (1 + np.sqrt(1 + 2 * (k + 1) / (k * n * d))) ** 2
    return float(n)


def sample_size_means(
    delta: float, sd: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> float:
    """Control-arm size to detect a difference ``delta`` of means with standard deviation ``sd``.

    n = (1 + 1/k) (t_{1-a/2, df} + t_{power, df})^2 sd^2 / delta^2, df = n (1 + k) - 2, solved by
    iteration from the normal quantiles (Cohen 1988, ch. 2). Not rounded.

    Examples
    --------
    >>> import math; math.ceil(sample_size_means(0.5, 1.0))   # Cohen (1988), table 2.4.1: d=.5 -> 64
    64
    """
    k = ratio
    n = (1 + 1 / k) * (_dist.norm.ppf(1 - alpha / 2) + _dist.norm.ppf(power)) ** 2 * sd**2 / delta**2
    for _ in range(50):
        df = max(n * (1 + k) - 2, 1.0)
        new = (1 + 1 / k) * (_dist.t.ppf(1 - alpha / 2, df) + _dist.t.ppf(power, df)) ** 2 * sd**2 / delta**2
        if abs(new - n) < 1e-9:
            break
        n = new
    return float(n)
