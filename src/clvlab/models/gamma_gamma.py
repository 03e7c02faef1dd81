"""Gamma-Gamma model of the average spend per transaction (Fader & Hardie 2013)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from scipy import special

from clvlab.errors import DataQualityWarning, DataValidationError, warn
from clvlab.models._base import ArrayLike, BaseModel, FloatArray, as_columns, check_rule
from clvlab.models._btyd import as_output, check_weights, distinct_rows, prediction_inputs
from clvlab.models._mle import one_evaluation

__all__ = ["GammaGamma"]


def _check_spend(cols: dict[str, FloatArray], where: str) -> None:
    x, m = cols["frequency"], cols["monetary_value"]
    check_rule(x < 0, cols, "frequency", "must be >= 0 (number of repeat purchases)", where=where)
    check_rule(x != np.floor(x), cols, "frequency", "must be a whole number of repeat purchases",
               where=where)
    check_rule((x > 0) & (m < 0), cols, "monetary_value",
               "must be >= 0 for repeat buyers (mean spend per repeat purchase); a negative mean "
               "means refunds were counted as purchases: use rfm_summary(include_refunds=False)",
               where=where)


_HEAVY_TAIL_REMEDY = (
    "cap extreme amounts before fitting (e.g. clip monetary_value at its 99th percentile) or "
    "check them for data errors; a penalizer does not help (it pulls q further down)")


def _heavy_tail(params: dict[str, float]) -> str:
    """Why the fit cannot give a mean spend ('' when it can): the population mean spend
    p*v/(q-1) exists only for q > 1."""
    q = params["q"]
    if q > 1.0:
        return ""
    return (f"q = {q:.3g} <= 1: the spend is so heavy-tailed that the population mean spend "
            f"p*v/(q-1) does not exist; {_HEAVY_TAIL_REMEDY}")


class GammaGamma(BaseModel):
    r"""Gamma-Gamma model of the average value of a customer's transactions.

    A customer's transaction values are :math:`z_i \sim \mathrm{Gamma}(p, \nu)` around a
    customer mean :math:`p/\nu`, and :math:`\nu \sim \mathrm{Gamma}(q, \gamma)` across
    customers (``v`` below is :math:`\gamma`). For :math:`x` repeat transactions with mean
    :math:`\bar z` (Fader & Hardie 2013, eq. 3 with the marginal of :math:`\bar z`):

    .. math::

        f(\bar z \mid p, q, \gamma, x) = \frac{\Gamma(px+q)}{\Gamma(px)\,\Gamma(q)}
            \frac{\gamma^q\, \bar z^{px-1}\, x^{px}}{(\gamma + x\bar z)^{px+q}},

    and the conditional expected average spend (eq. 5) is

    .. math::

        E[Z \mid \bar z, x] = \frac{q-1}{px+q-1}\,\frac{p\gamma}{q-1}
            + \frac{px}{px+q-1}\,\bar z .

    Spend is assumed independent of the purchase process, so only repeat buyers (``frequency >
    0``) enter the fit; the others are left out with a :class:`~clvlab.errors.DataQualityWarning`.

    Parameters
    ----------
    penalizer : float, default 0
        Adds ``penalizer * sum(params**2)`` to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``v`` (the paper's :math:`\gamma`).
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_
        As in :class:`~clvlab.models.BaseModel`; ``n_customers_`` counts repeat buyers.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of Monetary Value",
    http://brucehardie.com/notes/025/: model eq. 1-3, conditional expectation eq. 5.

    Examples
    --------
    >>> import warnings, clvlab
    >>> from clvlab.datasets import load_cdnow_summary
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", clvlab.DataQualityWarning)  # 1,411 non-repeaters
    ...     gg = clvlab.GammaGamma().fit(load_cdnow_summary())
    >>> {k: round(v, 2) for k, v in gg.params_.items()}
    {'p': 6.25, 'q': 3.74, 'v': 15.45}
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        super().__init__(penalizer=penalizer)

    def fit(self, data: Any = None, *, frequency: ArrayLike | None = None,
            monetary_value: ArrayLike | None = None, weights: ArrayLike | None = None) -> Self:
        """Fit on the repeat buyers among ``frequency``/``monetary_value`` (columns or arrays)."""
        where = f"{type(self).__name__}.fit"
        cols = as_columns(data, ("frequency", "monetary_value"),
                          {"frequency": frequency, "monetary_value": monetary_value,
                           "weights": weights}, where=where, optional=("weights",))
        w = cols.pop("weights", None)
        _check_spend(cols, where)
        if w is not None:
            check_weights(w, where)
        repeat = cols["frequency"] > 0
        n_out = int((~repeat).sum())
        zero = repeat & (cols["monetary_value"] == 0)
        repeat &= ~zero
        if not repeat.any():
            msg = f"{where}: no repeat buyers (frequency > 0) with spend > 0 to fit the spend model on"
            raise DataValidationError(msg, hint="the model needs customers with repeat purchases")
        if n_out or zero.any():
            warn(
                f"{where}: left out {n_out} of {len(repeat)} customers with frequency 0 (no "
                "repeat purchase, so no repeat spend; their expected spend is the population "
                f"mean p*v/(q-1)) and {int(zero.sum())} repeat buyers whose mean repeat spend is 0 "
                "(the Gamma model needs positive amounts).", DataQualityWarning, stacklevel=2)
        rows = distinct_rows({"x": cols["frequency"][repeat], "m": cols["monetary_value"][repeat]},
                             None if w is None else w[repeat])
        x, m, wr = rows.column("x"), rows.column("m"), rows.weights
        log_m, log_x = np.log(m), np.log(x)
        n_cust = float(wr.sum())

        def value_and_grad(z: FloatArray) -> tuple[float, FloatArray]:
            p, q, v = np.exp(z)
            px = p * x
            lxm = np.log(x * m + v)
            ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
                  + q * np.log(v) + (px - 1) * log_m + px * log_x - (px + q) * lxm)
            psi = special.digamma(px + q)
            g_p = x * (psi - special.digamma(px) + log_m + log_x - lxm)
            g_q = psi - special.digamma(q) + np.log(v) - lxm
            g_v = q / v - (px + q) / (x * m + v)
            grad = -np.array([p * (wr @ g_p), q * (wr @ g_q), v * (wr @ g_v)])
            return -float(wr @ ll), grad

        value, gradient = one_evaluation(value_and_grad)
        self._fit_mle(value, np.zeros(3), gradient=gradient, n_customers=n_cust,
                      n_rows=rows.n_rows, degenerate=_heavy_tail)
        self._remember_unit(data)
        return self

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> float | FloatArray:
        """E[Z | zbar, x]: expected mean spend per transaction (Fader & Hardie 2013, eq. 5).

        For ``frequency == 0`` this is the population mean ``p*v/(q-1)`` whatever
        ``monetary_value`` says. Refused (:class:`~clvlab.errors.DataValidationError`) when
        the fit has ``q <= 1``: that mean does not exist (the formula would turn negative),
        which ``fit_status_`` reports as degenerate data.
        """
        params = self._check_fitted()
        p, q, v = params["p"], params["q"], params["v"]
        where = f"{type(self).__name__}.expected_spend"
        if q <= 1.0:
            msg = f"{where}: no expected spend to report: {_heavy_tail(params)}"
            raise DataValidationError(msg)
        a, scalar = prediction_inputs(where, frequency=frequency, monetary_value=monetary_value)
        _check_spend(a, where)
        x, m = a["frequency"], np.where(a["frequency"] > 0, a["monetary_value"], 0.0)
        return as_output(p * (v + x * m) / (p * x + q - 1.0), scalar)

    def log_likelihood_individual(self, frequency: ArrayLike,
                                  monetary_value: ArrayLike) -> float | FloatArray:
        """Per-customer log density of the mean spend; 0 for customers with frequency 0."""
        params = self._check_fitted()
        p, q, v = params["p"], params["q"], params["v"]
        where = f"{type(self).__name__}.log_likelihood_individual"
        a, scalar = prediction_inputs(where, frequency=frequency, monetary_value=monetary_value)
        _check_spend(a, where)
        x = a["frequency"]
        rep = x > 0
        xs, m = np.where(rep, x, 1.0), np.where(rep, a["monetary_value"], 1.0)
        px = p * xs
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
              + (px - 1) * np.log(m) + px * np.log(xs) - (px + q) * np.log(xs * m + v))
        return as_output(np.where(rep, ll, 0.0), scalar)
