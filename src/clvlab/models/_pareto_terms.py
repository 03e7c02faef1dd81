"""The special-function terms of the Pareto/NBD likelihood (Fader, Hardie & Lee 2005).

``F(x, u) = int_u^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau`` through the Gauss
hypergeometric function, robust over the whole parameter space an optimiser visits (including
the boundaries where a fit diverges), its gradient, and two small helpers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import integrate
from scipy.special import hyp2f1

from clvlab.models._base import FloatArray

_FD_STEP = 1e-5  # relative step of the central differences of log 2F1 in r and s
_HUGE_A = 1e5  # beyond this a = r + s + x goes to the fixed quadrature (e.g. x = 1e9)


# ---- the hypergeometric part ---------------------------------------------------------------
def _log_hyp(a: FloatArray, b: FloatArray, z: FloatArray) -> FloatArray:
    """``log 2F1(a, b; a + 1; z)`` for a > 0, 0 < b < a + 1 (as here) and 0 <= z < 1.

    Direct evaluation first. Where it fails (overflow, or scipy's NaN for large a and b), two
    transforms whose 2F1 is of order one: Euler's ``(1 - z)^(1-b) 2F1(1, a+1-b; a+1; z)``, in
    [1, 1/(1-z)], and then Pfaff's on that, ``(1 - z)^-b 2F1(1, b; a+1; z/(z-1))``; where
    scipy fails on those too (z near 1, e.g. at a no-dropout boundary), Euler's integral by
    fixed quadrature (:func:`_log_hyp_nodes`), vectorised; adaptive quadrature only for a < 1.
    """
    with np.errstate(all="ignore"):
        huge = a > _HUGE_A
        if huge.any():  # scipy's series would take seconds a value
            out = np.empty_like(z)
            out[huge] = _log_hyp_nodes(a[huge], b[huge], z[huge])
            out[~huge] = np.log(hyp2f1(a[~huge], b[~huge], a[~huge] + 1.0, z[~huge]))
        else:
            out = np.log(hyp2f1(a, b, a + 1.0, z))
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            ab, bb, zb = a[bad], b[bad], z[bad]
            lz = np.log1p(-zb)
            alt = (1.0 - bb) * lz + np.log(hyp2f1(1.0, ab + 1.0 - bb, ab + 1.0, zb))
            worse = ~np.isfinite(alt)
            if worse.any():
                zw = zb[worse]
                alt[worse] = -bb[worse] * lz[worse] + np.log(
                    hyp2f1(1.0, bb[worse], ab[worse] + 1.0, zw / (zw - 1.0)))
            out[bad] = alt
            left = bad[~np.isfinite(alt)]
            if left.size:
                big = a[left] >= 1.0
                out[left[big]] = _log_hyp_nodes(a[left[big]], b[left[big]], z[left[big]])
                for i in left[~big]:
                    out[i] = _log_hyp_quad(float(a[i]), float(b[i]), float(z[i]))
    return out


def _gauss_nodes(lo: float = -80.0, panels: int = 80, k: int = 10) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss-Legendre nodes on [lo, 0] and the logs of their weights."""
    x, w = np.polynomial.legendre.leggauss(k)
    edges = np.linspace(lo, 0.0, panels + 1)
    h = np.diff(edges) / 2
    nodes = (edges[:-1, None] + h[:, None] * (x + 1)).ravel()
    return nodes, np.log((h[:, None] * w).ravel())


_NODES, _LOG_WEIGHTS = _gauss_nodes()


def _log_hyp_nodes(a: FloatArray, b: FloatArray, z: FloatArray) -> FloatArray:
    """``log 2F1(a, b; a + 1; z)`` for a >= 1, b > 0, 0 <= z < 1 by fixed quadrature, vectorised.

    Euler's integral ``a int_0^1 v^(a-1) (1 - z v)^-b dv`` with ``v = 1 - e^y``: the integrand
    rises towards v = 1 on two scales (1/a and (1 - z)/b), which the log-spaced y resolves
    alike; 800 nodes on y in [-80, 0] agree with adaptive quadrature to ~1e-12 where that
    succeeds (and stay right where it fails, z within 1e-8 of 1), at 1/20 of its cost.
    """
    a2, b2, z2 = a[:, None], b[:, None], z[:, None]
    with np.errstate(divide="ignore"):
        terms = (_LOG_WEIGHTS + _NODES + (a2 - 1.0) * np.log1p(-np.exp(_NODES))
                 - b2 * np.logaddexp(np.log1p(-z2), np.log(z2) + _NODES))
    top = terms.max(axis=1, keepdims=True)
    out: FloatArray = np.log(a) + top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))
    return out


def _log_hyp_quad(a: float, b: float, z: float) -> float:
    """``log[a * int_0^1 v^(a-1) (1 - z v)^-b dv]`` (Euler), scaled by its value at v = 1."""
    top = -b * np.log1p(-z)

    def f(v: float) -> float:
        return float(np.exp((a - 1.0) * np.log(v) - b * np.log1p(-z * v) - top)) if v > 0 else 0.0

    val, _ = _quad(f, 0.0, 1.0)
    return float(np.log(a * val) + top)


def _quad(f: Callable[[float], float], lo: float, hi: float) -> tuple[float, float]:
    """Adaptive quadrature to ~1e-12 relative. The integrands here are smooth and sharply peaked
    at one end; QUADPACK may report that round-off stops it short of the requested tolerance,
    which still leaves far more accuracy than the likelihood needs, so that report is dropped:
    ``full_output`` returns it instead of issuing a warning (muting it with
    ``warnings.catch_warnings`` is not thread-safe, and the fits run in two threads, see
    :func:`clvlab.errors.muted`)."""
    val, err, *_ = integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-12, limit=500, full_output=1)
    return float(val), float(err)


def _branch(alpha: float | FloatArray, beta: float | FloatArray) -> bool | np.ndarray:
    """True: expand around alpha (alpha >= beta), else around beta (keeps 0 <= z < 1).

    Elementwise when alpha and beta are per-row arrays (models with covariates)."""
    return alpha >= beta


def _log_f_parts(
    x: FloatArray, u: FloatArray, r: float, alpha: float | FloatArray, s: float,
    beta: float | FloatArray, on_alpha: bool | np.ndarray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Pieces of ``log F(x, u)``, ``F = int_u^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau``.

    ``F = (m + u)^-a / a * 2F1(a, b; a + 1; (m - o) / (m + u))`` with a = r + s + x and
    (m, o, b) = (alpha, beta, s + 1) or (beta, alpha, r + x), FHL (2005) eq. (19)-(20).
    ``alpha`` and ``beta`` are numbers, or arrays aligned with ``x`` (one per row).
    Returns a, b, z, log(m + u) and log 2F1.
    """
    a = r + s + x
    m = np.where(on_alpha, alpha, beta)
    o = np.where(on_alpha, beta, alpha)
    b = np.where(on_alpha, s + 1.0, r + x)
    mu = m + u
    z = (m - o) / mu
    return a, b, z, np.log(mu), _log_hyp(a, b, z)


def _log_f(x: FloatArray, u: FloatArray, r: float, alpha: float | FloatArray, s: float,
           beta: float | FloatArray) -> FloatArray:
    """``log F(x, u)`` (see :func:`_log_f_parts`)."""
    a, _, _, lmu, lh = _log_f_parts(x, u, r, alpha, s, beta, _branch(alpha, beta))
    out: FloatArray = -a * lmu - np.log(a) + lh
    return out


def _log_f_grad(
    x: FloatArray, u: FloatArray, r: float, alpha: float | FloatArray, s: float,
    beta: float | FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """``log F`` and its gradient (n, 4) in (r, alpha, s, beta).

    Exact in alpha and beta (``d/dz 2F1 = ab/(a+1) 2F1(a+1, b+1; a+2; z)``); central differences
    of log 2F1 in r and s.
    """
    on_alpha = _branch(alpha, beta)
    a, b, z, lmu, lh = _log_f_parts(x, u, r, alpha, s, beta, on_alpha)
    logf = -a * lmu - np.log(a) + lh
    grad = np.empty((len(x), 4))
    common = -lmu - 1.0 / a  # d(-a log(m+u) - log a)/dr = d/ds
    # d log 2F1 / dz, exact
    dlh_dz = np.exp(np.log(a * b / (a + 1.0)) + _log_hyp(a + 1.0, b + 1.0, z) - lh)
    o = np.where(on_alpha, beta, alpha)
    mu = np.exp(lmu)
    dm = -a / mu + dlh_dz * (o + u) / mu**2  # z = (m - o)/(m + u)
    do = -dlh_dz / mu
    grad[:, 1] = np.where(on_alpha, dm, do)
    grad[:, 3] = np.where(on_alpha, do, dm)
    for col, p in ((0, r), (2, s)):
        h = _FD_STEP * p
        lh_up, lh_dn = (
            _log_f_parts(x, u, r + (v if col == 0 else 0.0), alpha, s + (v if col == 2 else 0.0),
                         beta, on_alpha)[4]
            for v in (h, -h))
        grad[:, col] = common + (lh_up - lh_dn) / (2 * h)
    return logf, grad


def _log1mexp(d: FloatArray) -> FloatArray:
    """``log(1 - exp(d))`` for d <= 0 (-inf at d = 0)."""
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(d > -0.693, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))
    return out


def _decay(c: float, log_ratio: FloatArray) -> FloatArray:
    """``(1 - exp(-c L)) / c``, with its limit L at c = 0."""
    if abs(c) < 1e-12:
        return log_ratio
    out: FloatArray = -np.expm1(-c * log_ratio) / c
    return out
