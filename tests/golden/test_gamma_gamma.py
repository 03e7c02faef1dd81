"""Gamma-Gamma golden values: Fader & Hardie (2013), CDNOW repeat buyers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from lifetimes import GammaGammaFitter

from clvlab.errors import DataQualityWarning
from clvlab.models.gamma_gamma import GammaGamma


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> GammaGamma:
    with pytest.warns(DataQualityWarning, match="left out 1411 of 2357"):
        return GammaGamma().fit(cdnow)


def test_params_match_fader_hardie_2013_cdnow(fitted: GammaGamma) -> None:
    """Fader & Hardie (2013), CDNOW repeat buyers: p=6.25, q=3.74, gamma=15.44."""
    assert fitted.params_["p"] == pytest.approx(6.25, abs=0.005)
    assert fitted.params_["q"] == pytest.approx(3.74, abs=0.006)
    assert fitted.params_["v"] == pytest.approx(15.44, abs=0.01)
    assert fitted.n_customers_ == 946


def test_same_as_lifetimes(cdnow: pd.DataFrame, fitted: GammaGamma, lifetimes_ll: Callable[..., float]) -> None:
    """lifetimes 0.11.3 GammaGammaFitter on the repeat buyers: params 1e-4, predictions 1e-8."""
    rep = cdnow[cdnow["frequency"] > 0]
    lt = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    for name in ("p", "q", "v"):
        assert fitted.params_[name] == pytest.approx(lt.params_[name], rel=1e-4)
    assert fitted.log_likelihood_ == pytest.approx(lifetimes_ll(lt, rep, ("frequency", "monetary_value")),
                                                   rel=1e-6)
    lt.params_ = pd.Series(fitted.params_)
    np.testing.assert_allclose(
        fitted.expected_spend(cdnow["frequency"], cdnow["monetary_value"]),
        lt.conditional_expected_average_profit(cdnow["frequency"], cdnow["monetary_value"]),
        rtol=1e-8)


def test_expected_spend_without_repeat_is_population_mean(fitted: GammaGamma) -> None:
    p, q, v = (fitted.params_[k] for k in ("p", "q", "v"))
    assert fitted.expected_spend(0, 0.0) == pytest.approx(p * v / (q - 1))


def test_individual_log_likelihood_sums_to_total(cdnow: pd.DataFrame, fitted: GammaGamma) -> None:
    ll = fitted.log_likelihood_individual(cdnow["frequency"], cdnow["monetary_value"])
    assert ll.sum() == pytest.approx(fitted.log_likelihood_, rel=1e-12)
