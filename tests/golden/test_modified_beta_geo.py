"""MBG/NBD golden values: Batislam, Denizel & Filiztekin (2007) model on the CDNOW sample."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from lifetimes import ModifiedBetaGeoFitter

from clvlab.datasets.synthetic import simulate_bgnbd
from clvlab.models.modified_beta_geo import ModifiedBetaGeo


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ModifiedBetaGeo:
    return ModifiedBetaGeo().fit(cdnow)


def test_params_match_design_values_cdnow(fitted: ModifiedBetaGeo) -> None:
    """DESIGN.md section 4 (MBG/NBD on CDNOW): r~0.525, alpha~6.183, a~0.891, b~1.614, LL~-9582.13."""
    got = fitted.params_
    assert got["r"] == pytest.approx(0.525, abs=5e-4)
    assert got["alpha"] == pytest.approx(6.183, abs=5e-4)
    assert got["a"] == pytest.approx(0.891, abs=5e-4)
    assert got["b"] == pytest.approx(1.614, abs=5e-4)
    assert fitted.log_likelihood_ == pytest.approx(-9582.13, abs=0.01)


def test_same_as_lifetimes_on_cdnow(cdnow: pd.DataFrame, fitted: ModifiedBetaGeo, lifetimes_ll: Callable[..., float]) -> None:
    """lifetimes 0.11.3 ModifiedBetaGeoFitter: LL to 1e-6, params to 1e-4, same predictions."""
    lt = ModifiedBetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in ("r", "alpha", "a", "b"):
        assert fitted.params_[name] == pytest.approx(lt.params_[name], rel=1e-4)
    assert fitted.log_likelihood_ == pytest.approx(lifetimes_ll(lt, cdnow, ("frequency", "recency", "T")),
                                                   rel=1e-6)
    lt.params_ = pd.Series(fitted.params_)
    f, r, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    np.testing.assert_allclose(fitted.probability_alive(f, r, t),
                               lt.conditional_probability_alive(f, r, t), rtol=1e-8)
    np.testing.assert_allclose(fitted.conditional_expected_purchases(39, f, r, t),
                               lt.conditional_expected_number_of_purchases_up_to_time(39, f, r, t),
                               rtol=1e-8)
    ts = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(fitted.expected_purchases(ts),
                               lt.expected_number_of_purchases_up_to_time(ts), rtol=1e-8)
    for n in range(5):
        assert fitted.probability_of_purchases(n, 39) == pytest.approx(
            lt.probability_of_n_purchases_up_to_time(39, n), rel=1e-7)


def test_individual_log_likelihood_sums_to_total(cdnow: pd.DataFrame,
                                                 fitted: ModifiedBetaGeo) -> None:
    ll = fitted.log_likelihood_individual(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert ll.sum() == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_same_as_lifetimes_on_simulated_data(lifetimes_ll: Callable[..., float]) -> None:
    """Seeded BG/NBD-simulated data: both MBG/NBD implementations find the same optimum."""
    data = simulate_bgnbd(5000, r=0.5, alpha=3.0, a=0.8, b=2.5,
                          T=np.random.default_rng(3).uniform(10, 60, 5000), seed=8)
    ours = ModifiedBetaGeo().fit(data)
    lt = ModifiedBetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(lt.params_[name], rel=1e-4)
    assert ours.log_likelihood_ == pytest.approx(lifetimes_ll(lt, data, ("frequency", "recency", "T")), rel=1e-6)
