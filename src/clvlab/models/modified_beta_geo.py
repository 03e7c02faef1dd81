"""MBG/NBD: the modified BG/NBD of Batislam, Denizel & Filiztekin (2007)."""

from __future__ import annotations

from clvlab.models.beta_geo import _BetaGeoFamily

__all__ = ["ModifiedBetaGeo"]


class ModifiedBetaGeo(_BetaGeoFamily):
    r"""MBG/NBD: BG/NBD with a dropout opportunity right after the first purchase.

    As in BG/NBD, an alive customer buys at Poisson rate :math:`\lambda \sim
    \mathrm{Gamma}(r, \alpha)` and may drop out with probability :math:`p \sim
    \mathrm{Beta}(a, b)`, but the coin is also tossed at time 0, so customers without repeat
    purchases can be inactive too. For :math:`x` repeat purchases, the last at :math:`t_x`,
    observed for :math:`T` (Batislam et al. 2007):

    .. math::

        L(r,\alpha,a,b \mid x,t_x,T) = \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)} \left[
            \frac{B(a,b+x+1)}{B(a,b)\,(\alpha+T)^{r+x}}
          + \frac{B(a+1,b+x)}{B(a,b)\,(\alpha+t_x)^{r+x}} \right].

    Predictions: :math:`P(\text{alive}) = 1 / \bigl(1 + \frac{a}{b+x}
    (\frac{\alpha+T}{\alpha+t_x})^{r+x}\bigr)`; :math:`E[X(t)] = \frac{b}{a-1}\bigl[1 -
    (\frac{\alpha}{\alpha+t})^r {}_2F_1(r, b+1; a+b; \frac{t}{\alpha+t})\bigr]`; the conditional
    expectation uses the posterior :math:`p \sim \mathrm{Beta}(a, b+x+1)` of an alive customer.

    Parameters
    ----------
    penalizer : float, default 0
        Adds ``penalizer * sum(params**2)`` to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_
        As in :class:`~clvlab.models.BaseModel`.

    References
    ----------
    Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation and
    comparison of models for customer base analysis", International Journal of Research in
    Marketing 24(3), 201-209: likelihood, E[X(t)] and E[Y(t) | x, t_x, T] in section 2,
    P(alive) appendix A eq. 5.

    Examples
    --------
    >>> import clvlab
    >>> from clvlab.datasets import load_cdnow_summary
    >>> mbg = clvlab.ModifiedBetaGeo().fit(load_cdnow_summary())
    >>> {k: round(v, 3) for k, v in mbg.params_.items()}
    {'r': 0.525, 'alpha': 6.183, 'a': 0.891, 'b': 1.614}
    >>> round(mbg.log_likelihood_, 1)
    -9582.1
    """

    _k = 1
