"""clvlab.score_customers / customer_lifetime_value: golden CLV against lifetimes 0.11.3 on the
CDNOW sample (Fader, Hardie and Lee 2005 summary, weeks), intervals, parameter checks."""

from __future__ import annotations

import copy

import lifetimes
import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifetimes.utils import _customer_lifetime_value

import clvlab
import clvlab.value.score as score_mod
from clvlab.errors import DataValidationError, NotFittedError, ParameterError

COLS = ["frequency", "recency", "T", "monetary_value"]


@pytest.fixture(scope="module")
def rfm() -> pd.DataFrame:
    frame = clvlab.datasets.load_cdnow_summary()
    frame.attrs["freq"] = "W"
    return frame


@pytest.fixture(scope="module")
def bg(rfm: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(rfm)


def lifetimes_bg(params: dict[str, float]) -> lifetimes.BetaGeoFitter:
    """lifetimes' BG/NBD set to the same parameters (no refit: the comparison is of the CLV sum)."""
    model = lifetimes.BetaGeoFitter()
    model.params_ = pd.Series(params)
    model.predict = model.conditional_expected_number_of_purchases_up_to_time  # set by fit()
    return model


def test_discounted_purchases_match_lifetimes_clv_with_its_monthly_convention(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo
) -> None:
    """lifetimes' customer_lifetime_value (12 steps of 4.345 weeks, 1% per step) is
    m * sum_k (E[N(t_k)] - E[N(t_k-1)]) / 1.01^k: our sum configured identically matches to 1e-6."""
    f, r, T, m = (rfm[c].to_numpy() for c in COLS)
    ends = 4.345 * np.arange(1, 13, dtype=np.float64)
    divisors = np.power(1.01, np.arange(1, 13, dtype=np.float64))
    ours, _ = score_mod._discounted_purchases(bg, f, r, T, ends, divisors)
    theirs = _customer_lifetime_value(lifetimes_bg(bg.params_), rfm["frequency"], rfm["recency"],
                                      rfm["T"], rfm["monetary_value"], time=12,
                                      discount_rate=0.01, freq="W")
    np.testing.assert_allclose(m * ours, theirs.to_numpy(), rtol=1e-6, atol=1e-9)


def test_public_clv_matches_lifetimes_with_monthly_periods(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    """With freq='M' a year (365.25 days) is 12 whole periods and an annual rate d is the monthly
    rate (1+d)^(1/12)-1 per period, which is lifetimes' convention with freq='M': equal to 1e-6.
    Without a spend model, customers with frequency 0 spend the mean monetary value of repeaters."""
    monthly = rfm.copy()
    monthly.attrs["freq"] = "M"
    ours = clvlab.customer_lifetime_value(bg, None, monthly, horizon=365.25, discount_rate=0.1)
    repeat = rfm["frequency"] > 0
    spend = rfm["monetary_value"].where(repeat, rfm.loc[repeat, "monetary_value"].mean())
    theirs = _customer_lifetime_value(lifetimes_bg(bg.params_), rfm["frequency"], rfm["recency"],
                                      rfm["T"], spend, time=12,
                                      discount_rate=1.1 ** (1 / 12) - 1, freq="M")
    assert ours.name == "clv"
    assert ours.index.equals(rfm.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-6)


def test_no_discount_clv_is_margin_times_expected_revenue(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    """discount_rate=0: the steps telescope to E[N(horizon)] * spend * margin."""
    s = clvlab.score_customers(rfm, bg, horizon=100, discount_rate=0.0, margin=0.3, n_draws=0)
    np.testing.assert_allclose(s["clv"], 0.3 * s["expected_revenue"], rtol=1e-12)
    np.testing.assert_allclose(s["expected_revenue"], s["expected_purchases"] * s["expected_spend"])


def test_horizon_is_in_days(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    """70 days on a weekly summary is 10 weeks of the model's conditional expectation."""
    s = clvlab.score_customers(rfm, bg, horizon=70, n_draws=0)
    expected = bg.conditional_expected_purchases(10.0, rfm["frequency"], rfm["recency"], rfm["T"])
    np.testing.assert_allclose(s["expected_purchases"], expected, rtol=1e-12)
    np.testing.assert_allclose(s["p_alive"], bg.probability_alive(rfm["frequency"], rfm["recency"],
                                                                  rfm["T"]), rtol=1e-12)
    daily = clvlab.score_customers(rfm, bg, horizon=10, freq="D", n_draws=0)
    np.testing.assert_allclose(
        daily["expected_purchases"],
        bg.conditional_expected_purchases(10.0, rfm["frequency"], rfm["recency"], rfm["T"]),
        rtol=1e-12,
    )


def test_discounting_lowers_clv_and_longer_horizon_raises_it(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    low = clvlab.customer_lifetime_value(bg, None, rfm, horizon=365, discount_rate=0.0)
    high = clvlab.customer_lifetime_value(bg, None, rfm, horizon=365, discount_rate=0.5)
    longer = clvlab.customer_lifetime_value(bg, None, rfm, horizon=730, discount_rate=0.5)
    assert (high < low).all()
    assert (longer > high).all()


def test_score_columns_index_and_attrs(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    s = clvlab.score_customers(rfm, bg, n_draws=20)
    assert list(s.columns) == [
        *COLS, "p_alive", "expected_purchases", "expected_spend", "expected_revenue", "clv",
        "clv_lower", "clv_upper", "r_score", "f_score", "m_score", "rfm_score", "segment",
    ]
    assert s.index.equals(rfm.index)
    pd.testing.assert_frame_equal(s[COLS], rfm[COLS], check_dtype=False)
    assert s.attrs["horizon_days"] == 365.0
    assert s.attrs["freq"] == "W"
    assert s.attrs["model"] == "BetaGeo"
    assert s.attrs["model_params"] == pytest.approx(bg.params_)
    assert s.attrs["spend_model"] is None
    seg = clvlab.rfm_segments(rfm)
    assert (s["segment"].to_numpy() == seg["segment"].to_numpy()).all()


def test_interval_contains_point_and_is_reproducible(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    a = clvlab.score_customers(rfm, bg, n_draws=100, seed=3)
    b = clvlab.score_customers(rfm, bg, n_draws=100, seed=3)
    c = clvlab.score_customers(rfm, bg, n_draws=100, seed=4)
    assert ((a["clv_lower"] <= a["clv"]) & (a["clv"] <= a["clv_upper"])).all()
    assert (a["clv_upper"] > a["clv_lower"]).all()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["clv_upper"], c["clv_upper"])


def test_interval_shrinks_with_more_data(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    """Four times the customers (weights=4, same histories): same estimates, covariance / 4,
    so the interval halves (up to the Monte Carlo noise of the same seeded draws)."""
    bigger = clvlab.BetaGeo().fit(rfm.assign(weights=4.0))
    assert bigger.params_ == pytest.approx(bg.params_, rel=1e-4)
    small = clvlab.score_customers(rfm, bg, n_draws=200)
    large = clvlab.score_customers(rfm, bigger, n_draws=200)
    ratio = (large["clv_upper"] - large["clv_lower"]) / (small["clv_upper"] - small["clv_lower"])
    assert 0.4 < ratio.median() < 0.6
    assert (ratio < 0.8).mean() > 0.95


def test_grid_interval_is_close_to_the_exact_one(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above MAX_EXACT_INTERVAL_ROWS the relative interval comes from grid cells."""
    exact = clvlab.score_customers(rfm, bg, n_draws=100)
    monkeypatch.setattr(score_mod, "MAX_EXACT_INTERVAL_ROWS", 10)
    grid = clvlab.score_customers(rfm, bg, n_draws=100)
    pd.testing.assert_series_equal(grid["clv"], exact["clv"])
    rel = (grid["clv_upper"] - grid["clv_lower"]) / (exact["clv_upper"] - exact["clv_lower"])
    assert abs(rel.median() - 1) < 0.1
    assert ((rel > 0.5) & (rel < 2)).mean() > 0.9


def test_no_covariance_gives_nan_interval(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    model = copy.copy(bg)
    model.covariance_ = bg.covariance_ * np.nan
    s = clvlab.score_customers(rfm, model, n_draws=10)
    assert s["clv_lower"].isna().all()
    assert s["clv_upper"].isna().all()
    assert s["clv"].notna().all()


def test_polars_input(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    frame = pl.from_pandas(rfm.reset_index())
    s = clvlab.score_customers(frame, bg, freq="W", n_draws=0)
    expected = clvlab.score_customers(rfm, bg, n_draws=0)
    assert list(s.index) == list(rfm.index)
    np.testing.assert_allclose(s["clv"], expected["clv"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discount_rate": 5}, "The 'discount_rate' parameter of score_customers must be a float in [0, 1). Got 5 instead."),
        ({"horizon": -1}, "The 'horizon' parameter of score_customers must be a float > 0 (days). Got -1 instead."),
        ({"margin": 0}, "The 'margin' parameter of score_customers must be a float in (0, 1]. Got 0 instead."),
        ({"interval": 1.0}, "The 'interval' parameter of score_customers must be a float in (0, 1). Got 1.0 instead."),
        ({"n_draws": -3}, "The 'n_draws' parameter of score_customers must be an int >= 0. Got -3 instead."),
        ({"seed": "x"}, "The 'seed' parameter of score_customers must be an int >= 0 or None. Got 'x' instead."),
        ({"freq": "Y"}, "The 'freq' parameter of score_customers must be one of 'D', 'W', 'M'. Got 'Y' instead."),
    ],
)
def test_bad_parameters_give_sklearn_form_message(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ParameterError) as info:
        clvlab.score_customers(rfm, bg, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_freq_needed_when_rfm_has_no_attrs(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    bare = pd.DataFrame(rfm[COLS].to_numpy(), columns=COLS)
    with pytest.raises(ParameterError, match="no attrs\\['freq'\\]"):
        clvlab.customer_lifetime_value(bg, None, bare)


def test_bad_models_and_data(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        clvlab.score_customers(rfm, clvlab.BetaGeo())
    with pytest.raises(ParameterError, match="'model' parameter of score_customers"):
        clvlab.score_customers(rfm, object())
    with pytest.raises(ParameterError, match="'spend_model' parameter of score_customers"):
        clvlab.score_customers(rfm, bg, bg)
    with pytest.raises(DataValidationError, match=r"lacks the column\(s\) \['monetary_value'\]"):
        clvlab.score_customers(rfm.drop(columns="monetary_value"), bg)
    broken = rfm.copy()
    broken.loc[broken.index[5], "recency"] = 99.0
    with pytest.raises(DataValidationError, match=rf"'customer {broken.index[5]}', column 'recency', value 99\.0"):
        clvlab.score_customers(broken, bg)


@pytest.fixture(scope="module")
def gg(rfm: pd.DataFrame) -> clvlab.GammaGamma:
    return clvlab.GammaGamma().fit(rfm[rfm["frequency"] > 0])


def test_clv_with_gamma_gamma_matches_lifetimes(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo, gg: clvlab.GammaGamma
) -> None:
    """Same convention as above (freq='M', 12 periods, monthly rate (1.1)^(1/12)-1) through
    lifetimes' GammaGammaFitter.customer_lifetime_value with the same parameters: equal to 1e-6,
    with margin 0.25 applied on our side."""
    monthly = rfm.copy()
    monthly.attrs["freq"] = "M"
    ours = clvlab.customer_lifetime_value(bg, gg, monthly, horizon=365.25, discount_rate=0.1,
                                          margin=0.25)
    reference = lifetimes.GammaGammaFitter()
    reference.params_ = pd.Series(gg.params_)
    theirs = reference.customer_lifetime_value(
        lifetimes_bg(bg.params_), rfm["frequency"], rfm["recency"], rfm["T"],
        rfm["monetary_value"], time=12, discount_rate=1.1 ** (1 / 12) - 1, freq="M")
    np.testing.assert_allclose(ours.to_numpy(), 0.25 * theirs.to_numpy(), rtol=1e-6)


def test_spend_model_scores_and_interval(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo, gg: clvlab.GammaGamma
) -> None:
    s = clvlab.score_customers(rfm, bg, gg, n_draws=100)
    spend = gg.expected_spend(rfm["frequency"], rfm["monetary_value"])
    np.testing.assert_allclose(s["expected_spend"], spend, rtol=1e-12)
    assert ((s["clv_lower"] <= s["clv"]) & (s["clv"] <= s["clv_upper"])).all()
    alone = clvlab.score_customers(rfm, bg, n_draws=100)
    # the spend parameters' uncertainty widens the relative interval of new customers
    zero = rfm["frequency"] == 0
    width = ((s["clv_upper"] - s["clv_lower"]) / s["clv"])[zero]
    width_alone = ((alone["clv_upper"] - alone["clv_lower"]) / alone["clv"])[zero]
    assert (width > width_alone).all()
    assert s.attrs["spend_model"] == "GammaGamma"
    assert s.attrs["spend_model_params"] == pytest.approx(gg.params_)


@pytest.mark.parametrize("name", ["ModifiedBetaGeo", "ParetoNBD"])
def test_other_continuous_models(rfm: pd.DataFrame, name: str) -> None:
    """Every continuous BTYD model scores through the same contract."""
    model = getattr(clvlab, name)().fit(rfm)
    s = clvlab.score_customers(rfm, model, n_draws=30, horizon=70)
    expected = model.conditional_expected_purchases(10.0, rfm["frequency"], rfm["recency"], rfm["T"])
    np.testing.assert_allclose(s["expected_purchases"], expected, rtol=1e-12)
    assert s["p_alive"].between(0, 1).all()
    assert ((s["clv_lower"] <= s["clv"]) & (s["clv"] <= s["clv_upper"])).all()
    assert s.attrs["model"] == name
