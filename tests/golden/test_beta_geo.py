"""BG/NBD golden values: Fader, Hardie & Lee (2005), CDNOW sample, 39-week calibration."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter

from clvlab.datasets.synthetic import simulate_bgnbd
from clvlab.models.beta_geo import BetaGeo


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> BetaGeo:
    return BetaGeo().fit(cdnow)


def test_params_match_fader_hardie_lee_2005_cdnow(fitted: BetaGeo) -> None:
    """FHL 2005, section 4: r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4."""
    got = fitted.params_
    assert round(got["r"], 3) == 0.243
    assert round(got["alpha"], 3) == 4.414
    assert round(got["a"], 3) == 0.793
    assert round(got["b"], 3) == 2.426
    assert fitted.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert fitted.converged_


def test_conditional_expectation_fader_hardie_lee_2005_customer_x2(fitted: BetaGeo) -> None:
    """FHL 2005: the customer with x=2, t_x=30.43, T=38.86 is expected to buy 1.226 times in 39 weeks."""
    got = fitted.conditional_expected_purchases(39, frequency=2, recency=30.43, T=38.86)
    assert isinstance(got, float)
    assert round(got, 3) == 1.226


def test_same_as_lifetimes_on_cdnow(cdnow: pd.DataFrame, fitted: BetaGeo, lifetimes_ll: Callable[..., float]) -> None:
    """lifetimes 0.11.3 BetaGeoFitter: same LL (1e-6 rel), params (1e-4 rel), predictions."""
    lt = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in ("r", "alpha", "a", "b"):
        assert fitted.params_[name] == pytest.approx(lt.params_[name], rel=1e-4)
    lt_ll = lifetimes_ll(lt, cdnow, ("frequency", "recency", "T"))
    assert fitted.log_likelihood_ == pytest.approx(lt_ll, rel=1e-6)
    # predictions with *our* parameters through lifetimes' formulas
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


def test_individual_log_likelihood_sums_to_total(cdnow: pd.DataFrame, fitted: BetaGeo) -> None:
    ll = fitted.log_likelihood_individual(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert ll.sum() == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_same_as_lifetimes_on_simulated_data(lifetimes_ll: Callable[..., float]) -> None:
    """Simulated BG/NBD data (seeded): lifetimes and clvlab agree to 1e-6 LL, 1e-4 params."""
    data = simulate_bgnbd(5000, r=0.5, alpha=3.0, a=0.8, b=2.5,
                          T=np.random.default_rng(3).uniform(10, 60, 5000), seed=7)
    ours = BetaGeo().fit(data)
    lt = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(lt.params_[name], rel=1e-4)
    assert ours.log_likelihood_ == pytest.approx(lifetimes_ll(lt, data, ("frequency", "recency", "T")), rel=1e-6)


def test_weights_equal_repeated_rows(cdnow: pd.DataFrame, fitted: BetaGeo) -> None:
    """Fitting distinct rows with counts as weights is the same fit (FHL 2005 data)."""
    grouped = cdnow.groupby(["frequency", "recency", "T"], as_index=False).size()
    weighted = BetaGeo().fit(grouped, weights=grouped["size"])
    for name in ("r", "alpha", "a", "b"):
        assert weighted.params_[name] == pytest.approx(fitted.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-10)


@pytest.mark.slow
def test_large_simulated_fit_recovers_parameters() -> None:
    """200k simulated customers (seeded): estimates within 5% of the truth."""
    n = 200_000
    rng = np.random.default_rng(11)
    data = simulate_bgnbd(n, r=0.243, alpha=4.414, a=0.793, b=2.426,
                          T=(rng.integers(0, 365, n) + 182) / 7.0, seed=5)
    fit = BetaGeo().fit(data)
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in truth.items():
        assert fit.params_[name] == pytest.approx(value, rel=0.05)
    ll = fit.log_likelihood_individual(data["frequency"], data["recency"], data["T"])
    assert ll.sum() == pytest.approx(fit.log_likelihood_, rel=1e-9)
