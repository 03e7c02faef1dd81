"""clvlab.evaluate_holdout: metrics on hand-made predictions, and BG/NBD on the CDNOW sample
(Fader, Hardie and Lee 2005: 39-week calibration to 1997-09-30, holdout weeks 40-78)."""

from __future__ import annotations

from typing import Any, ClassVar

import lifetimes
import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import DataValidationError, ParameterError
from clvlab.value.evaluation import gini


class Fixed:
    """A stand-in model whose holdout predictions are given."""

    params_: ClassVar[dict[str, float]] = {"k": 1.0}

    def __init__(self, predicted: list[float]) -> None:
        self.predicted = np.asarray(predicted, dtype=float)

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        return self.predicted

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        return np.ones_like(self.predicted)


def toy_cal(actual: list[float]) -> pd.DataFrame:
    n = len(actual)
    return pd.DataFrame({
        "frequency_cal": np.arange(n, dtype=float), "recency_cal": np.arange(n, dtype=float),
        "T_cal": np.full(n, 10.0 + n), "frequency_holdout": actual, "duration_holdout": 5.0,
    })


def test_metrics_by_hand() -> None:
    """pred 4,3,2,1 vs actual 2,2,0,0: errors 2,1,2,1 -> MAE 1.5, RMSE sqrt(2.5); totals 10 vs 4
    (+150%); halves: top mean pred 3.5, actual 2, lift 2/1 = 2; bottom lift 0."""
    res = clvlab.evaluate_holdout(Fixed([4, 3, 2, 1]), toy_cal([2, 2, 0, 0]), n_bins=2)
    assert res["n_customers"] == 4
    assert res["actual_total"] == 4.0
    assert res["predicted_total"] == 10.0
    assert res["total_error_pct"] == pytest.approx(150.0)
    assert res["mae"] == pytest.approx(1.5)
    assert res["rmse"] == pytest.approx(np.sqrt(2.5))
    assert res["correlation"] == pytest.approx(np.corrcoef([4, 3, 2, 1], [2, 2, 0, 0])[0, 1])
    assert res["deciles"] == [
        {"decile": 1, "n": 2, "predicted_mean": 3.5, "actual_mean": 2.0, "lift": 2.0},
        {"decile": 2, "n": 2, "predicted_mean": 1.5, "actual_mean": 0.0, "lift": 0.0},
    ]
    assert res["gini"] == pytest.approx(1.0)
    assert [g["frequency_cal"] for g in res["by_frequency"]] == [0, 1, 2, 3]


def test_gini_by_hand() -> None:
    """Actual 0,0,1,3 (total 4). Perfect order (3; 1; 0,0 tied): Lorenz points (.25,.75),
    (.5,1), (1,1), area .09375 + .21875 + .5 = .8125, Gini .3125 -> normalised 1. Reversed
    order: -1. One tie group: the diagonal, 0."""
    actual = np.array([0.0, 0.0, 1.0, 3.0])
    assert gini(actual, actual) == pytest.approx(1.0)
    assert gini(-actual, actual) == pytest.approx(-1.0)
    assert gini(np.ones(4), actual) == pytest.approx(0.0)
    # 3 first, the three others tied: Lorenz (.25,.75), (1,1): area .09375 + .65625 = .75,
    # Gini .25, normalised .25 / .3125 = .8
    assert gini(np.array([0.0, 0.0, 0.0, 1.0]), actual) == pytest.approx(0.8)


@pytest.fixture(scope="module")
def cdnow_cal() -> pd.DataFrame:
    tx = clvlab.datasets.load_cdnow("sample")
    return clvlab.calibration_holdout(tx, calibration_end="1997-09-30",
                                      observation_end="1998-06-30", freq="W", exact=True)


@pytest.fixture(scope="module")
def fitted(cdnow_cal: pd.DataFrame) -> tuple[clvlab.BetaGeo, clvlab.GammaGamma]:
    rfm = cdnow_cal.rename(columns=lambda c: c.removesuffix("_cal"))
    bg = clvlab.BetaGeo().fit(rfm)
    gg = clvlab.GammaGamma().fit(rfm[rfm["frequency"] > 0])
    return bg, gg


@pytest.mark.slow
def test_cdnow_bgnbd_holdout(cdnow_cal: pd.DataFrame, fitted: tuple[Any, Any]) -> None:
    """BG/NBD on the CDNOW sample: the fit is the paper's (r=0.243, alpha=4.414, a=0.793,
    b=2.426); predicted holdout total = lifetimes' conditional expectation summed (same params);
    actual total = distinct purchase days after 1997-09-30 counted from the raw log; 1,411 of
    2,357 customers made no repeat purchase in calibration (Fader, Hardie and Lee 2005)."""
    bg, _ = fitted
    assert [round(bg.params_[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    res = clvlab.evaluate_holdout(bg, cdnow_cal)

    reference = lifetimes.BetaGeoFitter()
    reference.params_ = pd.Series(bg.params_)
    expected = reference.conditional_expected_number_of_purchases_up_to_time(
        39.0, cdnow_cal["frequency_cal"], cdnow_cal["recency_cal"], cdnow_cal["T_cal"])
    assert res["predicted_total"] == pytest.approx(float(np.sum(expected)), rel=1e-9)

    tx = clvlab.datasets.load_cdnow("sample")
    hold = tx[(tx["ordered_at"] > "1997-09-30") & (tx["ordered_at"] <= "1998-06-30")]
    assert res["actual_total"] == hold.groupby("customer_id")["ordered_at"].nunique().sum()
    assert res["n_customers"] == 2357
    assert res["by_frequency"][0]["frequency_cal"] == 0
    assert res["by_frequency"][0]["n"] == 1411
    # conditional expectations track the actual means for every calibration frequency
    for row in res["by_frequency"]:
        assert row["predicted_mean"] == pytest.approx(row["actual_mean"], rel=0.35)
    # the model ranks customers: top decile buys several times the average, the Gini is high
    assert res["deciles"][0]["lift"] > 3
    assert sum(d["n"] for d in res["deciles"]) == 2357
    assert 0.5 < res["gini"] < 1
    assert 0.5 < res["correlation"] < 1


def test_cdnow_revenue_with_gamma_gamma(cdnow_cal: pd.DataFrame, fitted: tuple[Any, Any]) -> None:
    """Gamma-Gamma on the repeaters gives the paper's p=6.25, q=3.74, v=15.44; revenue metrics are
    purchases x expected spend against frequency_holdout x monetary_value_holdout."""
    bg, gg = fitted
    assert [round(gg.params_[k], 2) for k in ("p", "q", "v")] == [6.25, 3.74, 15.44]
    res = clvlab.evaluate_holdout(bg, cdnow_cal, spend_model=gg)
    rev = res["revenue"]
    actual = cdnow_cal["frequency_holdout"] * cdnow_cal["monetary_value_holdout"]
    assert rev["actual_total"] == pytest.approx(actual.sum())
    # the real holdout revenue, summed from the raw log (several rows on one day happen): the
    # holdout spend is per purchase day, as in calibration (issue 7, A3)
    tx = clvlab.datasets.load_cdnow("sample")
    hold = tx[(tx.ordered_at > "1997-09-30") & (tx.ordered_at <= "1998-06-30")]
    assert rev["actual_total"] == pytest.approx(float(hold.amount.sum()), rel=1e-9)
    predicted = bg.conditional_expected_purchases(
        cdnow_cal["duration_holdout"], cdnow_cal["frequency_cal"], cdnow_cal["recency_cal"],
        cdnow_cal["T_cal"]) * gg.expected_spend(cdnow_cal["frequency_cal"],
                                                  cdnow_cal["monetary_value_cal"])
    assert rev["predicted_total"] == pytest.approx(float(np.sum(predicted)), rel=1e-12)
    assert len(rev["deciles"]) == 10
    assert res["spend_model"] == "GammaGamma"


def test_bad_input(cdnow_cal: pd.DataFrame, fitted: tuple[Any, Any]) -> None:
    bg, _ = fitted
    with pytest.raises(ParameterError) as info:
        clvlab.evaluate_holdout(bg, cdnow_cal, n_bins=1)
    assert str(info.value) == (
        "The 'n_bins' parameter of evaluate_holdout must be an int >= 2. Got 1 instead."
    )
    with pytest.raises(ParameterError, match=r"an int in \[2, 4\]"):
        clvlab.evaluate_holdout(Fixed([1, 2, 3, 4]), toy_cal([0, 1, 0, 1]), n_bins=5)
    with pytest.raises(DataValidationError, match="lacks the column"):
        clvlab.evaluate_holdout(bg, cdnow_cal.drop(columns="duration_holdout"))
    with pytest.raises(DataValidationError, match=r"\['monetary_value_holdout'\]"):
        clvlab.evaluate_holdout(bg, cdnow_cal.drop(columns="monetary_value_holdout"),
                                spend_model=fitted[1])
