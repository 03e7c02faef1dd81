"""BG/BB goldens: Fader, Hardie & Shang (2010) on the 11,104 donors, and lifetimes 0.11.3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from clvlab.datasets import load_donations
from clvlab.errors import DataValidationError, NotFittedError, ParameterError
from clvlab.models.beta_geo_beta_binom import BetaGeoBetaBinom

PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "cdnow" / "donations.csv")
    return frame.rename(columns={"periods": "n_periods"})


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> BetaGeoBetaBinom:
    return BetaGeoBetaBinom().fit(donations)


def test_params_match_fader_hardie_shang_2010_donations(fitted: BetaGeoBetaBinom) -> None:
    """FHS 2010, Section 3 (1995 cohort, 6 opportunities): alpha, beta, gamma, delta to 3 dp."""
    for name, value in PAPER.items():
        assert fitted.params_[name] == pytest.approx(value, abs=5e-4), name
    assert fitted.converged_
    assert fitted.n_customers_ == 11104
    assert fitted.n_rows_ == 22


def test_log_likelihood_matches_fader_hardie_shang_2010(fitted: BetaGeoBetaBinom) -> None:
    """FHS 2010 report LL = -33,225.6 at the MLE."""
    assert fitted.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)


def test_bundled_loader_gives_the_same_fit(fitted: BetaGeoBetaBinom) -> None:
    model = BetaGeoBetaBinom().fit(load_donations())
    assert model.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_fit_matches_lifetimes_0113(donations: pd.DataFrame, fitted: BetaGeoBetaBinom) -> None:
    """lifetimes' BetaGeoBetaBinomFitter on the same data: LL 1e-6 relative, params 1e-4."""
    from lifetimes import BetaGeoBetaBinomFitter

    ref = BetaGeoBetaBinomFitter().fit(donations["frequency"], donations["recency"],
                                       donations["n_periods"], weights=donations["weights"])
    ll_ref = float((ref._loglikelihood(ref.params_.to_numpy(), donations["frequency"].to_numpy(),
                                       donations["recency"].to_numpy(),
                                       donations["n_periods"].to_numpy())
                    * donations["weights"]).sum())
    assert fitted.log_likelihood_ == pytest.approx(ll_ref, rel=1e-6)
    for name in PAPER:
        assert fitted.params_[name] == pytest.approx(float(ref.params_[name]), rel=1e-4), name


def test_predictions_match_lifetimes_at_same_params(donations: pd.DataFrame) -> None:
    """P(alive at n+1), E[X(n, n+m) | history] and P(X(n)=x) agree with lifetimes to 1e-6."""
    from lifetimes import BetaGeoBetaBinomFitter

    ref = BetaGeoBetaBinomFitter().fit(donations["frequency"], donations["recency"],
                                       donations["n_periods"], weights=donations["weights"])
    model = BetaGeoBetaBinom()
    model.params_ = {k: float(v) for k, v in ref.params_.items()}
    x, tx, n = (donations[c].to_numpy() for c in ("frequency", "recency", "n_periods"))
    np.testing.assert_allclose(model.probability_alive(x, tx, n),
                               ref.conditional_probability_alive(1, x, tx, n), rtol=1e-6)
    for m in (1, 5, 10):
        np.testing.assert_allclose(
            model.conditional_expected_purchases(m, x, tx, n),
            ref.conditional_expected_number_of_purchases_up_to_time(m, x, tx, n), rtol=1e-6)
    counts = ref.expected_number_of_transactions_in_first_n_periods(6)["model"]
    ours = model.probability_of_purchases(counts.index.to_numpy(), 6) * donations["weights"].sum()
    np.testing.assert_allclose(ours, counts.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.log_likelihood_individual(x, tx, n),
                               ref._loglikelihood(ref.params_.to_numpy(), x, tx, n), rtol=1e-9)


def test_probabilities_sum_to_one_and_mean_is_expected_purchases(fitted: BetaGeoBetaBinom) -> None:
    for n in (1, 6, 11):
        p = fitted.probability_of_purchases(np.arange(n + 1), n)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p @ np.arange(n + 1)) == pytest.approx(fitted.expected_purchases(n), rel=1e-10)
    assert fitted.probability_of_purchases(3, 2) == 0.0


def test_in_sample_fit_tracks_the_observed_frequency_histogram(
    donations: pd.DataFrame, fitted: BetaGeoBetaBinom
) -> None:
    """FHS 2010 in-sample check: predicted vs actual donors by number of repeat gifts, 1996-2001."""
    actual = donations.groupby("frequency")["weights"].sum().to_numpy()
    expected = fitted.probability_of_purchases(np.arange(7), 6) * actual.sum()
    np.testing.assert_allclose(expected, actual, rtol=0.06)


def test_log_likelihood_individual_sums_to_total(
    donations: pd.DataFrame, fitted: BetaGeoBetaBinom
) -> None:
    ll = fitted.log_likelihood_individual(donations["frequency"], donations["recency"],
                                          donations["n_periods"])
    assert float(ll @ donations["weights"]) == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_expanded_rows_equal_weighted_rows(donations: pd.DataFrame, fitted: BetaGeoBetaBinom) -> None:
    expanded = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    model = BetaGeoBetaBinom().fit(expanded)
    assert model.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-10)
    assert model.n_rows_ == 22


def test_polars_and_keyword_arrays(donations: pd.DataFrame, fitted: BetaGeoBetaBinom) -> None:
    import polars as pl

    via_polars = BetaGeoBetaBinom().fit(pl.from_pandas(donations))
    via_arrays = BetaGeoBetaBinom().fit(frequency=donations["frequency"], recency=donations["recency"],
                                        n_periods=donations["n_periods"], weights=donations["weights"])
    for model in (via_polars, via_arrays):
        assert model.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_dert_equals_direct_discounted_sum(fitted: BetaGeoBetaBinom) -> None:
    """DERT closed form (FHS 2010) against the sum over opportunities n+1, n+2, ..."""
    a, b, g, d = (fitted.params_[k] for k in ("alpha", "beta", "gamma", "delta"))
    x, tx, n = np.array([0, 1, 3, 6]), np.array([0, 1, 5, 6]), np.array([6, 6, 6, 6])
    rate = 0.1
    ll = fitted.log_likelihood_individual(x, tx, n)
    t = np.arange(1, 600)[:, None]
    terms = np.exp(betaln(a + x + 1, b + n - x) - betaln(a, b) + betaln(g, d + n + t)
                   - betaln(g, d) - ll) / (1 + rate) ** t
    direct = terms.sum(axis=0)
    np.testing.assert_allclose(
        fitted.discounted_expected_residual_transactions(x, tx, n, discount_rate=rate), direct,
        rtol=1e-9)
    # undiscounted over m opportunities it is the conditional expectation
    near_zero = fitted.discounted_expected_residual_transactions(6, 6, 6, discount_rate=1e-9)
    assert near_zero > fitted.conditional_expected_purchases(200, 6, 6, 6)


def test_gamma_equal_one_is_the_continuous_limit() -> None:
    models = []
    for g in (1 - 1e-7, 1.0, 1 + 1e-7):
        m = BetaGeoBetaBinom()
        m.params_ = {"alpha": 1.2, "beta": 0.75, "gamma": g, "delta": 2.8}
        models.append(m)
    values = [(m.expected_purchases(10), m.conditional_expected_purchases(5, 3, 4, 6)) for m in models]
    np.testing.assert_allclose(values[1], values[0], rtol=1e-6)
    np.testing.assert_allclose(values[1], values[2], rtol=1e-6)


def test_bad_history_names_row_and_column() -> None:
    frame = pd.DataFrame({"frequency": [1, 2, 0, 1], "recency": [1, 1, 0, 0], "n_periods": [6] * 4})
    with pytest.raises(DataValidationError, match=r"row 2, column 'frequency', value 2\.0.*<= recency"):
        BetaGeoBetaBinom().fit(frame)
    frame = pd.DataFrame({"frequency": [1, 1], "recency": [7, 1.5], "n_periods": [6, 6]})
    with pytest.raises(DataValidationError, match=r"row 2, column 'recency', value 1\.5.*whole"):
        BetaGeoBetaBinom().fit(frame)
    frame = pd.DataFrame({"frequency": [1, 1], "recency": [7, 1], "n_periods": [6, 6]})
    with pytest.raises(DataValidationError, match=r"row 1, column 'recency', value 7\.0.*<= n_periods"):
        BetaGeoBetaBinom().fit(frame)
    with pytest.raises(DataValidationError, match=r"row 1, column 'recency', value 2\.0.*exactly when"):
        BetaGeoBetaBinom().fit(frequency=[0], recency=[2], n_periods=[6])
    with pytest.raises(DataValidationError, match=r"row 2, column 'weights', value -1\.0"):
        BetaGeoBetaBinom().fit(frequency=[0, 1], recency=[0, 1], n_periods=[6, 6], weights=[1, -1])
    with pytest.raises(DataValidationError, match="needs 'n_periods'"):
        BetaGeoBetaBinom().fit(pd.DataFrame({"frequency": [1], "recency": [1]}))


def test_predictions_check_inputs_and_fit(fitted: BetaGeoBetaBinom) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        BetaGeoBetaBinom().probability_alive(1, 1, 6)
    with pytest.raises(DataValidationError, match="column 'recency'"):
        fitted.probability_alive([1, 2], [1, 7], 6)
    with pytest.raises(ParameterError, match="'discount_rate' parameter"):
        fitted.discounted_expected_residual_transactions(1, 1, 6, discount_rate=0)
    assert isinstance(fitted.probability_alive(1, 1, 6), float)
    p = fitted.probability_alive([0, 1, 6], [0, 1, 6], 6)
    assert p.shape == (3,)
    assert np.all((p > 0) & (p < 1))
    assert p[2] > max(p[0], p[1])
    # one early gift then silence says more about death than no gift at all
    assert p[1] < p[0]


def test_recovers_simulated_parameters_within_four_standard_errors() -> None:
    """Seeded simulation of the FHS 2010 story at the paper's estimates, 40,000 customers."""
    true = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    rng = np.random.default_rng(2010)
    size, n = 40_000, 6
    p = rng.beta(true["alpha"], true["beta"], size)[:, None]
    theta = rng.beta(true["gamma"], true["delta"], size)[:, None]
    alive = np.cumprod(rng.random((size, n)) >= theta, axis=1).astype(bool)  # dies before each
    buys = alive & (rng.random((size, n)) < p)
    last = np.where(buys.any(axis=1), n - np.argmax(buys[:, ::-1], axis=1), 0)
    model = BetaGeoBetaBinom().fit(frequency=buys.sum(axis=1), recency=last, n_periods=np.full(size, n))
    for name, value in true.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name
