"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), likelihood of Fader, Hardie & Lee (2005).

The formulas are here: the likelihood and P(alive) per row (:func:`_terms`), the conditional
expectation, P(X(t) = n). Speed comes from one observation: the only expensive terms, the Gauss
hypergeometric functions (:mod:`clvlab.models._pareto_terms`), depend on a customer only
through the pairs (x, t_x) and (x, T). Real summaries live on a day or week grid, so a million
customers have a few thousand such pairs; they are evaluated once per distinct pair and
gathered with integer codes built once in ``fit``, and in scoring with dense keys
``x * n + code`` inside a blocked per-row loop (:mod:`clvlab.models._pareto_blocked`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from clvlab.models._base import ArrayLike, BaseModel, FloatArray
from clvlab.models._btyd import (
    as_output,
    check_counts,
    check_frt,
    check_time,
    clean_frt_inputs,
    degeneracy,
    distinct_rows,
    prediction_inputs,
    read_frt,
    usual_call,
)
from clvlab.models._mle import one_evaluation
from clvlab.models._pareto_blocked import _score_dense
from clvlab.models._pareto_terms import _decay, _log1mexp, _log_f, _log_f_grad, _quad

__all__ = ["ParetoNBD"]


class _Pairs:
    """Distinct (x, t_x) and (x, T) pairs of a set of rows, with gather codes (built once).

    With ``group`` (codes of the rows' covariate values, whose alpha and beta differ) the pairs
    are distinct (x, u, group) triples, and ``row`` holds a row of each, to gather per-row
    alpha and beta with."""

    def __init__(self, x: FloatArray, tx: FloatArray, T: FloatArray,
                 group: FloatArray | None = None) -> None:
        n = len(x)
        cols = {"x": np.concatenate([x, x]), "u": np.concatenate([tx, T])}
        if group is not None:
            cols["g"] = np.concatenate([group, group])
        pairs = distinct_rows(cols)
        self.x = pairs.column("x")
        self.u = pairs.column("u")
        self.code_tx = pairs.inverse[:n]
        self.code_T = pairs.inverse[n:]
        self.row = np.empty(pairs.n_rows, dtype=np.intp)
        self.row[pairs.inverse] = np.arange(2 * n) % n


Params = tuple[float, float | FloatArray, float, float | FloatArray]


def _terms(
    params: Params, x: FloatArray, tx: FloatArray, T: FloatArray,
    pairs: _Pairs | None = None, *, grad: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Per-row log-likelihood, P(alive) and (optionally) the gradient (n, 4) in natural params.

    ``alpha`` and ``beta`` are numbers, or arrays of one value per row (covariate models,
    whose ``pairs`` are then built with the rows' covariate groups).

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s + s I]`` with
    ``I = int_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau = F(x, t_x) - F(x, T)``.
    """
    with np.errstate(all="ignore"):  # trial points far out give inf/NaN: the optimiser's
        return _terms_at(params, x, tx, T, pairs, grad=grad)  # objective treats them as +inf


def _terms_at(
    params: Params, x: FloatArray, tx: FloatArray, T: FloatArray,
    pairs: _Pairs | None, *, grad: bool,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """:func:`_terms` (floating-point warnings not yet silenced)."""
    r, alpha, s, beta = params
    if pairs is None:
        pairs = _Pairs(x, tx, T)
    # per pair: the alpha and beta of the pair's rows
    pa = alpha if np.ndim(alpha) == 0 else np.asarray(alpha)[pairs.row]
    pb = beta if np.ndim(beta) == 0 else np.asarray(beta)[pairs.row]
    if grad:
        lf, dlf = _log_f_grad(pairs.x, pairs.u, r, pa, s, pb)
    else:
        lf, dlf = _log_f(pairs.x, pairs.u, r, pa, s, pb), None
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

        def evaluate(z: FloatArray) -> tuple[float, FloatArray]:
            p = np.exp(z)
            params = (float(p[0]), float(p[1]), float(p[2]), float(p[3]))
            ll, _, g = _terms(params, x, tx, Tt, pairs, grad=True)
            assert g is not None
            with np.errstate(all="ignore"):  # non-finite terms: +inf to the optimiser
                return -float(wt @ ll), -(wt @ g) * p

        scale = max(float(np.average(Tt, weights=wt)), 1e-3)  # all T = 0: no time scale
        x0 = np.log(np.array([1.0, scale, 1.0, scale]))
        value, gradient = one_evaluation(evaluate)
        self._fit_mle(value, x0, gradient=gradient,
                      n_customers=float(wt.sum()), n_rows=len(x), degenerate=degeneracy(x, wt))
        self._remember_unit(data)
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
