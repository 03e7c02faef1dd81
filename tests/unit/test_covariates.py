"""BG/NBD and Pareto/NBD with covariates: parameter recovery on simulated data, the base models
without covariates, rate ratios, predictions, save/load and located input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.datasets.synthetic import simulate_bgnbd, simulate_paretonbd
from clvlab.errors import DataQualityWarning, DataValidationError, ParameterError
from clvlab.models import BetaGeoCovariates, ParetoNBD, ParetoNBDCovariates, load_model

N = 4000
COVS = ["detractor", "neg_share"]
BG_TRUE = {"r": 0.8, "alpha": 6.0, "a": 0.8, "b": 2.5,
           "purchase:detractor": 0.5, "purchase:neg_share": -0.6,
           "dropout_a:detractor": 0.7, "dropout_a:neg_share": 0.0,
           "dropout_b:detractor": -0.3, "dropout_b:neg_share": 0.4}
PARETO_TRUE = {"r": 0.8, "alpha": 6.0, "s": 0.6, "beta": 8.0,
               "purchase:detractor": 0.5, "purchase:neg_share": -0.6,
               "dropout:detractor": 0.8, "dropout:neg_share": 0.5}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


def _covariates(seed: int) -> pd.DataFrame:
    """A binary and a continuous covariate, indexed like the simulators' customer ids."""
    rng = np.random.default_rng(seed)
    index = pd.Index([str(i) for i in range(N)], name="customer_id")
    return pd.DataFrame({"detractor": (rng.random(N) < 0.4).astype(float),
                         "neg_share": rng.random(N)}, index=index)


def _eta(z: pd.DataFrame, true: dict[str, float], prefix: str) -> np.ndarray:
    return np.asarray(sum(true[f"{prefix}:{c}"] * z[c].to_numpy() for c in COVS), dtype=float)


@pytest.fixture(scope="module")
def bg_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    z = _covariates(11)
    t = BG_TRUE
    rfm = simulate_bgnbd(N, r=t["r"], alpha=t["alpha"] * np.exp(-_eta(z, t, "purchase")),
                         a=t["a"] * np.exp(_eta(z, t, "dropout_a")),
                         b=t["b"] * np.exp(_eta(z, t, "dropout_b")),
                         T=np.random.default_rng(12).uniform(26, 52, N), seed=13)
    return rfm, z


@pytest.fixture(scope="module")
def pareto_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    z = _covariates(21)
    t = PARETO_TRUE
    rfm = simulate_paretonbd(N, r=t["r"], alpha=t["alpha"] * np.exp(-_eta(z, t, "purchase")),
                             s=t["s"], beta=t["beta"] * np.exp(-_eta(z, t, "dropout")),
                             T=np.random.default_rng(22).uniform(26, 52, N), seed=23)
    return rfm, z


@pytest.fixture(scope="module")
def bg_fit(bg_data: tuple[pd.DataFrame, pd.DataFrame]) -> BetaGeoCovariates:
    rfm, z = bg_data
    return BetaGeoCovariates(purchase_covariates=COVS, dropout_covariates=COVS).fit(rfm, covariates=z)


@pytest.fixture(scope="module")
def pareto_fit(pareto_data: tuple[pd.DataFrame, pd.DataFrame]) -> ParetoNBDCovariates:
    rfm, z = pareto_data
    return ParetoNBDCovariates(purchase_covariates=COVS, dropout_covariates=COVS).fit(rfm, covariates=z)


@pytest.mark.parametrize(("name", "true"), [("bg_fit", BG_TRUE), ("pareto_fit", PARETO_TRUE)])
def test_recovers_simulated_parameters_within_three_standard_errors(
        name: str, true: dict[str, float], request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(name)
    assert model.fit_status_.ok
    assert list(model.params_) == list(true)
    for key, value in true.items():
        se = model.standard_errors_[key]
        assert 0 < se < 0.5 * max(1.0, abs(value)), key  # informative, not just wide
        assert abs(model.params_[key] - value) < 3 * se, (key, model.params_[key], value, se)


def test_pareto_dropout_ratio_is_exp_of_the_coefficient_with_a_wald_interval(
        pareto_fit: ParetoNBDCovariates) -> None:
    ratio = pareto_fit.rate_ratio("dropout", {"detractor": 1}, {"detractor": 0})
    gamma, se = pareto_fit.params_["dropout:detractor"], pareto_fit.standard_errors_["dropout:detractor"]
    assert ratio.ratio == pytest.approx(np.exp(gamma), rel=1e-9)
    assert ratio.lower == pytest.approx(np.exp(gamma - 1.959963984540054 * se), rel=1e-5)
    assert ratio.upper == pytest.approx(np.exp(gamma + 1.959963984540054 * se), rel=1e-5)
    assert ratio.lower < np.exp(PARETO_TRUE["dropout:detractor"]) < ratio.upper
    text = ratio.describe("a detractor", "a promoter")
    assert text.startswith(f"a detractor's expected dropout rate is {ratio.ratio:.2f} times a promoter's (95% CI ")


def test_bg_dropout_ratio_is_the_ratio_of_mean_dropout_probabilities(bg_fit: BetaGeoCovariates) -> None:
    ratio = bg_fit.rate_ratio("dropout", {"detractor": 1, "neg_share": 0.5},
                              {"detractor": 0, "neg_share": 0.5})
    p = bg_fit.params_
    a1, b1 = p["a"] * np.exp(p["dropout_a:detractor"] + 0.5 * p["dropout_a:neg_share"]), \
        p["b"] * np.exp(p["dropout_b:detractor"] + 0.5 * p["dropout_b:neg_share"])
    a0, b0 = p["a"] * np.exp(0.5 * p["dropout_a:neg_share"]), p["b"] * np.exp(0.5 * p["dropout_b:neg_share"])
    assert ratio.ratio == pytest.approx((a1 / (a1 + b1)) / (a0 / (a0 + b0)), rel=1e-9)
    t = BG_TRUE
    ta1, tb1 = t["a"] * np.exp(0.7 + 0.0), t["b"] * np.exp(-0.3 + 0.2)
    ta0, tb0 = t["a"], t["b"] * np.exp(0.2)
    assert ratio.lower < (ta1 / (ta1 + tb1)) / (ta0 / (ta0 + tb0)) < ratio.upper
    assert ratio.quantity == "dropout probability after a purchase"


def test_constant_covariate_columns_are_zero_coefficients_and_the_base_likelihood(
        cdnow: pd.DataFrame) -> None:
    """A covariate that is 0 for everyone leaves the likelihood of the base model."""
    z = pd.DataFrame({"zero": np.zeros(len(cdnow))}, index=cdnow.index)
    model = ParetoNBDCovariates(dropout_covariates=["zero"])
    ll_fn = model._row_terms({"r": 0.5, "alpha": np.full(len(cdnow), 10.0), "s": 0.6, "beta": 11.0},
                             *(cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")),
                             {"group": z["zero"].to_numpy()})[0]
    base = ParetoNBD()
    base.params_ = {"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 11.0}
    np.testing.assert_allclose(ll_fn, base.log_likelihood_individual(cdnow["frequency"], cdnow["recency"],
                                                                     cdnow["T"]), rtol=1e-12)


@pytest.mark.parametrize(("model_name", "data_name"), [("bg_fit", "bg_data"), ("pareto_fit", "pareto_data")])
def test_predictions_per_customer_use_each_customers_covariates(
        model_name: str, data_name: str, request: pytest.FixtureRequest) -> None:
    """All rows at once equal the base model at each customer's own parameters (``at``)."""
    model = request.getfixturevalue(model_name)
    rfm, z = request.getfixturevalue(data_name)
    head, zh = rfm.iloc[:50], z.iloc[:50]
    pa = model.probability_alive(head["frequency"], head["recency"], head["T"], covariates=zh)
    ce = model.conditional_expected_purchases(10.0, head["frequency"], head["recency"], head["T"],
                                              covariates=zh)
    checked = 0
    for i in range(50):
        one = model.at(**zh.iloc[i].to_dict())
        row = head.iloc[i]
        assert pa[i] == pytest.approx(one.probability_alive(row["frequency"], row["recency"], row["T"]),
                                      rel=1e-9)
        assert ce[i] == pytest.approx(
            one.conditional_expected_purchases(10.0, row["frequency"], row["recency"], row["T"]), rel=1e-9)
        checked += row["frequency"] > 0
    assert 0 < checked < 50  # buyers and non-buyers both compared
    ll = model.log_likelihood_individual(rfm["frequency"], rfm["recency"], rfm["T"], covariates=z)
    assert float(np.sum(ll)) == pytest.approx(model.log_likelihood_, rel=1e-9)


def test_save_load_round_trip(bg_fit: BetaGeoCovariates, tmp_path: Path) -> None:
    path = tmp_path / "bg_cov.json"
    bg_fit.save(path)
    loaded = load_model(path)
    assert isinstance(loaded, BetaGeoCovariates)
    assert loaded.params_ == bg_fit.params_
    assert loaded.covariate_means_ == bg_fit.covariate_means_
    assert loaded.rate_ratio("dropout", {"detractor": 1}, {"detractor": 0}) == \
        bg_fit.rate_ratio("dropout", {"detractor": 1}, {"detractor": 0})
    assert list(loaded.summary().index) == list(BG_TRUE)


def test_missing_covariate_values_are_located_by_customer(
        pareto_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rfm, z = pareto_data
    model = ParetoNBDCovariates(dropout_covariates=["detractor"])
    with pytest.raises(DataValidationError, match="customer 3") as info:
        model.fit(rfm, covariates=z.drop(index="3"))
    assert "column 'detractor'" in str(info.value)
    with pytest.raises(DataValidationError, match="needs 'nps'"):
        ParetoNBDCovariates(dropout_covariates=["nps"]).fit(rfm, covariates=z)


def test_bad_hyperparameters_and_unknown_covariates_are_parameter_errors(
        pareto_fit: ParetoNBDCovariates, cdnow: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="'dropout_covariates' parameter of ParetoNBDCovariates"):
        ParetoNBDCovariates(dropout_covariates="detractor").fit(cdnow)
    with pytest.raises(ParameterError, match=r"unknown covariate\(s\) \['nps'\]"):
        pareto_fit.rate_ratio("dropout", {"nps": 1}, {})



@pytest.mark.parametrize("model_name", ["bg_fit", "pareto_fit"])
def test_a_profiles_covariance_is_the_delta_method_of_the_full_one(model_name: str,
                                                                   request: pytest.FixtureRequest) -> None:
    """``at()``'s covariance equals J Sigma J' with J from central differences of the profile's
    parameters in the full parameter vector (independent of the closed form in the code)."""
    model = request.getfixturevalue(model_name)
    profile = {"detractor": 1.0, "neg_share": 0.3}
    one = model.at(**profile)
    names = list(model.params_)
    base_names = list(one.params_)
    theta = np.array([model.params_[k] for k in names])
    jac = np.zeros((len(base_names), len(names)))
    for j in range(len(names)):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        p_up = model._individual(dict(zip(names, up, strict=True)), profile)
        p_down = model._individual(dict(zip(names, down, strict=True)), profile)
        jac[:, j] = [(float(p_up[k]) - float(p_down[k])) / (2 * h) for k in base_names]
    sigma = model.covariance_.loc[names, names].to_numpy()
    expected = jac @ sigma @ jac.T
    np.testing.assert_allclose(one.covariance_.loc[base_names, base_names].to_numpy(), expected, rtol=1e-5,
                               atol=1e-12)
    assert one.standard_errors_ == pytest.approx({k: float(np.sqrt(expected[i, i]))
                                                  for i, k in enumerate(base_names)}, rel=1e-5)


def test_scores_with_covariates_are_each_profiles_base_model_scores(
        pareto_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """score_customers with a covariate model scores each covariate profile with its own base
    model (``at``) and that model's interval: the same numbers as scoring the profile's
    customers alone with ``at(profile)``."""
    from clvlab import GammaGamma, score_customers

    rfm, z = pareto_data
    spends = np.random.default_rng(5).gamma(4.0, 5.0, len(rfm))
    rfm = rfm.assign(monetary_value=np.where(rfm["frequency"] > 0, spends, 0.0))
    rfm.attrs["freq"] = "W"
    model = ParetoNBDCovariates(purchase_covariates=["detractor"], dropout_covariates=["detractor"]).fit(
        rfm, covariates=z)
    with pytest.warns(DataQualityWarning, match="left out"):  # the one-time buyers
        spend = GammaGamma().fit(rfm)
    scored = score_customers(rfm, model, spend, covariates=z[["detractor"]], n_draws=50)
    assert scored.attrs["model"] == "ParetoNBDCovariates"
    columns = ["p_alive", "expected_purchases", "expected_spend", "clv", "clv_lower", "clv_upper"]
    for flag in (0.0, 1.0):
        rows = z.index[z["detractor"] == flag]
        alone = score_customers(rfm.loc[rows], model.at(detractor=flag), spend, n_draws=50)
        pd.testing.assert_frame_equal(scored.loc[rows, columns], alone[columns], rtol=1e-9)
        assert alone["clv_lower"].notna().all()  # the profile's covariance gives an interval
    detractors = scored.loc[z.index[z["detractor"] == 1.0], "p_alive"].mean()
    promoters = scored.loc[z.index[z["detractor"] == 0.0], "p_alive"].mean()
    assert detractors < promoters  # simulated with a faster dropout for detractors
    with pytest.raises(ParameterError, match="covariates"):
        score_customers(rfm, ParetoNBD().fit(rfm), spend, covariates=z)
    with pytest.raises(DataValidationError, match="detractor"):
        score_customers(rfm, model, spend)  # the RFM frame has no covariate columns
