"""clvlab.score_customers / customer_lifetime_value: golden CLV against lifetimes 0.11.3 on the
CDNOW sample (Fader, Hardie and Lee 2005 summary, weeks), intervals, parameter checks."""

from __future__ import annotations

import copy
import warnings

import lifetimes
import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifetimes.utils import _customer_lifetime_value

import clvlab
import clvlab.value._expected as expected_mod
import clvlab.value._interval as interval_mod
from clvlab.datasets.synthetic import simulate_bgnbd
from clvlab.errors import DataQualityWarning, DataValidationError, NotFittedError, ParameterError
from clvlab.value.segments import share_below

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
    ours = expected_mod.purchases(bg, f, r, T, ends, divisors).discounted
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
    bg = clvlab.BetaGeo().fit(monthly)  # the same numbers read as months: the model remembers months
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
    days = rfm.copy()
    days.attrs["freq"] = "D"
    daily = clvlab.score_customers(days, clvlab.BetaGeo().fit(days), horizon=10, n_draws=0)
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
    monkeypatch.setattr(interval_mod, "MAX_EXACT_INTERVAL_ROWS", 10)
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
    bg = clvlab.BetaGeo().fit(monthly)  # the same numbers read as months: the models remember months
    gg = clvlab.GammaGamma().fit(monthly[monthly["frequency"] > 0])
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


# ---- the scoring path against a straightforward reference ---------------------------------
def reference_scores(rfm: pd.DataFrame, model: object, spend_model: object, *, horizon_days: float,
                     rate: float, margin: float, days_per_period: float) -> dict[str, np.ndarray]:
    """Per customer, per monthly step, through the models' public methods only: E[N(t_k)] for
    each step end, differences discounted by (1 + rate)^(t_k / 365.25)."""
    f, r, T, m = (rfm[c].to_numpy() for c in COLS)
    month = 365.25 / 12
    n_steps = int(np.ceil(horizon_days / month - 1e-9))
    ends = np.minimum(np.arange(1, n_steps + 1) * month, horizon_days)
    cum = np.column_stack([
        np.asarray(model.conditional_expected_purchases(t / days_per_period, f, r, T))  # type: ignore[attr-defined]
        for t in ends])
    disc = np.diff(cum, axis=1, prepend=0.0) @ (1.0 / (1.0 + rate) ** (ends / 365.25))
    if spend_model is None:
        spend = np.where(f > 0, m, m[f > 0].mean())
    else:
        spend = np.asarray(spend_model.expected_spend(f, m))  # type: ignore[attr-defined]
    return {"p_alive": np.asarray(model.probability_alive(f, r, T)),  # type: ignore[attr-defined]
            "expected_purchases": cum[:, -1], "expected_spend": spend,
            "clv": margin * spend * disc}


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
@pytest.mark.parametrize("with_spend", [True, False])
def test_scores_match_the_straightforward_reference(
    rfm: pd.DataFrame, gg: clvlab.GammaGamma, name: str, with_spend: bool
) -> None:
    """score_customers computes per distinct (x, T) pair and per customer's P(alive); the
    figures equal the per-customer, per-step reference to 1e-12."""
    small = rfm.iloc[::4]
    model = getattr(clvlab, name)().fit(rfm)
    spend = gg if with_spend else None
    s = clvlab.score_customers(small, model, spend, horizon=400, discount_rate=0.15,
                               margin=0.3, n_draws=0)
    ref = reference_scores(small, model, spend, horizon_days=400, rate=0.15, margin=0.3,
                           days_per_period=7.0)
    for column, expected in ref.items():
        np.testing.assert_allclose(s[column].to_numpy(), expected, rtol=1e-12, err_msg=column)


def test_exact_interval_matches_the_reference_quantiles(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo, gg: clvlab.GammaGamma
) -> None:
    """Up to MAX_EXACT_INTERVAL_ROWS distinct rows the bounds are each customer's quantiles of
    CLV over the same seeded parameter draws, recomputed here customer by customer."""
    small = rfm.iloc[:300]
    s = clvlab.score_customers(small, bg, gg, n_draws=40, seed=5)
    rng = np.random.default_rng(5)
    draws = interval_mod.draw_params(bg, 40, rng).params
    spend_draws = interval_mod.draw_params(gg, 40, rng).params
    assert draws is not None
    assert spend_draws is not None
    values = []
    for p, q in zip(draws, spend_draws, strict=True):
        model, spend = copy.copy(bg), copy.copy(gg)
        model.params_, spend.params_ = p, q
        values.append(reference_scores(small, model, spend, horizon_days=365, rate=0.1,
                                       margin=1.0, days_per_period=7.0)["clv"])
    lo, hi = np.quantile(np.array(values), [0.05, 0.95], axis=0)
    np.testing.assert_allclose(s["clv_lower"], np.minimum(lo, s["clv"]), rtol=1e-10)
    np.testing.assert_allclose(s["clv_upper"], np.maximum(hi, s["clv"]), rtol=1e-10)
    assert s.attrs["clv_interval"].startswith("parameter uncertainty only")
    assert s.attrs["clv_interval_note"] is None
    assert s.attrs["clv_interval_failed_draws"] == 0


# ---- the interval never collapses silently (issue 7, A10) ---------------------------------
def test_boundary_fit_gives_no_interval_with_a_warning_not_a_collapse() -> None:
    """A BG/NBD fit at the a -> 0 boundary (almost no dropout) has a covariance with a negative
    variance (NaN standard error of b). Drawing from it gave extreme draws whose CLV was NaN,
    replaced by the point: 76 of 500 customers had clv_lower == clv == clv_upper, silently.
    Now: no interval (NaN), with a warning that says why."""
    data = simulate_bgnbd(500, r=0.5, alpha=5.0, a=0.02, b=50.0, T=52.0, seed=10)
    data["monetary_value"] = np.where(data["frequency"] > 0, 20.0, 0.0)
    data.attrs["freq"] = "W"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fit's own boundary report is not tested here
        model = clvlab.BetaGeo().fit(data)
    assert model.covariance_.loc["b", "b"] < 0
    with pytest.warns(DataQualityWarning, match="negative variances .*b"):
        s = clvlab.score_customers(data, model, n_draws=200)
    collapsed = (s["clv_lower"] == s["clv"]) & (s["clv_upper"] == s["clv"])
    assert not collapsed.any()
    assert s["clv_lower"].isna().all()
    assert s["clv_upper"].isna().all()
    assert s["clv"].notna().all()
    assert "boundary" in s.attrs["clv_interval_note"]


def test_failed_draws_are_dropped_and_counted(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    """A wide covariance puts some draws where the CLV is not finite: they are dropped (not
    counted as the point estimate), and the warning and attrs give their number."""
    model = copy.copy(bg)
    model.covariance_ = bg.covariance_ * 1e4
    with pytest.warns(DataQualityWarning, match=r"3 of 200 parameter draws gave no finite CLV"):
        s = clvlab.score_customers(rfm, model, n_draws=200)
    assert s.attrs["clv_interval_failed_draws"] == 3
    assert s["clv_lower"].notna().all()
    assert (s["clv_upper"] > s["clv_lower"]).all()


def test_too_many_failed_draws_give_nan_bounds(rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    """When a customer loses more than one tail's share of the draws, its bounds are NaN."""
    model = copy.copy(bg)
    model.covariance_ = bg.covariance_ * 1e5
    with pytest.warns(DataQualityWarning, match="have no interval"):
        s = clvlab.score_customers(rfm, model, n_draws=200)
    assert s["clv_lower"].isna().all()
    assert s["clv_upper"].isna().all()


def test_share_below_counts_strictly_smaller_values() -> None:
    """Hash-and-count ranks equal np.unique's, with -0.0 == 0.0, whole numbers and floats."""
    rng = np.random.default_rng(1)
    for values in (np.array([0.0, -0.0, 1.5, -0.0, 2.0, -3.5]), rng.integers(0, 9, 500) * 1.0,
                   np.round(rng.gamma(2.0, 30.0, 500), 2) * (rng.random(500) > 0.5),
                   -np.floor(rng.random(500) * 365) / 7):
        _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        expected = (np.cumsum(counts) - counts)[inverse] / len(values)
        np.testing.assert_array_equal(share_below(values), expected)


def test_other_models_take_the_per_row_path_with_the_same_figures(
    rfm: pd.DataFrame, bg: clvlab.BetaGeo, gg: clvlab.GammaGamma
) -> None:
    """A model the scoring does not know (here a subclass, which could override anything) is
    scored per distinct (x, t_x, T) row without assuming the P(alive) factorisation; for
    BG/NBD itself both paths give the same figures."""

    class OwnBetaGeo(clvlab.BetaGeo):
        pass

    own = OwnBetaGeo()
    own.params_, own.covariance_ = dict(bg.params_), bg.covariance_
    small = rfm.iloc[::3]
    assert not expected_mod.factored(own)
    theirs = clvlab.score_customers(small, own, gg, n_draws=20)
    ours = clvlab.score_customers(small, bg, gg, n_draws=20)
    for column in ("p_alive", "expected_purchases", "clv", "clv_lower", "clv_upper"):
        np.testing.assert_allclose(theirs[column], ours[column], rtol=1e-12, err_msg=column)


def test_library_fit_records_the_unit_and_scoring_refuses_another() -> None:
    """A model fitted from Python on a weekly RFM frame remembers weeks; scoring it on a daily frame
    is refused, not silently 7x off (issue 7, A2)."""
    from clvlab.datasets import load_cdnow

    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(load_cdnow("sample"))
        weekly = clvlab.rfm_summary(ws, freq="W", observation_end="1997-09-30")
        daily = clvlab.rfm_summary(ws, freq="D", observation_end="1997-09-30")
    bg = clvlab.BetaGeo().fit(weekly)
    assert bg.time_unit_ == "W"
    with pytest.warns(DataQualityWarning, match="left out"):
        assert clvlab.GammaGamma().fit(weekly).time_unit_ == "W"
    with pytest.raises(clvlab.DataValidationError, match="week"):
        clvlab.score_customers(daily, bg, horizon=365)
