"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), likelihood of Fader, Hardie & Lee (2005).

Speed comes from one observation: the only expensive terms, the Gauss hypergeometric functions,
depend on a customer only through the pairs (x, t_x) and (x, T). Real summaries live on a day or
week grid, so a million customers have a few thousand such pairs; they are evaluated once per
distinct pair and gathered with integer codes built once in ``fit``, and in scoring with dense
keys ``x * n + code`` inside a blocked per-row loop (:func:`_score_dense`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy import integrate
from scipy.special import digamma, gammaln, hyp2f1

from clvlab.models._base import ArrayLike, BaseModel, FloatArray
from clvlab.models._btyd import (
    BLOCK,
    FrtRanges,
    IntArray,
    alive_from_log_odds,
    as_output,
    blocks,
    check_counts,
    check_frt,
    check_time,
    clean_frt_inputs,
    degeneracy,
    distinct_rows,
    factorize_column,
    grid_codes,
    prediction_inputs,
    present_keys,
    read_frt,
    usual_call,
)

__all__ = ["ParetoNBD"]

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
    which still leaves far more accuracy than the likelihood needs, so that warning is muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, err = integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-12, limit=500)
    return float(val), float(err)


def _branch(alpha: float, beta: float) -> bool:
    """True: expand around alpha (alpha >= beta), else around beta (keeps 0 <= z < 1)."""
    return alpha >= beta


def _log_f_parts(
    x: FloatArray, u: FloatArray, r: float, alpha: float, s: float, beta: float, on_alpha: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Pieces of ``log F(x, u)``, ``F = int_u^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau``.

    ``F = (m + u)^-a / a * 2F1(a, b; a + 1; (m - o) / (m + u))`` with a = r + s + x and
    (m, o, b) = (alpha, beta, s + 1) or (beta, alpha, r + x), FHL (2005) eq. (19)-(20).
    Returns a, b, z, log(m + u) and log 2F1.
    """
    a = r + s + x
    if on_alpha:
        m, o, b = alpha, beta, np.full_like(x, s + 1.0)
    else:
        m, o, b = beta, alpha, r + x
    mu = m + u
    z = (m - o) / mu
    return a, b, z, np.log(mu), _log_hyp(a, b, z)


def _log_f(x: FloatArray, u: FloatArray, r: float, alpha: float, s: float, beta: float) -> FloatArray:
    """``log F(x, u)`` (see :func:`_log_f_parts`)."""
    a, _, _, lmu, lh = _log_f_parts(x, u, r, alpha, s, beta, _branch(alpha, beta))
    out: FloatArray = -a * lmu - np.log(a) + lh
    return out


def _log_f_grad(
    x: FloatArray, u: FloatArray, r: float, alpha: float, s: float, beta: float
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
    o = beta if on_alpha else alpha
    mu = np.exp(lmu)
    dm = -a / mu + dlh_dz * (o + u) / mu**2  # z = (m - o)/(m + u)
    do = -dlh_dz / mu
    if on_alpha:
        grad[:, 1], grad[:, 3] = dm, do
    else:
        grad[:, 1], grad[:, 3] = do, dm
    for col, p, name in ((0, r, "r"), (2, s, "s")):
        h = _FD_STEP * p
        up = {"r": r, "alpha": alpha, "s": s, "beta": beta}
        dn = dict(up)
        up[name] += h
        dn[name] -= h
        lh_up = _log_f_parts(x, u, **up, on_alpha=on_alpha)[4]
        lh_dn = _log_f_parts(x, u, **dn, on_alpha=on_alpha)[4]
        grad[:, col] = common + (lh_up - lh_dn) / (2 * h)
    return logf, grad


def _log1mexp(d: FloatArray) -> FloatArray:
    """``log(1 - exp(d))`` for d <= 0 (-inf at d = 0)."""
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(d > -0.693, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))
    return out


def _log1mexp_into(d: FloatArray, buf: FloatArray, mask: np.ndarray[Any, np.dtype[np.bool_]]
                   ) -> None:
    """:func:`_log1mexp` in d's buffer (``buf`` and ``mask`` are spare buffers of d's size).

    Hand-written for speed: numpy's expm1 and log1p are scalar loops, exp and log vectorised.
    Above -0.693 (cancellation) as :func:`_log1mexp`, ``log(-expm1(d))``, on those rows only
    (gathered by index: masked copies and boolean assignment are several times slower);
    below, ``log(1 - exp(d))`` instead of ``log1p(-exp(d))``: with ``1 - exp(d) >= 0.5`` the two
    differ by ~1e-16 absolute, and the result is only ever added to ``log s + log F``, so
    absolute error is what counts. d is clipped at -100 first (exp of an underflowing argument
    takes a slow path); the result there, 0 instead of about -exp(d), is lost in that sum too.
    """
    idx = np.flatnonzero(np.greater(d, -0.693, out=mask))
    with np.errstate(divide="ignore"):
        big = d.take(idx, out=buf[: len(idx)], mode="clip")
        np.expm1(big, out=big)
        np.negative(big, out=big)
        np.log(big, out=big)
        np.maximum(d, -100.0, out=d)
        np.exp(d, out=d)
        np.subtract(1.0, d, out=d)
        np.log(d, out=d)
    d.put(idx, big, mode="clip")


class _PerKey(NamedTuple):
    """Per-key tables of the blocked scoring loop (see :func:`_score_dense`).

    Rows are coded ``x * n + code`` into per-(x, t_x) tables (``lf_t`` = log F(x, t_x),
    ``g`` = log s + log F(x, t_x)) and per-(x, T) tables (``lf_T`` = log F(x, T), ``a`` = the
    log of the alive term, ``factor`` the optional factor of P(alive)).
    """

    codes_t: IntArray
    n_t: int
    codes_T: IntArray
    n_T: int
    lf_t: FloatArray
    g: FloatArray
    lf_T: FloatArray
    a: FloatArray
    factor: FloatArray | None


def _grid_or_hash(u: FloatArray, lo: float, hi: float, cap: int) -> tuple[IntArray, FloatArray] | None:
    """Codes and values of a column in [lo, hi]: by arithmetic on a grid, else hashed; None
    when it has more than ``cap`` distinct values."""
    coded = grid_codes(u, lo, hi, max_size=cap) or factorize_column(u, max_ratio=np.inf)
    return coded if coded is not None and len(coded[1]) <= cap else None


def _score_dense(params: tuple[float, float, float, float], x: FloatArray, tx: FloatArray,
                 T: FloatArray, ranges: FrtRanges, horizon: float | None) -> FloatArray | None:
    """P(alive) per row, or E[X(T, T + horizon)] when a horizon is given, of checked rows.

    The hypergeometric terms and everything else that depends on (x, t_x) or (x, T) only is
    evaluated once per pair present (dense keys ``x * n + code``, as RFM summaries put t_x and
    T on a day grid); the per-row work runs in blocks that stay in cache. Each row gets the
    operations of :func:`_terms` up to ``B = log s + log F(t_x) + log(1 - F(T)/F(t_x))`` and
    the alive term ``A``; P(alive) is then ``1 / (1 + exp(B - A))``, equal to
    ``exp(A - logaddexp(A, B))`` to rounding. None when the pairs are too many for dense
    tables (the caller then takes the per-distinct-row path).
    """
    r, alpha, s, beta = params
    n = len(x)
    if not ranges.x_max < 4 * n + 1024:
        return None
    n_x = int(ranges.x_max) + 1
    cap = (4 * n + 1024) // n_x
    coded_t = _grid_or_hash(tx, 0.0, ranges.t_max, cap)  # 0 <= t_x <= T <= t_max
    if coded_t is None:
        return None
    coded_T = _grid_or_hash(T, ranges.t_min, ranges.t_max, cap)
    if coded_T is None:
        return None
    (codes_t, vals_t), (codes_T, vals_T) = coded_t, coded_T
    n_t, n_T = len(vals_t), len(vals_T)
    keys = present_keys(x, codes_t, n_t, n_x * n_t)
    ux, ut = (keys // n_t).astype(np.float64), vals_t[keys % n_t]
    lf_t = np.zeros(n_x * n_t)
    lf_t[keys] = _log_f(ux, ut, r, alpha, s, beta)
    keys = present_keys(x, codes_T, n_T, n_x * n_T)
    ux, uT = (keys // n_T).astype(np.float64), vals_T[keys % n_T]
    lf_T, a = np.zeros(n_x * n_T), np.zeros(n_x * n_T)
    lf_T[keys] = _log_f(ux, uT, r, alpha, s, beta)
    a[keys] = -(r + ux) * np.log(alpha + uT) - s * np.log(beta + uT)  # A, as in _terms
    factor = None
    if horizon is not None:  # as in conditional_expected_purchases
        factor = np.zeros(n_x * n_T)
        factor[keys] = ((r + ux) / (alpha + uT) * (beta + uT)
                        * _decay(s - 1.0, np.log1p(horizon / (beta + uT))))
    per_key = _PerKey(codes_t, n_t, codes_T, n_T, lf_t, np.log(s) + lf_t, lf_T, a, factor)
    return _score_blocks(per_key, x)


def _score_blocks(k: _PerKey, x: FloatArray) -> FloatArray:
    """The per-row loop of :func:`_score_dense`: a dozen passes per block of :data:`BLOCK`
    rows on buffers in L2 cache (whole-column passes would stream through memory and allocate
    temporaries); the only full-size array is the result."""
    n = len(x)
    out = np.empty(n)
    size = min(n, BLOCK)
    kt_buf, kT_buf = np.empty(size, dtype=np.intp), np.empty(size, dtype=np.intp)
    f1, f2, f3 = np.empty(size), np.empty(size), np.empty(size)
    mask = np.empty(size, dtype=bool)
    for sl in blocks(n):
        d = out[sl]
        j = len(d)
        kt, kT, b1 = kt_buf[:j], kT_buf[:j], f1[:j]
        np.copyto(kt, x[sl], casting="unsafe")  # checked whole numbers in [0, x_max]
        np.multiply(kt, k.n_T, out=kT)
        kT += k.codes_T[sl]
        kt *= k.n_t
        kt += k.codes_t[sl]
        # mode="clip": keys are in range, and "raise" would buffer ``out`` (a copy)
        k.lf_T.take(kT, out=d, mode="clip")
        d -= k.lf_t.take(kt, out=b1, mode="clip")
        np.minimum(d, 0.0, out=d)  # log F(T) - log F(t_x) <= 0, as in _terms
        _log1mexp_into(d, f2[:j], mask[:j])
        d += k.g.take(kt, out=b1, mode="clip")  # B
        d -= k.a.take(kT, out=b1, mode="clip")  # B - A
        times = None if k.factor is None else k.factor.take(kT, out=f3[:j], mode="clip")
        alive_from_log_odds(d, f2[:j], times)
    return out


class _Pairs:
    """Distinct (x, t_x) and (x, T) pairs of a set of rows, with gather codes (built once)."""

    def __init__(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> None:
        n = len(x)
        pairs = distinct_rows({"x": np.concatenate([x, x]), "u": np.concatenate([tx, T])})
        self.x = pairs.column("x")
        self.u = pairs.column("u")
        self.code_tx = pairs.inverse[:n]
        self.code_T = pairs.inverse[n:]


def _terms(
    params: tuple[float, float, float, float], x: FloatArray, tx: FloatArray, T: FloatArray,
    pairs: _Pairs | None = None, *, grad: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Per-row log-likelihood, P(alive) and (optionally) the gradient (n, 4) in natural params.

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s + s I]`` with
    ``I = int_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau = F(x, t_x) - F(x, T)``.
    """
    with np.errstate(all="ignore"):  # trial points far out give inf/NaN: the optimiser's
        return _terms_at(params, x, tx, T, pairs, grad=grad)  # objective treats them as +inf


def _terms_at(
    params: tuple[float, float, float, float], x: FloatArray, tx: FloatArray, T: FloatArray,
    pairs: _Pairs | None, *, grad: bool,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """:func:`_terms` (floating-point warnings not yet silenced)."""
    r, alpha, s, beta = params
    if pairs is None:
        pairs = _Pairs(x, tx, T)
    if grad:
        lf, dlf = _log_f_grad(pairs.x, pairs.u, r, alpha, s, beta)
    else:
        lf, dlf = _log_f(pairs.x, pairs.u, r, alpha, s, beta), None
    lf_t, lf_T = lf[pairs.code_tx], lf[pairs.code_T]
    log_at, log_bt = np.log(alpha + T), np.log(beta + T)
    A = -(r + x) * log_at - s * log_bt  # still alive at T
    diff = np.minimum(lf_T - lf_t, 0.0)
    B = np.log(s) + lf_t + _log1mexp(diff)  # died in (t_x, T]
    total = np.logaddexp(A, B)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    ll = head + total
    p_alive = np.exp(A - total)
    if not grad or dlf is None:
        return ll, p_alive, None
    g = np.empty((len(x), 4))
    g[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha)
    g[:, 1] = r / alpha
    g[:, 2] = np.log(beta)
    g[:, 3] = s / beta
    dA = np.column_stack([-log_at, -(r + x) / (alpha + T), -log_bt, -s / (beta + T)])
    e = np.exp(diff)
    dB = (dlf[pairs.code_tx] - e[:, None] * dlf[pairs.code_T]) / (1.0 - e)[:, None]
    dB[:, 2] += 1.0 / s
    dB[~(e < 1.0)] = 0.0  # I = 0: the term carries no weight
    g += p_alive[:, None] * dA + (1.0 - p_alive)[:, None] * dB
    return ll, p_alive, g


class ParetoNBD(BaseModel):
    r"""Pareto/NBD: Poisson purchases while alive, exponential lifetimes, gamma heterogeneity.

    While alive a customer buys at rate :math:`\lambda`; the lifetime is exponential with rate
    :math:`\mu`; across customers :math:`\lambda \sim \Gamma(r, \alpha)` and
    :math:`\mu \sim \Gamma(s, \beta)` (shape, rate). For x repeat purchases, the last at
    :math:`t_x`, observed over (0, T]:

    .. math::

        L = \frac{\Gamma(r+x)\alpha^r\beta^s}{\Gamma(r)}\Big[
            \frac{1}{(\alpha+T)^{r+x}(\beta+T)^s}
            + s\int_{t_x}^{T}\frac{d\tau}{(\alpha+\tau)^{r+x}(\beta+\tau)^{s+1}}\Big],

    the integral being :math:`F(t_x) - F(T)` with
    :math:`F(u) = (m+u)^{-a}\,{}_2F_1(a, b; a+1; |\alpha-\beta|/(m+u))/a`, a = r+s+x,
    m = max(α, β), b = s+1 if α ≥ β else r+x. P(alive) is the first term's share of the bracket.

    Parameters
    ----------
    penalizer
        Adds ``penalizer * sum(params**2)`` to the mean negative log-likelihood (lifetimes'
        convention), for data whose likelihood peaks at a boundary.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta``.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_

    References
    ----------
    Schmittlein, Morrison & Colombo (1987), "Counting Your Customers", Management Science 33(1).
    Fader, Hardie & Lee (2005), "A Note on Deriving the Pareto/NBD Model and Related
    Expressions": likelihood eq. (17)-(20), P(alive) eq. (21)-(22), E[X(t)] eq. (23),
    conditional expectation eq. (25)-(26). Fader & Hardie (2006), "Deriving an Expression for
    P(X(t) = x) Under the Pareto/NBD Model", eq. (18).

    Examples
    --------
    >>> from clvlab.datasets import load_cdnow_summary
    >>> from clvlab.models.pareto_nbd import ParetoNBD
    >>> model = ParetoNBD().fit(load_cdnow_summary())
    >>> {k: round(v, 2) for k, v in model.params_.items()}
    {'r': 0.55, 'alpha': 10.58, 's': 0.61, 'beta': 11.67}
    >>> round(model.log_likelihood_, 1)
    -9595.0
    >>> round(model.probability_alive(2, 30.43, 38.86), 3)
    0.869
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        super().__init__(penalizer=penalizer)

    # ---- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        data: Any = None,
        *,
        frequency: ArrayLike | None = None,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> ParetoNBD:
        """Maximum-likelihood fit on the distinct (frequency, recency, T) rows."""
        where = "ParetoNBD.fit"
        cols, w = read_frt(
            data, {"frequency": frequency, "recency": recency, "T": T, "weights": weights},
            where=where,
        )
        rows = distinct_rows(cols, w)
        x, tx, Tt = rows.column("frequency"), rows.column("recency"), rows.column("T")
        wt = rows.weights
        keep = wt > 0
        x, tx, Tt, wt = x[keep], tx[keep], Tt[keep], wt[keep]
        pairs = _Pairs(x, tx, Tt)
        cache: dict[str, Any] = {}

        def evaluate(z: FloatArray) -> tuple[float, FloatArray]:
            key = z.tobytes()
            if cache.get("key") != key:
                p = np.exp(z)
                params = (float(p[0]), float(p[1]), float(p[2]), float(p[3]))
                ll, _, g = _terms(params, x, tx, Tt, pairs, grad=True)
                assert g is not None
                with np.errstate(all="ignore"):  # non-finite terms: +inf to the optimiser
                    cache.update(key=key, f=-float(wt @ ll), g=-(wt @ g) * p)
            return cache["f"], cache["g"]

        scale = max(float(np.average(Tt, weights=wt)), 1e-3)  # all T = 0: no time scale
        x0 = np.log(np.array([1.0, scale, 1.0, scale]))
        self._fit_mle(lambda z: evaluate(z)[0], x0, gradient=lambda z: evaluate(z)[1],
                      n_customers=float(wt.sum()), n_rows=len(x), degenerate=degeneracy(x, wt))
        return self

    def _params(self) -> tuple[float, float, float, float]:
        p = self._check_fitted()
        return p["r"], p["alpha"], p["s"], p["beta"]

    def _frt(self, where: str, **inputs: ArrayLike) -> tuple[dict[str, FloatArray], bool]:
        cols, scalar = prediction_inputs(where, **inputs)
        check_frt(cols, where)
        return cols, scalar

    def _per_row(
        self, where: str, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> tuple[FloatArray, FloatArray, bool, dict[str, FloatArray]]:
        """Log-likelihood and P(alive) per input row, computed once per distinct row."""
        params = self._params()
        cols, scalar = self._frt(where, frequency=frequency, recency=recency, T=T)
        rows = distinct_rows(cols)
        x, tx, Tt = rows.column("frequency"), rows.column("recency"), rows.column("T")
        ll, pa, _ = _terms(params, x, tx, Tt)
        return ll[rows.inverse], pa[rows.inverse], scalar, cols

    # ---- predictions -------------------------------------------------------------------
    def log_likelihood_individual(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> float | FloatArray:
        """Log-likelihood of each customer's (x, t_x, T), FHL (2005) eq. (18)."""
        ll, _, scalar, _ = self._per_row("ParetoNBD.log_likelihood_individual", frequency, recency, T)
        return as_output(ll, scalar)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> float | FloatArray:
        """P(alive at T | x, t_x, T), FHL (2005) eq. (22)."""
        where = "ParetoNBD.probability_alive"
        params = self._params()  # not fitted: that error first, as on the general path
        v, scalar, ranges = clean_frt_inputs(where, frequency, recency, T)
        if ranges is not None:
            out = _score_dense(params, v["frequency"], v["recency"], v["T"], ranges, None)
            if out is not None:
                return as_output(out, scalar)
        _, pa, scalar, _ = self._per_row(where, frequency, recency, T)
        return as_output(pa, scalar)

    def expected_purchases(self, t: ArrayLike) -> float | FloatArray:
        """E[X(t)] of a new customer over (0, t], FHL (2005) eq. (23)."""
        r, alpha, s, beta = self._params()
        cols, scalar = prediction_inputs("ParetoNBD.expected_purchases", t=t)
        tt = cols["t"]
        check_time(tt, "ParetoNBD.expected_purchases")
        out = r * beta / alpha * _decay(s - 1.0, np.log1p(tt / beta))
        return as_output(out, scalar)

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> float | FloatArray:
        """E[X(T, T + t) | x, t_x, T], FHL (2005) eq. (26).

        One horizon given as a plain number (the usual call) on summaries whose (x, t_x) and
        (x, T) pairs repeat takes the blocked path of :func:`_score_dense`.
        """
        where = "ParetoNBD.conditional_expected_purchases"
        r, alpha, s, beta = self._params()
        usual = usual_call(where, t, frequency, recency, T)
        if usual is not None:
            t_one, v, scalar, ranges = usual
            fast = None if ranges is None else _score_dense(
                (r, alpha, s, beta), v["frequency"], v["recency"], v["T"], ranges, t_one)
            if fast is not None:
                return as_output(fast, scalar)
        cols, scalar = prediction_inputs(where, t=t, frequency=frequency, recency=recency, T=T)
        check_time(cols["t"], where)
        _, pa, _, frt = self._per_row(where, cols["frequency"], cols["recency"], cols["T"])
        x, Tt, tt = frt["frequency"], frt["T"], cols["t"]
        out = pa * (r + x) / (alpha + Tt) * (beta + Tt) * _decay(s - 1.0, np.log1p(tt / (beta + Tt)))
        return as_output(out, scalar)

    def probability_of_purchases(self, n: ArrayLike, t: ArrayLike) -> float | FloatArray:
        """P(X(t) = n) for a new customer, Fader & Hardie (2006) eq. (18).

        Computed as the alive term plus ``int_0^t P(die at tau) P(n purchases in (0, tau]) dtau``
        by adaptive quadrature, once per distinct (n, t).
        """
        where = "ParetoNBD.probability_of_purchases"
        r, alpha, s, beta = self._params()
        cols, scalar = prediction_inputs(where, n=n, t=t)
        nn, tt = cols["n"], cols["t"]
        check_time(tt, where)
        check_counts(nn, where)
        rows = distinct_rows({"n": nn, "t": tt})
        out = np.array([
            _prob_n(int(k), float(u), r, alpha, s, beta)
            for k, u in zip(rows.column("n"), rows.column("t"), strict=True)
        ])
        return as_output(out[rows.inverse], scalar)


def _decay(c: float, log_ratio: FloatArray) -> FloatArray:
    """``(1 - exp(-c L)) / c``, with its limit L at c = 0."""
    if abs(c) < 1e-12:
        return log_ratio
    out: FloatArray = -np.expm1(-c * log_ratio) / c
    return out


def _prob_n(n: int, t: float, r: float, alpha: float, s: float, beta: float) -> float:
    """P(X(t) = n) for one (n, t)."""
    if t == 0:
        return 1.0 if n == 0 else 0.0
    const = gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + r * np.log(alpha)
    alive = const + n * np.log(t) - (r + n) * np.log(alpha + t) + s * (np.log(beta) - np.log(beta + t))

    def log_g(tau: float) -> float:
        head = n * np.log(tau) if n else 0.0
        return float(head - (r + n) * np.log(alpha + tau) - (s + 1.0) * np.log(beta + tau))

    # scale by the integrand's largest value on a grid so quad works on O(1) numbers
    top = max(log_g(float(v)) for v in np.linspace(t / 64, t, 64))

    def g(tau: float) -> float:
        return float(np.exp(log_g(tau) - top)) if tau > 0 else 0.0

    val, _ = _quad(g, 0.0, t)
    dead = const + np.log(s) + s * np.log(beta) + top + np.log(val) if val > 0 else -np.inf
    return float(np.exp(alive) + np.exp(dead))
