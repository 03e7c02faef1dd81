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
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats as _dist

from clvlab.errors import check_param

__all__ = [
    "bounded_mean_interval",
    "check_level",
    "nps_interval",
    "t_interval",
    "wald_interval",
    "wilson_interval",
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
            n_adj = n + 4 * PSEUDO
            pa, da = (p_cnt + PSEUDO) / n_adj, (d_cnt + PSEUDO) / n_adj
            centre = pa - da
            half = z * np.sqrt((pa + da - centre**2) / n_adj)
    lower = np.clip(centre - half, -1.0, 1.0)
    upper = np.clip(centre + half, -1.0, 1.0)
    return 100 * value, 100 * lower, 100 * upper, 100 * se
