"""The beta-geometric/beta-binomial (BG/BB) model for discrete-time, non-contractual settings."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from clvlab.errors import check_param
from clvlab.models._base import ArrayLike, BaseModel, FloatArray, as_columns, check_rule, compress

_COLUMNS = ("frequency", "recency", "n_periods")


class BetaGeoBetaBinom(BaseModel):
    r"""BG/BB model of repeat transactions at discrete opportunities (Fader, Hardie & Shang 2010).

    After a first transaction (period 0) a customer meets ``n`` discrete opportunities (e.g.
    yearly fund drives). Before each opportunity she dies (and is never seen again) with
    probability :math:`\theta`; at each opportunity she is alive for she transacts with
    probability :math:`p`. Across customers
    :math:`p \sim \mathrm{Beta}(\alpha, \beta)` and :math:`\theta \sim \mathrm{Beta}(\gamma, \delta)`.
    A customer is summarised by ``frequency`` :math:`x` (opportunities with a transaction),
    ``recency`` :math:`t_x` (the last such opportunity, 0 if none) and ``n_periods`` :math:`n`.

    Likelihood (FHS 2010, eq. 5):

    .. math::

        L(\alpha,\beta,\gamma,\delta \mid x, t_x, n) =
        \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)} \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
        + \sum_{i=0}^{n-t_x-1} \frac{B(\alpha+x, \beta+t_x-x+i)}{B(\alpha,\beta)}
          \frac{B(\gamma+1, \delta+t_x+i)}{B(\gamma,\delta)}

    Probability of being alive at opportunity :math:`n+1`:
    :math:`\frac{B(\alpha+x,\beta+n-x)}{B(\alpha,\beta)}\frac{B(\gamma,\delta+n+1)}{B(\gamma,\delta)} / L`.
    Expected transactions of a new customer in :math:`n` opportunities:
    :math:`E[X(n)] = \frac{\alpha}{\alpha+\beta}\frac{\delta}{\gamma-1}\Big[1 -
    \frac{\Gamma(\gamma+\delta)\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)\Gamma(1+\delta)}\Big]`;
    the conditional expectation over the next :math:`n^*` opportunities is eq. (13), the
    distribution :math:`P(X(n)=x)` eq. (7) and the discounted expected residual transactions
    (DERT) the closed form with :math:`{}_2F_1(1, \delta+n+1; \gamma+\delta+n+1; 1/(1+d))`.

    Parameters
    ----------
    penalizer
        Adds ``penalizer * sum(params**2)`` to the mean negative log-likelihood (0: plain MLE).

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta``, ``gamma``, ``delta``.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Shang, J. (2010), "Customer-Base Analysis in a
    Discrete-Time Noncontractual Setting", Marketing Science 29(6), 1086-1108: eq. (5)
    likelihood, eq. (7) P(X(n)=x), eq. (13) conditional expectation, Section 4 P(alive) and DERT.

    Examples
    --------
    >>> import clvlab
    >>> from clvlab.datasets import load_donations
    >>> model = clvlab.BetaGeoBetaBinom().fit(load_donations())
    >>> {k: round(v, 3) for k, v in model.params_.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(model.log_likelihood_, 1)
    -33225.6
    >>> round(model.probability_alive(6, 6, 6), 4)
    0.9304
    >>> round(model.conditional_expected_purchases(5, 6, 6, 6), 2)
    3.75
    """

    param_names = ("alpha", "beta", "gamma", "delta")

    # ---- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        data: Any = None,
        *,
        frequency: ArrayLike | None = None,
        recency: ArrayLike | None = None,
        n_periods: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit by maximum likelihood on the distinct (frequency, recency, n_periods) rows.

        ``data`` is a pandas/Polars frame (or mapping) with those columns and an optional
        ``weights`` column (customers with that pattern); keyword arrays override its columns.
        """
        where = f"{type(self).__name__}.fit"
        cols = as_columns(
            data, _COLUMNS,
            {"frequency": frequency, "recency": recency, "n_periods": n_periods, "weights": weights},
            where=where, optional=("weights",),
        )
        w = cols.pop("weights", None)
        _validate(cols["frequency"], cols["recency"], cols["n_periods"], where)
        if w is not None:
            check_rule(w < 0, {"weights": w}, "weights", "must be >= 0", where=where)
            if not w.sum() > 0:
                check_rule(w == 0, {"weights": w}, "weights", "all weights are 0", where=where)
        distinct, counts = compress(cols, w)
        x, tx, n = distinct["frequency"], distinct["recency"], distinct["n_periods"]

        def nll(z: FloatArray) -> float:
            return -float(counts @ _log_likelihood(np.exp(z), x, tx, n))

        def grad(z: FloatArray) -> FloatArray:
            _, g = _log_likelihood_and_gradient(np.exp(z), x, tx, n)
            return -(counts @ g) * np.exp(z)

        self._fit_mle(nll, np.zeros(4), gradient=grad, n_customers=float(counts.sum()),
                      n_rows=len(counts))
        return self

    # ---- predictions -----------------------------------------------------------------------
    def log_likelihood_individual(
        self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
    ) -> Any:
        """Log-likelihood of each customer's history (FHS 2010, eq. 5)."""
        params = self._params()
        x, tx, n, scalar = _history(frequency, recency, n_periods, self, "log_likelihood_individual")
        return _out(_log_likelihood(params, x, tx, n), scalar)

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike) -> Any:
        """P(alive at opportunity ``n_periods + 1``) given the history (FHS 2010, Section 4)."""
        a, b, g, d = params = self._params()
        x, tx, n, scalar = _history(frequency, recency, n_periods, self, "probability_alive")
        log_p = (betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
                 - _log_likelihood(params, x, tx, n))
        return _out(np.exp(log_p), scalar)

    def expected_purchases(self, n: ArrayLike) -> Any:
        """E[X(n)]: expected transactions of a new customer in her first ``n`` opportunities."""
        a, b, g, d = self._params()
        arr, scalar = _periods(n, self, "expected_purchases", "n")
        return _out(a / (a + b) * _alive_sum(g, d, np.zeros_like(arr), arr), scalar)

    def conditional_expected_purchases(
        self, n: ArrayLike, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
    ) -> Any:
        """E[X(n_periods, n_periods + n) | history]: transactions in the next ``n`` opportunities
        (FHS 2010, eq. 13)."""
        a, b, g, d = params = self._params()
        where = "conditional_expected_purchases"
        m, scalar_m = _periods(n, self, where, "n")
        x, tx, nn, scalar = _history(frequency, recency, n_periods, self, where)
        m, x, tx, nn = np.broadcast_arrays(m, x, tx, nn)
        scalar = scalar and scalar_m
        log_pre = (betaln(a + x + 1, b + nn - x) - betaln(a, b) - _log_likelihood(params, x, tx, nn)
                   - betaln(g, d) + betaln(g, d + nn))
        return _out(np.exp(log_pre) * _alive_sum(g, d, nn, m), scalar)

    def probability_of_purchases(self, x: ArrayLike, n: ArrayLike) -> Any:
        """P(X(n) = x): probability that a new customer transacts at ``x`` of her first ``n``
        opportunities (FHS 2010, eq. 7)."""
        a, b, g, d = self._params()
        xx, scalar_x = _periods(x, self, "probability_of_purchases", "x", minimum=0)
        nn, scalar_n = _periods(n, self, "probability_of_purchases", "n", minimum=0)
        xx, nn = np.broadcast_arrays(xx, nn)
        log_comb = gammaln(nn + 1) - gammaln(xx + 1) - gammaln(np.maximum(nn - xx, 0) + 1)
        out = np.exp(log_comb + betaln(a + xx, b + nn - xx) - betaln(a, b)
                     + betaln(g, d + nn) - betaln(g, d))
        top = int(nn.max()) if nn.size else 0
        for i in range(top):  # died before opportunity i + 1 after x transactions in i opportunities
            ok = (i >= xx) & (i < nn)
            if ok.any():
                term = np.exp(gammaln(i + 1) - gammaln(xx + 1) - gammaln(np.maximum(i - xx, 0) + 1)
                              + betaln(a + xx, b + i - xx) - betaln(a, b)
                              + betaln(g + 1, d + i) - betaln(g, d))
                out = out + np.where(ok, term, 0.0)
        return _out(np.where(xx <= nn, out, 0.0), scalar_x and scalar_n)

    def discounted_expected_residual_transactions(
        self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike, *,
        discount_rate: float,
    ) -> Any:
        r"""DERT: present value at opportunity ``n_periods`` of all future transactions (FHS 2010).

        :math:`\frac{B(\alpha+x+1,\beta+n-x)}{B(\alpha,\beta)}\frac{B(\gamma,\delta+n+1)}{B(\gamma,\delta)(1+d)}
        {}_2F_1(1, \delta+n+1; \gamma+\delta+n+1; \tfrac{1}{1+d}) / L`: the transaction at
        opportunity :math:`n+k` is discounted by :math:`(1+d)^{-k}`. Multiply by the value of a
        transaction for the residual lifetime value.
        """
        where = "discounted_expected_residual_transactions"
        check_param(isinstance(discount_rate, int | float) and not isinstance(discount_rate, bool)
                    and np.isfinite(discount_rate) and discount_rate > 0,
                    "discount_rate", where, "a float > 0", discount_rate)
        a, b, g, d = params = self._params()
        x, tx, n, scalar = _history(frequency, recency, n_periods, self, where)
        z = 1.0 / (1.0 + float(discount_rate))
        log_pre = (betaln(a + x + 1, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
                   - _log_likelihood(params, x, tx, n))
        return _out(np.exp(log_pre) * z * hyp2f1(1.0, d + n + 1, g + d + n + 1, z), scalar)

    def _params(self) -> FloatArray:
        p = self._check_fitted()
        return np.array([p[k] for k in self.param_names], dtype=np.float64)


# ---- math ----------------------------------------------------------------------------------
def _log_terms(
    params: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Log of the likelihood's terms as a (rows, 1 + max(n - tx)) array (-inf where absent).

    Column 0 is the "alive through n" term; column j >= 1 is the "died after opportunity
    tx + j - 1" term. Also returns the opportunity index k, the death flag and the validity mask.
    """
    a, b, g, d = params
    width = int(np.max(n - tx)) if n.size else 0
    j = np.arange(width + 1, dtype=np.float64)[None, :]
    died = (j >= 1).astype(np.float64)
    x2, tx2, n2 = x[:, None], tx[:, None], n[:, None]
    k = np.where(j == 0, n2, tx2 + j - 1)  # opportunities the customer was alive for
    valid = (j == 0) | (j - 1 <= n2 - tx2 - 1)
    log_t = (betaln(a + x2, b + k - x2) - betaln(a, b) + betaln(g + died, d + k) - betaln(g, d))
    return np.where(valid, log_t, -np.inf), k, died, valid


def _log_likelihood(params: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray) -> FloatArray:
    log_t, *_ = _log_terms(params, x, tx, n)
    top = log_t.max(axis=1)
    return np.asarray(top + np.log(np.exp(log_t - top[:, None]).sum(axis=1)), dtype=np.float64)


def _log_likelihood_and_gradient(
    params: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row log-likelihood and its gradient in (alpha, beta, gamma, delta)."""
    a, b, g, d = params
    log_t, k, died, valid = _log_terms(params, x, tx, n)
    ll = _log_likelihood(params, x, tx, n)
    share = np.where(valid, np.exp(log_t - ll[:, None]), 0.0)  # each term's share of L
    x2 = x[:, None]
    k = np.where(valid, k, n[:, None])  # any valid index: these terms have zero share
    d_a = digamma(a + x2) - digamma(a + b + k) - digamma(a) + digamma(a + b)
    d_b = digamma(b + k - x2) - digamma(a + b + k) - digamma(b) + digamma(a + b)
    d_g = digamma(g + died) - digamma(g + d + died + k) - digamma(g) + digamma(g + d)
    d_d = digamma(d + k) - digamma(g + d + died + k) - digamma(d) + digamma(g + d)
    grad = np.stack([(share * t).sum(axis=1) for t in (d_a, d_b, d_g, d_d)], axis=1)
    return ll, grad


def _alive_sum(g: float, d: float, start: FloatArray, m: FloatArray) -> FloatArray:
    r"""Sum over t = 1..m of B(g, d+start+t)/B(g, d+start): expected opportunities alive.

    Closed form :math:`\frac{\delta'}{\gamma-1}[1 - \frac{\Gamma(\gamma+\delta')\Gamma(1+\delta'+m)}
    {\Gamma(1+\delta')\Gamma(\gamma+\delta'+m)}]` with :math:`\delta' = \delta + start`; the
    limit :math:`\delta'(\psi(1+\delta'+m) - \psi(1+\delta'))` at :math:`\gamma = 1`.
    """
    dd = d + start
    if g == 1.0:
        return np.asarray(dd * (digamma(1 + dd + m) - digamma(1 + dd)), dtype=np.float64)
    z = gammaln(g + dd) - gammaln(1 + dd) + gammaln(1 + dd + m) - gammaln(g + dd + m)
    return np.asarray(dd / (g - 1) * -np.expm1(z), dtype=np.float64)


# ---- input checks --------------------------------------------------------------------------
def _validate(x: FloatArray, tx: FloatArray, n: FloatArray, where: str) -> None:
    cols = {"frequency": x, "recency": tx, "n_periods": n}
    for name, arr in cols.items():
        check_rule(arr != np.round(arr), cols, name, "must be a whole number of opportunities",
                   where=where)
    check_rule(x < 0, cols, "frequency", "must be >= 0", where=where)
    check_rule(n < 1, cols, "n_periods", "must be >= 1", where=where)
    check_rule(tx > n, cols, "recency", "must be <= n_periods", where=where)
    check_rule(x > tx, cols, "frequency", "must be <= recency (one transaction per opportunity)",
               where=where)
    check_rule((tx == 0) != (x == 0), cols, "recency",
               "must be 0 exactly when frequency is 0", where=where)


def _history(
    frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike, model: BaseModel, method: str
) -> tuple[FloatArray, FloatArray, FloatArray, bool]:
    where = f"{type(model).__name__}.{method}"
    scalar = all(np.ndim(v) == 0 for v in (frequency, recency, n_periods))
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64))
                                   for v in (frequency, recency, n_periods)))
    cols = as_columns(None, _COLUMNS, dict(zip(_COLUMNS, arrays, strict=True)), where=where)
    _validate(cols["frequency"], cols["recency"], cols["n_periods"], where)
    return cols["frequency"], cols["recency"], cols["n_periods"], scalar


def _periods(
    value: ArrayLike, model: BaseModel, method: str, name: str, *, minimum: int = 0
) -> tuple[FloatArray, bool]:
    where = f"{type(model).__name__}.{method}"
    cols = as_columns(None, (name,), {name: value}, where=where)
    arr = cols[name]
    check_rule((arr != np.round(arr)) | (arr < minimum), cols, name,
               f"must be a whole number >= {minimum}", where=where)
    return (arr if np.ndim(value) else arr.reshape(())), np.ndim(value) == 0


def _out(values: FloatArray, scalar: bool) -> Any:
    return float(np.asarray(values).reshape(-1)[0]) if scalar else np.asarray(values, dtype=np.float64)
