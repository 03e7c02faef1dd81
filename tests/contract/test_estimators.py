"""One contract suite for every clvlab model (scikit-learn's check_estimator idea).

Each entry of ``SPECS`` says how to get fitting data, a prediction to compare, and bad inputs
(column, 0-based position, value) that ``fit`` must reject with a DataValidationError naming the
1-based row.
Adding a model = adding one entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clvlab.datasets import load_cdnow_summary, load_donations, load_sbg_cohorts
from clvlab.errors import DataValidationError, NotFittedError
from clvlab.models import MODEL_ALIASES
from clvlab.models._base import BaseModel, load_model

Data = dict[str, np.ndarray]


def _cdnow() -> Data:
    df = load_cdnow_summary()
    return {c: df[c].to_numpy() for c in ("frequency", "recency", "T")}


def _cdnow_spend() -> Data:
    df = load_cdnow_summary()
    rep = df[df["frequency"] > 0]
    return {c: rep[c].to_numpy() for c in ("frequency", "monetary_value")}


def _donations() -> Data:
    df = load_donations()
    return {c: df[c].to_numpy() for c in ("frequency", "recency", "n_periods", "weights")}


def _sbg() -> Data:
    df = load_sbg_cohorts()
    df = df[df["cohort"] == "regular"]
    return {c: df[c].to_numpy() for c in ("recency", "T")}


def _btyd_predict(model: Any, d: Data) -> np.ndarray:
    return np.concatenate([
        model.probability_alive(d["frequency"], d["recency"], d["T"]),
        model.conditional_expected_purchases(10.0, d["frequency"], d["recency"], d["T"]),
        np.atleast_1d(model.expected_purchases(np.array([1.0, 39.0]))),
        model.log_likelihood_individual(d["frequency"], d["recency"], d["T"]),
    ])


_BTYD_BAD = (("frequency", 3, np.nan), ("frequency", 3, -1.0), ("recency", 0, 1000.0))


@dataclass(frozen=True)
class Spec:
    """How the contract suite drives one model class."""

    data: Callable[[], Data]
    predict: Callable[[Any, Data], np.ndarray]
    bad: tuple[tuple[str, int, float], ...] = field(default=_BTYD_BAD)


SPECS: dict[str, Spec] = {
    "BetaGeo": Spec(_cdnow, _btyd_predict),
    "ModifiedBetaGeo": Spec(_cdnow, _btyd_predict),
    "ParetoNBD": Spec(_cdnow, _btyd_predict),
    # without covariates (the defaults) they are the base models; tests/unit/test_covariates.py
    # covers them with covariates
    "BetaGeoCovariates": Spec(_cdnow, _btyd_predict),
    "ParetoNBDCovariates": Spec(_cdnow, _btyd_predict),
    "GammaGamma": Spec(
        _cdnow_spend,
        lambda m, d: np.concatenate([m.expected_spend(d["frequency"], d["monetary_value"]),
                                     m.log_likelihood_individual(d["frequency"],
                                                                 d["monetary_value"])]),
        (("monetary_value", 3, np.nan), ("frequency", 3, -1.0), ("monetary_value", 0, -5.0)),
    ),
    "BetaGeoBetaBinom": Spec(
        _donations,
        lambda m, d: np.concatenate([m.probability_alive(d["frequency"], d["recency"],
                                                         d["n_periods"]),
                                     np.atleast_1d(m.expected_purchases(np.array([1.0, 5.0])))]),
        (("frequency", 3, np.nan), ("frequency", 3, -1.0), ("recency", 0, 99.0)),
    ),
    "ShiftedBetaGeo": Spec(
        _sbg,
        lambda m, d: np.atleast_1d(m.survival(np.arange(0, 8))),
        (("recency", 3, np.nan), ("recency", 3, -1.0), ("recency", 0, 99.0)),
    ),
}


def _model_class(name: str) -> type[BaseModel]:
    module = importlib.import_module(f"clvlab.models.{_MODULES[name]}")
    cls: type[BaseModel] = getattr(module, name)
    return cls


_MODULES = {
    "BetaGeo": "beta_geo",
    "ModifiedBetaGeo": "modified_beta_geo",
    "ParetoNBD": "pareto_nbd",
    "BetaGeoCovariates": "covariates",
    "ParetoNBDCovariates": "covariates",
    "GammaGamma": "gamma_gamma",
    "BetaGeoBetaBinom": "beta_geo_beta_binom",
    "ShiftedBetaGeo": "shifted_beta_geo",
}

NAMES = sorted(SPECS)


def _fit(name: str, **hyper: Any) -> tuple[BaseModel, Data]:
    data = SPECS[name].data()
    return _model_class(name)(**hyper).fit(**data), data


@pytest.fixture(scope="module", params=NAMES)
def fitted(request: pytest.FixtureRequest) -> tuple[str, BaseModel, Data]:
    name = request.param
    model, data = _fit(name)
    return name, model, data


def test_every_model_class_is_covered() -> None:
    """Every model the CLI knows has an entry here."""
    assert set(MODEL_ALIASES.values()) <= set(SPECS)


def test_fit_returns_self_and_sets_attributes(fitted: tuple[str, BaseModel, Data]) -> None:
    name, model, data = fitted
    again = _model_class(name)()
    assert again.fit(**data) is again
    assert set(model.params_) == set(type(model).param_names)
    assert np.isfinite(model.log_likelihood_)
    assert all(v > 0 for v in model.params_.values())


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_model_raises_not_fitted(name: str) -> None:
    model = _model_class(name)()
    with pytest.raises(NotFittedError,
                       match=f"^This {name} instance is not fitted yet. Call 'fit' first.$"):
        SPECS[name].predict(model, SPECS[name].data())
    with pytest.raises(NotFittedError):
        model.summary()


@pytest.mark.parametrize("name", NAMES)
def test_get_params_set_params_round_trip(name: str) -> None:
    cls = _model_class(name)
    model = cls(penalizer=0.01)
    params = model.get_params()
    assert params["penalizer"] == 0.01
    clone = cls(**params)
    assert clone.get_params() == params
    assert model.set_params(penalizer=0.0) is model
    assert model.get_params()["penalizer"] == 0.0


def test_refit_equals_fresh_fit(fitted: tuple[str, BaseModel, Data]) -> None:
    name, model, data = fitted
    spec = SPECS[name]
    other = _model_class(name)()
    other.fit(**data)
    other.fit(**data)  # refit on the same instance
    for key, value in model.params_.items():
        assert other.params_[key] == pytest.approx(value, rel=1e-9)
    np.testing.assert_allclose(spec.predict(other, data), spec.predict(model, data), rtol=1e-9)


def test_save_load_round_trip_gives_identical_predictions(
    fitted: tuple[str, BaseModel, Data], tmp_path: Path
) -> None:
    name, model, data = fitted
    path = tmp_path / f"{name}.json"
    model.save(path)
    for loaded in (type(model).load(path), load_model(path)):
        assert type(loaded) is type(model)
        assert loaded.params_ == model.params_
        np.testing.assert_array_equal(SPECS[name].predict(loaded, data),
                                      SPECS[name].predict(model, data))


@pytest.mark.parametrize(("name", "case"),
                         [(n, c) for n in NAMES for c in range(len(SPECS[n].bad))])
def test_bad_input_names_row_and_column(name: str, case: int) -> None:
    column, row, value = SPECS[name].bad[case]
    data = {k: v.astype(np.float64).copy() for k, v in SPECS[name].data().items()}
    data[column][row] = value
    with pytest.raises(DataValidationError) as info:
        _model_class(name)().fit(**data)
    text = str(info.value)
    assert f"row {row + 1}" in text
    assert f"column '{column}'" in text
