"""The shifted-beta-geometric (sBG) model of retention in contractual (subscription) settings."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from clvlab.errors import DataValidationError, Issue, ParameterError, check_param
from clvlab.models._base import ArrayLike, BaseModel, FloatArray, as_columns, check_rule, compress


class ShiftedBetaGeo(BaseModel):
    r"""sBG model of contract renewals (Fader & Hardie 2007).

    A customer pays for period 1 and, at the end of each period, cancels with probability
    :math:`\theta` (else renews); across customers :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)`.
    Her lifetime :math:`T` (periods paid for, 1, 2, ...) is shifted-geometric, and

    .. math::

        P(T = t) = \frac{B(\alpha+1, \beta+t-1)}{B(\alpha,\beta)}, \qquad
        S(t) = P(T > t) = \frac{B(\alpha, \beta+t)}{B(\alpha,\beta)}, \qquad
        r(t) = \frac{S(t)}{S(t-1)} = \frac{\beta+t-1}{\alpha+\beta+t-1}.

    The retention rate :math:`r(t)` rises with :math:`t` although no customer's own rate
    changes: the cancel-prone leave first. Expected lifetime
    :math:`E[T] = \sum_{t \ge 0} S(t) = (\alpha+\beta-1)/(\alpha-1)` (infinite for
    :math:`\alpha \le 1`). With discount rate :math:`d` and one payment at the start of each
    period (Fader & Hardie 2010):

    .. math::

        \mathrm{DEL}(d) = \sum_{t=0}^{\infty} \frac{S(t)}{(1+d)^t}
            = {}_2F_1\big(1, \beta; \alpha+\beta; \tfrac{1}{1+d}\big), \qquad
        \mathrm{DERL}(d \mid n) = \sum_{t=n}^{\infty} \frac{S(t)}{S(n-1)(1+d)^{t-n}}
            = \frac{\beta+n-1}{\alpha+\beta+n-1}\,
              {}_2F_1\big(1, \beta+n; \alpha+\beta+n; \tfrac{1}{1+d}\big),

    DERL being the value, just before her ``n``-th renewal decision (end of period ``n``, after
    ``n - 1`` renewals), of the payments still to come, the next one undiscounted.

    **Data convention.** Per customer: ``recency`` = periods she was (or is) a customer and
    ``T`` = the period the cohort is in (periods observed, counting the current one, = renewal
    decisions observed + 1). ``recency < T``: she cancelled at the end of period ``recency``
    (likelihood :math:`P(T = recency)`); ``recency == T``: still active, her next decision not
    yet seen (right-censored, likelihood :math:`S(T-1)`). So ``1 <= recency <= T``. Aggregate
    form: ``survival[t]`` = customers (or shares) still active after ``t`` renewal decisions,
    ``t = 0, 1, ...``; it is expanded to that per-customer form with ``T = len(survival)``.

    Parameters
    ----------
    penalizer
        Adds ``penalizer * (alpha**2 + beta**2)`` to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta``.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007), "How to Project Customer Retention", Journal of
    Interactive Marketing 21(1), 76-90: P(T=t) and S(t) (eqs. 5-7), retention rate r(t),
    the likelihood of a cohort's survival curve (Section 4).
    Fader, P. S. and Hardie, B. G. S. (2010), "Customer-Base Valuation in a Contractual
    Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93: the DEL and
    DERL expressions above.

    Examples
    --------
    >>> import clvlab
    >>> model = clvlab.ShiftedBetaGeo().fit(survival=[1000, 631, 468, 382, 326, 289, 262, 241])
    >>> {k: round(v, 3) for k, v in model.params_.items()}
    {'alpha': 0.704, 'beta': 1.182}
    >>> [round(float(r), 3) for r in model.retention_rate([1, 2, 8])]
    [0.627, 0.756, 0.921]
    >>> round(model.discounted_expected_residual_lifetime(8, discount_rate=0.1), 2)
    6.84
    """

    param_names = ("alpha", "beta")

    # ---- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        data: Any = None,
        *,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        survival: ArrayLike | None = None,
    ) -> Self:
        """Fit by maximum likelihood on per-customer (recency, T) rows or a survival curve.

        Give either ``data`` (a frame with ``recency``, ``T`` and optional ``weights``) and/or
        keyword arrays, or ``survival`` alone (counts, or shares starting at 1; standard errors
        are meaningful only for counts).
        """
        where = f"{type(self).__name__}.fit"
        w: FloatArray | None
        if survival is not None:
            if data is not None or recency is not None or T is not None or weights is not None:
                msg = (f"{where}: give either survival=... or per-customer data "
                       "(recency, T, weights), not both.")
                raise ParameterError(msg)
            rec, t_obs, w = _expand_survival(survival, where)
        else:
            cols = as_columns(data, ("recency", "T"), {"recency": recency, "T": T,
                              "weights": weights}, where=where, optional=("weights",))
            rec, t_obs = cols["recency"], cols["T"]
            _validate(rec, t_obs, where)
            w = cols.get("weights")
            if w is not None:
                check_rule(w < 0, {"weights": w}, "weights", "must be >= 0", where=where)
                check_rule(np.full(w.shape, not w.sum() > 0), {"weights": w}, "weights",
                           "all weights are 0", where=where)
        distinct, counts = compress({"recency": rec, "T": t_obs}, w)
        r, t = distinct["recency"], distinct["T"]

        def nll(z: FloatArray) -> float:
            return -float(counts @ _log_likelihood(np.exp(z), r, t))

        def grad(z: FloatArray) -> FloatArray:
            return -(counts @ _gradient(np.exp(z), r, t)) * np.exp(z)

        self._fit_mle(nll, np.zeros(2), gradient=grad, n_customers=float(counts.sum()),
                      n_rows=len(counts))
        return self

    # ---- predictions -----------------------------------------------------------------------
    def churn_probability(self, t: ArrayLike) -> Any:
        """P(T = t): probability that a new customer cancels at the end of period ``t`` (>= 1)."""
        a, b = self._params()
        tt, scalar = _whole(t, self, "churn_probability", "t", 1)
        return _out(np.exp(betaln(a + 1, b + tt - 1) - betaln(a, b)), scalar)

    def survival(self, t: ArrayLike) -> Any:
        """S(t): share of a new cohort still active after ``t`` renewal decisions (S(0) = 1)."""
        a, b = self._params()
        tt, scalar = _whole(t, self, "survival", "t", 0)
        return _out(np.exp(betaln(a, b + tt) - betaln(a, b)), scalar)

    def retention_rate(self, t: ArrayLike) -> Any:
        """r(t) = S(t) / S(t-1): share of those active in period ``t`` who renew (t >= 1)."""
        a, b = self._params()
        tt, scalar = _whole(t, self, "retention_rate", "t", 1)
        return _out((b + tt - 1) / (a + b + tt - 1), scalar)

    def expected_lifetime(self) -> float:
        """E[T] in periods, (alpha + beta - 1) / (alpha - 1); ``inf`` when alpha <= 1."""
        a, b = self._params()
        return float((a + b - 1) / (a - 1)) if a > 1 else float("inf")

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL(d) = 2F1(1, beta; alpha + beta; 1/(1+d)): discounted periods paid by a new customer."""
        a, b = self._params()
        z = _discount(discount_rate, self, "discounted_expected_lifetime")
        return float(hyp2f1(1.0, b, a + b, z))

    def discounted_expected_residual_lifetime(
        self, recency: ArrayLike, *, discount_rate: float
    ) -> Any:
        """DERL(d | n): discounted payments still to come from a customer active in period
        ``recency = n`` (after n - 1 renewals), valued just before her n-th renewal decision."""
        a, b = self._params()
        z = _discount(discount_rate, self, "discounted_expected_residual_lifetime")
        n, scalar = _whole(recency, self, "discounted_expected_residual_lifetime", "recency", 1)
        return _out((b + n - 1) / (a + b + n - 1) * hyp2f1(1.0, b + n, a + b + n, z), scalar)

    def log_likelihood_individual(self, recency: ArrayLike, T: ArrayLike) -> Any:
        """Log-likelihood of each customer: log P(T = recency) if recency < T, else log S(T-1)."""
        params = self._params()
        where = f"{type(self).__name__}.log_likelihood_individual"
        scalar = np.ndim(recency) == 0 and np.ndim(T) == 0
        r, t = np.broadcast_arrays(np.atleast_1d(np.asarray(recency, dtype=np.float64)),
                                   np.atleast_1d(np.asarray(T, dtype=np.float64)))
        cols = as_columns(None, ("recency", "T"), {"recency": r, "T": t}, where=where)
        _validate(cols["recency"], cols["T"], where)
        return _out(_log_likelihood(params, cols["recency"], cols["T"]), scalar)

    def _params(self) -> FloatArray:
        p = self._check_fitted()
        return np.array([p["alpha"], p["beta"]], dtype=np.float64)


# ---- math ----------------------------------------------------------------------------------
def _log_likelihood(params: FloatArray, r: FloatArray, t: FloatArray) -> FloatArray:
    a, b = params
    churned = r < t
    ll = np.where(churned, betaln(a + 1, b + r - 1), betaln(a, b + t - 1)) - betaln(a, b)
    return np.asarray(ll, dtype=np.float64)


def _gradient(params: FloatArray, r: FloatArray, t: FloatArray) -> FloatArray:
    """Per-row gradient of the log-likelihood in (alpha, beta)."""
    a, b = params
    churned = r < t
    k = np.where(churned, r - 1, t - 1)  # beta's shift
    u = churned.astype(np.float64)  # alpha's shift
    d_a = digamma(a + u) - digamma(a + b + u + k) - digamma(a) + digamma(a + b)
    d_b = digamma(b + k) - digamma(a + b + u + k) - digamma(b) + digamma(a + b)
    return np.stack([d_a, d_b], axis=1)


# ---- input checks --------------------------------------------------------------------------
def _validate(r: FloatArray, t: FloatArray, where: str) -> None:
    cols = {"recency": r, "T": t}
    for name, arr in cols.items():
        check_rule(arr != np.round(arr), cols, name, "must be a whole number of periods",
                   where=where)
    check_rule(r < 1, cols, "recency", "must be >= 1 (periods as a customer, counting the first)",
               where=where)
    check_rule(r > t, cols, "recency", "must be <= T (recency == T: still active)", where=where)


def _expand_survival(survival: ArrayLike, where: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Survivors by period (t = 0, 1, ...) -> per-pattern (recency, T, weight) rows."""
    cols = as_columns(None, ("survival",), {"survival": survival}, where=where)
    s = cols["survival"]
    if s.size < 2:
        msg = (f"{where}: 'survival' needs at least 2 values (period 0 and one more), got "
               f"{s.size}")
        raise DataValidationError(msg)
    check_rule(s < 0, cols, "survival", "must be >= 0", where=where)
    first = np.zeros(s.size, dtype=bool)
    first[0] = s[0] <= 0
    check_rule(first, cols, "survival", "period 0 must be > 0 (the cohort's size or 1.0)",
               where=where)
    rises = np.flatnonzero(np.diff(s) > 0) + 1
    if rises.size:
        issues = [Issue(f"more survivors than in period {i - 1} ({s[i - 1]:g})", row=int(i),
                        column="survival", value=float(s[i])) for i in rises[:3]]
        msg = f"{where}: the survival curve must not rise (row = period)"
        raise DataValidationError(msg, issues, hint="pass survivors, not new customers per period")
    n = s.size  # the cohort is in period n (n - 1 renewal decisions seen)
    recency = np.arange(1, n + 1, dtype=np.float64)
    weights = np.append(-np.diff(s), s[-1])
    return recency, np.full(n, float(n)), weights


def _whole(value: ArrayLike, model: BaseModel, method: str, name: str, minimum: int
           ) -> tuple[FloatArray, bool]:
    where = f"{type(model).__name__}.{method}"
    cols = as_columns(None, (name,), {name: value}, where=where)
    arr = cols[name]
    check_rule((arr != np.round(arr)) | (arr < minimum), cols, name,
               f"must be a whole number >= {minimum}", where=where)
    return arr, np.ndim(value) == 0


def _discount(rate: float, model: BaseModel, method: str) -> float:
    check_param(isinstance(rate, int | float) and not isinstance(rate, bool)
                and bool(np.isfinite(rate)) and rate > 0,
                "discount_rate", f"{type(model).__name__}.{method}", "a float > 0", rate)
    return 1.0 / (1.0 + float(rate))


def _out(values: FloatArray, scalar: bool) -> Any:
    return float(np.asarray(values).reshape(-1)[0]) if scalar else np.asarray(values, dtype=np.float64)
