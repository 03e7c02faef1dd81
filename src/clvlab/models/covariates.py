r"""BG/NBD and Pareto/NBD with time-invariant covariates (Fader & Hardie 2007).

Each customer i carries covariates :math:`z_i` (e.g. the class of the first NPS answer, the
share of negative comments). The mixing distributions keep their shapes; their scales move with
the covariates, so the expected rates are multiplied by :math:`\exp(\gamma' z_i)`:

- purchase (both models): :math:`\lambda_i \sim \mathrm{Gamma}(r, \alpha_i)`,
  :math:`\alpha_i = \alpha_0 \exp(-\gamma_1' z_i)`, so :math:`E[\lambda_i] = (r/\alpha_0)
  \exp(\gamma_1' z_i)`: a positive coefficient means more purchases (note, eq. 1);
- dropout, Pareto/NBD: :math:`\mu_i \sim \mathrm{Gamma}(s, \beta_i)`,
  :math:`\beta_i = \beta_0 \exp(-\gamma_2' z_i)`, so :math:`E[\mu_i] = (s/\beta_0)
  \exp(\gamma_2' z_i)`: a positive coefficient means earlier dropout (note, eq. 2);
- dropout, BG/NBD: :math:`p_i \sim \mathrm{Beta}(a_i, b_i)` with
  :math:`a_i = a_0 \exp(\gamma_a' z_i)` and :math:`b_i = b_0 \exp(\gamma_b' z_i)`, each with
  its own coefficients (the note's BG/NBD section); :math:`E[p_i] = a_i / (a_i + b_i)`, the
  probability of dropping out after a purchase.

The likelihood of a customer is the base model's (Fader, Hardie & Lee 2005, eq. 6 for BG/NBD;
FHL 2005 note eq. 18 for Pareto/NBD) evaluated at the customer's own :math:`\alpha_i,\beta_i`
(or :math:`a_i, b_i`); fitting uses the distinct (x, t_x, T, z) rows. With no covariates the
models are the base models: the same likelihood, the same published CDNOW estimates.

References
----------
Fader, P. S. and Hardie, B. G. S. (2007), "Incorporating Time-Invariant Covariates into the
Pareto/NBD and BG/NBD Models", http://brucehardie.com/notes/019/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy import special

from clvlab.models._base import ArrayLike, FloatArray
from clvlab.models._btyd import (
    alive_from_log_odds,
    as_output,
    check_time,
    softplus,
)
from clvlab.models._covariates import Process, RateRatio, Scaled, _CovariateModel
from clvlab.models._pareto_terms import _decay
from clvlab.models.beta_geo import BetaGeo, _expected_given_beta
from clvlab.models.pareto_nbd import ParetoNBD, _Pairs, _terms

__all__ = ["BetaGeoCovariates", "ParetoNBDCovariates", "RateRatio"]


class BetaGeoCovariates(_CovariateModel):
    r"""BG/NBD with time-invariant covariates on the purchase and dropout processes.

    :math:`\alpha_i = \alpha_0 e^{-\gamma_1' z_i}`, :math:`a_i = a_0 e^{\gamma_a' z_i}`,
    :math:`b_i = b_0 e^{\gamma_b' z_i}` (see :mod:`clvlab.models.covariates`).

    Parameters
    ----------
    purchase_covariates
        Columns that scale the purchase rate (coefficients ``purchase:<column>``).
    dropout_covariates
        Columns that scale the dropout probability (coefficients ``dropout_a:<column>``,
        ``dropout_b:<column>``).
    penalizer
        As in :class:`~clvlab.models.BetaGeo` (on the coefficients too).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b`` (at z = 0), then the coefficients.
    covariate_means_ : dict
        Mean of each covariate in the fitted data (the profile :meth:`at` uses by default).
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, fit_status_

    References
    ----------
    Fader & Hardie (2007), "Incorporating Time-Invariant Covariates into the Pareto/NBD and
    BG/NBD Models"; Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. 6.

    Examples
    --------
    >>> from clvlab.datasets import load_cdnow_summary
    >>> model = BetaGeoCovariates().fit(load_cdnow_summary())   # no covariates: the BG/NBD
    >>> {k: round(v, 3) for k, v in model.params_.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    """

    _base = BetaGeo
    param_names: ClassVar[tuple[str, ...]] = BetaGeo.param_names
    _scaled: ClassVar[tuple[Scaled, ...]] = (
        Scaled("alpha", "purchase", -1.0, "purchase"),
        Scaled("a", "dropout_a", 1.0, "dropout"),
        Scaled("b", "dropout_b", 1.0, "dropout"),
    )
    _quantity: ClassVar[dict[str, str]] = {"purchase": "purchase rate",
                                           "dropout": "dropout probability after a purchase"}

    def _row_terms(self, base: Mapping[str, Any], x: FloatArray, tx: FloatArray, T: FloatArray,
                   ctx: dict[str, Any]) -> tuple[FloatArray, FloatArray]:
        """Eq. 6 per row with per-row alpha, a, b, and its gradient in (r, alpha, a, b)."""
        r = float(base["r"])
        al, a, b = (np.broadcast_to(np.asarray(base[k], dtype=np.float64), x.shape)
                    for k in ("alpha", "a", "b"))
        rx, bx = r + x, b + x
        buy = x > 0
        with np.errstate(all="ignore"):
            denom = np.where(buy, bx - 1.0, 1.0)
            lt, ltx = np.log(al + T), np.log(al + tx)
            d = np.log(a) - np.log(denom) + rx * (lt - ltx)
            ll = (special.gammaln(rx) - special.gammaln(r) + r * np.log(al)
                  + special.betaln(a, bx) - special.betaln(a, b) - rx * lt
                  + np.where(buy, softplus(np.where(buy, d, 0.0)), 0.0))
            sig = np.where(buy, special.expit(d), 0.0)
            psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + bx)
            g = np.empty((len(x), 4))
            g[:, 0] = special.digamma(rx) - special.digamma(r) + np.log(al) - lt + sig * (lt - ltx)
            g[:, 1] = r / al - rx / (al + T) + sig * rx * (1.0 / (al + T) - 1.0 / (al + tx))
            g[:, 2] = psi_ab - psi_abx + sig / a
            g[:, 3] = special.digamma(bx) - psi_abx - special.digamma(b) + psi_ab - sig / denom
        return ll, g

    def _log_rate(self, process: Process, params: Mapping[str, float], z: Mapping[str, Any]) -> float:
        p = self._individual(params, z)
        if process == "purchase":
            return float(np.log(p["r"]) - np.log(p["alpha"]))
        return float(np.log(p["a"]) - np.log(p["a"] + p["b"]))

    def _alive(self, where: str, covariates: Any, **inputs: ArrayLike
               ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], FloatArray, bool]:
        """Inputs, per-row parameters and P(alive) = 1 / (1 + exp(d)) (Fader, Hardie & Lee 2008
        note, eq. 1), d = ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)), 1 when x = 0."""
        cols, base, _, scalar = self._inputs(where, covariates, **inputs)
        x, tx, T = cols["frequency"], cols["recency"], cols["T"]
        p = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), x.shape) for k, v in base.items()}
        with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 rows: replaced below
            d = (np.log(p["a"]) - np.log(p["b"] + x - 1.0)
                 + (p["r"] + x) * (np.log(p["alpha"] + T) - np.log(p["alpha"] + tx)))
        d[x == 0] = -np.inf
        return cols, p, alive_from_log_odds(d), scalar

    def conditional_expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                                       T: ArrayLike, *, covariates: Any = None) -> float | FloatArray:
        """E[Y(t) | x, t_x, T] at the customer's own alpha, a and b (FHL 2005 eq. 10), once per
        distinct a (the hypergeometric part takes one a at a time)."""
        where = "BetaGeoCovariates.conditional_expected_purchases"
        cols, p, alive, scalar = self._alive(where, covariates, t=t, frequency=frequency,
                                             recency=recency, T=T)
        tt, x, T_ = cols["t"], cols["frequency"], cols["T"]
        check_time(tt, where)
        part = np.empty_like(tt)
        values, codes = np.unique(p["a"], return_inverse=True)
        for j, a in enumerate(values):
            i = codes == j
            part[i] = _expected_given_beta(tt[i], p["r"][i] + x[i], p["alpha"][i] + T_[i], float(a),
                                           p["b"][i] + x[i])
        return as_output(np.where(tt > 0, part * alive, 0.0), scalar)


class ParetoNBDCovariates(_CovariateModel):
    r"""Pareto/NBD with time-invariant covariates on the purchase and dropout processes.

    :math:`\alpha_i = \alpha_0 e^{-\gamma_1' z_i}`, :math:`\beta_i = \beta_0 e^{-\gamma_2' z_i}`
    (Fader & Hardie 2007, eq. 1-2): the expected purchase rate is :math:`(r/\alpha_0)
    e^{\gamma_1' z}`, the expected dropout rate :math:`(s/\beta_0) e^{\gamma_2' z}`, so
    :math:`e^{\gamma_2}` of a 0/1 covariate is the ratio of expected dropout rates.

    Parameters
    ----------
    purchase_covariates
        Columns that scale the purchase rate (coefficients ``purchase:<column>``).
    dropout_covariates
        Columns that scale the dropout rate (coefficients ``dropout:<column>``).
    penalizer
        As in :class:`~clvlab.models.ParetoNBD` (on the coefficients too).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta`` (at z = 0), then the coefficients.
    covariate_means_ : dict
        Mean of each covariate in the fitted data.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, fit_status_

    References
    ----------
    Fader & Hardie (2007), "Incorporating Time-Invariant Covariates into the Pareto/NBD and
    BG/NBD Models"; Fader, Hardie & Lee (2005), "A Note on Deriving the Pareto/NBD Model and
    Related Expressions", eq. 18.

    Examples
    --------
    >>> from clvlab.datasets import load_cdnow_summary
    >>> model = ParetoNBDCovariates().fit(load_cdnow_summary())   # no covariates: the Pareto/NBD
    >>> {k: round(v, 2) for k, v in model.params_.items()}
    {'r': 0.55, 'alpha': 10.58, 's': 0.61, 'beta': 11.67}
    """

    _base = ParetoNBD
    param_names: ClassVar[tuple[str, ...]] = ParetoNBD.param_names
    _scaled: ClassVar[tuple[Scaled, ...]] = (
        Scaled("alpha", "purchase", -1.0, "purchase"),
        Scaled("beta", "dropout", -1.0, "dropout"),
    )
    _quantity: ClassVar[dict[str, str]] = {"purchase": "purchase rate", "dropout": "dropout rate"}

    def _row_terms(self, base: Mapping[str, Any], x: FloatArray, tx: FloatArray, T: FloatArray,
                   ctx: dict[str, Any]) -> tuple[FloatArray, FloatArray]:
        """FHL (2005) eq. 18 per row with per-row alpha and beta, and its gradient.

        The distinct (x, u, covariate group) pairs are built once per fit, kept in ``ctx``."""
        if "pairs" not in ctx:
            ctx["pairs"] = _Pairs(x, tx, T, ctx["group"])
        pairs = ctx["pairs"]
        params = (float(base["r"]), base["alpha"], float(base["s"]), base["beta"])
        ll, _, g = _terms(params, x, tx, T, pairs, grad=True)
        assert g is not None
        return ll, g

    def _log_rate(self, process: Process, params: Mapping[str, float], z: Mapping[str, Any]) -> float:
        p = self._individual(params, z)
        if process == "purchase":
            return float(np.log(p["r"]) - np.log(p["alpha"]))
        return float(np.log(p["s"]) - np.log(p["beta"]))

    def _alive(self, where: str, covariates: Any, **inputs: ArrayLike
               ) -> tuple[dict[str, FloatArray], dict[str, Any], FloatArray, bool]:
        """Inputs, per-row parameters and P(alive) (FHL 2005 eq. 22), all rows at once."""
        cols, p, group, scalar = self._inputs(where, covariates, **inputs)
        x, tx, T = cols["frequency"], cols["recency"], cols["T"]
        _, pa, _ = _terms((p["r"], p["alpha"], p["s"], p["beta"]), x, tx, T, _Pairs(x, tx, T, group))
        return cols, p, pa, scalar

    def conditional_expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                                       T: ArrayLike, *, covariates: Any = None) -> float | FloatArray:
        """E[X(T, T + t) | x, t_x, T] at the customer's own alpha and beta (FHL 2005 eq. 26)."""
        where = "ParetoNBDCovariates.conditional_expected_purchases"
        cols, p, pa, scalar = self._alive(where, covariates, t=t, frequency=frequency,
                                          recency=recency, T=T)
        check_time(cols["t"], where)
        x, Tt, tt = cols["frequency"], cols["T"], cols["t"]
        beta_t = p["beta"] + Tt
        out = pa * (p["r"] + x) / (p["alpha"] + Tt) * beta_t * _decay(p["s"] - 1.0, np.log1p(tt / beta_t))
        return as_output(out, scalar)
