"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam et al. 2007): the papers' formulas.

Each prediction is written here as the paper states it (log-odds of dropout, eq. 10 with
Euler's transformation, P(X(t) = n), the per-customer likelihood). Two modules hold the speed:
:mod:`clvlab.models._bg_likelihood` (the likelihood the optimiser sees, per distinct value
with an analytic gradient) and :mod:`clvlab.models._bg_blocked` (the blocked fast paths of the
usual scoring call, which tests compare against the formulas here).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from scipy import special

from clvlab.models._base import ArrayLike, BaseModel, FloatArray
from clvlab.models._bg_blocked import _BlockedScoring
from clvlab.models._bg_likelihood import _BGLikelihood, _warm_start
from clvlab.models._btyd import (
    alive_from_log_odds,
    as_output,
    check_counts,
    check_frt,
    check_time,
    clean_frt_inputs,
    degeneracy,
    distinct_rows,
    mostly_distinct,
    prediction_inputs,
    read_frt,
    softplus,
    usual_call,
)


def _hyp2f1(A: FloatArray, B: FloatArray | float, C: FloatArray, z: FloatArray) -> FloatArray:
    """scipy's 2F1, continued through the points where it gives NaN.

    Near z = 1 with C - A - B a whole number scipy's transformation is degenerate and returns
    NaN although the function is finite and continuous there (a property test found
    r=1.45, alpha=0.05, a=1.45, b=17, t=22). There we average the values at C(1 -+ 1e-9):
    measured to agree to 1e-8 relative.
    """
    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (A, B, C, z)))
    out = np.asarray(special.hyp2f1(A, B, C, z), dtype=np.float64)
    bad = ~np.isfinite(out)
    for eps in (1e-9, 1e-6):
        if not bad.any():
            break
        lo = special.hyp2f1(A[bad], B[bad], C[bad] * (1 - eps), z[bad])
        hi = special.hyp2f1(A[bad], B[bad], C[bad] * (1 + eps), z[bad])
        out[bad] = 0.5 * (lo + hi)
        bad = ~np.isfinite(out)
    return out


def _expected_given_beta(t: FloatArray, shape: FloatArray, scale: FloatArray, a: float,
                         b_post: FloatArray) -> FloatArray:
    """E[purchases in (0, t]] of an alive customer whose dropout p ~ Beta(a, b_post).

    ``(a+b'-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b'-1-shape, a-1; a+b'-1; z)]``, z = t/(scale+t):
    Fader et al. (2005) eq. 9 and 10 after Euler's transformation of 2F1, so the hypergeometric
    parameters do not grow with x (no overflow for heavy buyers); where that overflows (large
    a) the paper's form ``(1-z)^shape 2F1(shape, b'; a+b'-1; z)``. At a + b' = 1 (a pole of
    2F1 that the factor a+b'-1 cancels) the mean of both sides.
    """
    if abs(a - 1.0) < 0.5e-6:  # removable singularity at a = 1: mean of both sides, error O(1e-12)
        return 0.5 * (_expected_given_beta(t, shape, scale, 1.0 - 1e-6, b_post)
                      + _expected_given_beta(t, shape, scale, 1.0 + 1e-6, b_post))
    t, shape, scale, b_post = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (t, shape, scale, b_post)))
    c = a + b_post - 1.0
    near = np.abs(c) < 0.5e-6
    if near.any():  # c = 0 (BG/NBD, x = 0, a + b = 1): c * 2F1(..; c; z) is finite there
        out = np.empty_like(t)
        far = ~near
        out[far] = _expected_given_beta(t[far], shape[far], scale[far], a, b_post[far])
        args = (t[near], shape[near], scale[near], a)
        out[near] = 0.5 * (_expected_given_beta(*args, b_post[near] - 1e-6)
                           + _expected_given_beta(*args, b_post[near] + 1e-6))
        return out
    z = t / (scale + t)
    with np.errstate(over="ignore", invalid="ignore"):
        inner = np.exp((a - 1.0) * np.log1p(-z)) * _hyp2f1(c - shape, a - 1.0, c, z)
        bad = ~np.isfinite(inner)
        if bad.any():  # large a: the transformed 2F1 overflows; the paper's own form does not
            zb = z[bad]
            inner[bad] = (np.exp(shape[bad] * np.log1p(-zb))
                          * _hyp2f1(shape[bad], b_post[bad], c[bad], zb))
    out = c / (a - 1.0) * (1.0 - inner)
    return np.maximum(out, 0.0)  # rounding near a = 1 can give -1e-9 for t ~ 0


class _BetaGeoFamily(_BlockedScoring, BaseModel):
    """Shared fit and predictions of BG/NBD (``_k = 0``) and MBG/NBD (``_k = 1``).

    The formulas of the papers are here; the blocked fast paths of the usual scoring call in
    :class:`~clvlab.models._bg_blocked._BlockedScoring`, the fitting likelihood in
    :mod:`clvlab.models._bg_likelihood`.
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _k: ClassVar[int] = 0

    def __init__(self, *, penalizer: float = 0.0) -> None:
        super().__init__(penalizer=penalizer)

    def fit(self, data: Any = None, *, frequency: ArrayLike | None = None,
            recency: ArrayLike | None = None, T: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood on ``frequency``, ``recency``, ``T`` (columns or arrays).

        ``weights`` (optional) counts customers per row, e.g. after grouping identical rows.
        """
        where = f"{type(self).__name__}.fit"
        cols, w = read_frt(data, {"frequency": frequency, "recency": recency, "T": T,
                                  "weights": weights}, where=where)
        x, tx, t_ = cols["frequency"], cols["recency"], cols["T"]
        lik = _BGLikelihood(x, tx, t_, w, self._k)
        self._fit_mle(lik.neg_ll, _warm_start(lik, x, tx, t_, w, self._k), gradient=lik.grad,
                      n_customers=lik.n_customers, n_rows=lik.n_rows, degenerate=degeneracy(x, w))
        self._remember_unit(data)
        return self

    # ---- predictions ---------------------------------------------------------------------
    def _params(self) -> tuple[float, float, float, float]:
        p = self._check_fitted()
        return p["r"], p["alpha"], p["a"], p["b"]

    def _part(self, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """The hypergeometric part of eq. 10: E[purchases in (T, T+t]] of an alive customer,
        whose posterior is Gamma(r+x, alpha+T) for the rate, Beta(a, b+x+k) for dropout."""
        r, al, a, b = self._params()
        return _expected_given_beta(t, r + x, al + T, a, b + x + self._k)

    def _frt(self, where: str, **inputs: ArrayLike) -> tuple[dict[str, FloatArray], bool]:
        arrays, scalar = prediction_inputs(where, **inputs)
        check_frt(arrays, where)
        return arrays, scalar

    def _log_odds(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """d = ln(odds that the customer has dropped out); -inf when dropout is impossible.

        ``d = ln a - ln(b+x+k-1) + (r+x) (ln(alpha+T) - ln(alpha+t_x))``, written out with
        in-place ufuncs: on a million rows the temporaries of the plain expression (allocation,
        page faults) cost more than the arithmetic. Each row gets the floating-point operations
        of the plain expression, in its order.
        """
        r, al, a, b = self._params()
        k = self._k
        d = np.add(T, al)
        np.log(d, out=d)
        buf = np.add(tx, al)
        np.log(buf, out=buf)
        d -= buf  # ln(alpha+T) - ln(alpha+t_x)
        np.add(x, r, out=buf)
        d *= buf
        np.add(x, b, out=buf)
        if k:
            buf += k
        buf -= 1.0  # b + x + k - 1, rounded step by step as written
        with np.errstate(divide="ignore", invalid="ignore"):  # x + k = 0 rows: replaced below
            np.log(buf, out=buf)
        np.subtract(np.log(a), buf, out=buf)
        d += buf
        if k == 0:
            d[x == 0] = -np.inf
        return d

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike,
                          T: ArrayLike) -> float | FloatArray:
        """P(alive at T | x, t_x, T) = ``1 / (1 + exp(d))`` (Fader, Hardie & Lee 2008 note, eq. 1).

        BG/NBD: ``d = ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x))``, P = 1 when x = 0;
        MBG/NBD: ``d = ln(a/(b+x)) + (r+x) ln((alpha+T)/(alpha+t_x))`` (Batislam et al. 2007,
        appendix A, eq. 5).
        """
        where = f"{type(self).__name__}.probability_alive"
        v, scalar, ranges = clean_frt_inputs(where, frequency, recency, T)
        return as_output(self._alive(v, ranges), scalar)

    def expected_purchases(self, t: ArrayLike) -> float | FloatArray:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t] (Fader et al. 2005 eq. 9)."""
        r, al, a, b = self._params()
        v, scalar = prediction_inputs(f"{type(self).__name__}.expected_purchases", t=t)
        tt = v["t"]
        check_time(tt, f"{type(self).__name__}.expected_purchases")
        if self._k == 0:
            out = _expected_given_beta(tt, np.full_like(tt, r), np.full_like(tt, al), a,
                                       np.full_like(tt, b))
        else:  # dropout at time 0 first: E[(1-p)/p ...] = b/(a+b) x the Beta(a, b+1) mean
            out = b / (a + b) * _expected_given_beta(tt, np.full_like(tt, r),
                                                     np.full_like(tt, al), a, np.full_like(tt, b + 1))
        return as_output(out, scalar)

    def conditional_expected_purchases(self, t: ArrayLike, frequency: ArrayLike,
                                       recency: ArrayLike, T: ArrayLike) -> float | FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (Fader et al. 2005 eq. 10).

        The hypergeometric part depends on (t, x, T) only, so it is computed once per distinct
        (t, x, T) when those repeat; P(alive) is per customer. One horizon given as a plain
        number (the usual call) takes :meth:`_conditional_one_t`; arrays of t the general path.
        """
        self._params()  # not fitted: that error first
        where = f"{type(self).__name__}.conditional_expected_purchases"
        usual = usual_call(where, t, frequency, recency, T)
        if usual is not None:
            t_one, v, scalar, ranges = usual
            return as_output(self._conditional_one_t(t_one, v, ranges), scalar)
        v, scalar = self._frt(where, t=t, frequency=frequency, recency=recency, T=T)
        tt, x, tx, T_ = v["t"], v["frequency"], v["recency"], v["T"]
        check_time(tt, where)
        one_t = np.ndim(t) == 0
        if len(x) > 1000 and not (mostly_distinct(T_) or (not one_t and mostly_distinct(tt))):
            rows = distinct_rows({"x": x, "T": T_} if one_t else {"t": tt, "x": x, "T": T_})
            ut = tt[: rows.n_rows] if one_t else rows.column("t")
            part = self._part(ut, rows.column("x"), rows.column("T"))[rows.inverse]
        else:
            part = self._part(tt, x, T_)
        out = part * alive_from_log_odds(self._log_odds(x, tx, T_))
        return as_output(np.where(tt > 0, out, 0.0), scalar)

    def probability_of_purchases(self, n: ArrayLike, t: ArrayLike) -> float | FloatArray:
        """P(X(t) = n) for a new customer (Fader et al. 2005 eq. 8; its MBG/NBD analogue)."""
        r, al, a, b = self._params()
        k = self._k
        where = f"{type(self).__name__}.probability_of_purchases"
        v, scalar = prediction_inputs(where, n=n, t=t)
        nn, tt = v["n"], v["t"]
        check_time(tt, where)
        check_counts(nn, where)
        lb = special.betaln(a, b)
        z = tt / (al + tt)
        log_first = (special.gammaln(r + nn) - special.gammaln(r) - special.gammaln(nn + 1)
                     + r * np.log(al / (al + tt)) + special.xlogy(nn, z)
                     + special.betaln(a, b + nn + k) - lb)
        has = nn + k > 0
        tail = np.where(nn > 0, special.betainc(np.maximum(nn, 1.0), r, z), 1.0)  # P(NBD >= n)
        lb2 = special.betaln(a + 1.0, np.where(has, b + nn + k - 1.0, b))
        second = np.where(has, np.exp(lb2 - lb) * tail, 0.0)
        return as_output(np.exp(log_first) + second, scalar)

    def log_likelihood_individual(self, frequency: ArrayLike, recency: ArrayLike,
                                  T: ArrayLike) -> float | FloatArray:
        """Per-customer log-likelihood; sums to ``log_likelihood_`` on the fitted data."""
        r, al, a, b = self._params()
        k = self._k
        where = f"{type(self).__name__}.log_likelihood_individual"
        v, scalar = self._frt(where, frequency=frequency, recency=recency, T=T)
        x, tx, T_ = v["frequency"], v["recency"], v["T"]
        ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
              + special.betaln(a, b + x + k) - special.betaln(a, b) - (r + x) * np.log(al + T_))
        d = self._log_odds(x, tx, T_)
        ll = ll + np.where(np.isfinite(d), softplus(np.where(np.isfinite(d), d, 0.0)), 0.0)
        return as_output(ll, scalar)


class BetaGeo(_BetaGeoFamily):
    r"""BG/NBD: beta-geometric / negative binomial distribution model of repeat buying.

    While alive, a customer buys as a Poisson process with rate :math:`\lambda`; after each
    purchase the customer drops out with probability :math:`p`. Across customers
    :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` and :math:`p \sim \mathrm{Beta}(a, b)`.
    For a customer with :math:`x` repeat purchases, the last at :math:`t_x`, observed for
    :math:`T` (Fader, Hardie & Lee 2005, eq. 6):

    .. math::

        L(r,\alpha,a,b \mid x,t_x,T) = \frac{B(a,b+x)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)\,(\alpha+T)^{r+x}}
          + \delta_{x>0} \frac{B(a+1,b+x-1)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)\,(\alpha+t_x)^{r+x}}.

    Parameters
    ----------
    penalizer : float, default 0
        Adds ``penalizer * sum(params**2)`` to the mean negative log-likelihood; use a small
        value (e.g. 0.001) when the likelihood peaks at a boundary.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_
        As in :class:`~clvlab.models.BaseModel`; ``n_rows_`` counts the distinct rows fitted.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy
    Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284: likelihood
    eq. 6, P(X(t)=x) eq. 8, E[X(t)] eq. 9, E[Y(t) | x, t_x, T] eq. 10.
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing P(alive) Using the BG/NBD
    Model", http://brucehardie.com/notes/021/.

    Examples
    --------
    >>> import clvlab
    >>> from clvlab.datasets import load_cdnow_summary
    >>> bg = clvlab.BetaGeo().fit(load_cdnow_summary())
    >>> {k: round(v, 3) for k, v in bg.params_.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(bg.log_likelihood_, 1)
    -9582.4
    >>> round(bg.conditional_expected_purchases(39, frequency=2, recency=30.43, T=38.86), 3)
    1.226
    """

    _k = 0
