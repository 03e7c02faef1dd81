"""Estimator contract for the discrete-time models (BG/BB, sBG): scikit-learn conventions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clvlab.errors import DataValidationError, NotFittedError, ParameterError
from clvlab.models import load_model
from clvlab.models._base import BaseModel
from clvlab.models.beta_geo_beta_binom import BetaGeoBetaBinom
from clvlab.models.shifted_beta_geo import ShiftedBetaGeo


def _simulate_bgbb(seed: int, n_customers: int, n_periods: int) -> pd.DataFrame:
    """BG/BB histories: p ~ Beta(1.2, 0.75), death before each opportunity w.p. theta."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 0.75, n_customers)[:, None]
    theta = rng.beta(0.66, 2.8, n_customers)[:, None]
    alive = np.cumprod(rng.random((n_customers, n_periods)) >= theta, axis=1).astype(bool)
    buys = alive & (rng.random((n_customers, n_periods)) < p)
    last = np.where(buys.any(axis=1), n_periods - np.argmax(buys[:, ::-1], axis=1), 0)
    return pd.DataFrame({"frequency": buys.sum(axis=1), "recency": last, "n_periods": n_periods})


def _bgbb_data() -> dict[str, Any]:
    return {"data": _simulate_bgbb(1, 3000, 6)}


def _bgbb_other() -> dict[str, Any]:
    frame = _simulate_bgbb(2, 2000, 4)
    return {"frequency": frame["frequency"], "recency": frame["recency"],
            "n_periods": frame["n_periods"]}


def _sbg_data() -> dict[str, Any]:
    return {"data": pd.DataFrame({"recency": [1, 2, 3, 5, 5, 4], "T": [5] * 6,
                                  "weights": [40, 20, 10, 30, 0, 5]})}


def _sbg_other() -> dict[str, Any]:
    return {"survival": [500, 300, 220, 180, 160]}


#: class -> (fit kwargs, different fit kwargs, bad fit kwargs and the located message)
CASES: dict[type[BaseModel], tuple[Callable[[], dict[str, Any]], Callable[[], dict[str, Any]],
                                   dict[str, Any], str]] = {
    BetaGeoBetaBinom: (_bgbb_data, _bgbb_other,
                       {"frequency": [1, 1, 3], "recency": [1, 2, 2], "n_periods": [6, 6, 6]},
                       r"row 3, column 'frequency', value 3\.0"),
    ShiftedBetaGeo: (_sbg_data, _sbg_other, {"recency": [1, 2, 6], "T": [5, 5, 5]},
                     r"row 3, column 'recency', value 6\.0"),
}
MODELS = list(CASES)


@pytest.mark.parametrize("cls", MODELS)
def test_fit_returns_self_with_fitted_attributes(cls: type[BaseModel]) -> None:
    model = cls()
    assert model.fit(**CASES[cls][0]()) is model  # type: ignore[attr-defined]
    assert set(model.params_) == set(cls.param_names)
    assert all(v > 0 for v in model.params_.values())
    assert np.isfinite(model.log_likelihood_)
    assert set(model.summary().index) == set(cls.param_names)


@pytest.mark.parametrize("cls", MODELS)
def test_unfitted_raises_not_fitted_error(cls: type[BaseModel]) -> None:
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted yet"):
        cls().summary()
    with pytest.raises(AttributeError):
        cls().to_dict()


@pytest.mark.parametrize("cls", MODELS)
def test_get_set_params_round_trip(cls: type[BaseModel]) -> None:
    model = cls(penalizer=0.01)
    assert model.get_params() == {"penalizer": 0.01}
    clone = cls(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert model.set_params(penalizer=0.0) is model
    assert model.penalizer == 0.0
    with pytest.raises(ParameterError, match="Invalid parameter 'alpha'"):
        model.set_params(alpha=1.0)


@pytest.mark.parametrize("cls", MODELS)
def test_refit_equals_fresh_fit(cls: type[BaseModel]) -> None:
    data, other, *_ = CASES[cls]
    model = cls().fit(**other()).fit(**data())  # type: ignore[attr-defined]
    fresh = cls().fit(**data())  # type: ignore[attr-defined]
    assert model.params_ == pytest.approx(fresh.params_, rel=1e-12)
    assert model.log_likelihood_ == pytest.approx(fresh.log_likelihood_, rel=1e-12)
    assert model.n_customers_ == fresh.n_customers_


@pytest.mark.parametrize("cls", MODELS)
def test_save_load_round_trip(cls: type[BaseModel], tmp_path: Path) -> None:
    model = cls().fit(**CASES[cls][0]())  # type: ignore[attr-defined]
    path = tmp_path / "model.json"
    model.save(path)
    for loaded in (cls.load(path), load_model(path)):
        assert type(loaded) is cls
        assert loaded.params_ == model.params_
        assert loaded.log_likelihood_ == model.log_likelihood_
        pd.testing.assert_frame_equal(loaded.summary(), model.summary())


def test_loaded_models_predict_the_same(tmp_path: Path) -> None:
    bgbb = BetaGeoBetaBinom().fit(**_bgbb_data())
    bgbb.save(tmp_path / "bgbb.json")
    again = BetaGeoBetaBinom.load(tmp_path / "bgbb.json")
    assert again.probability_alive(2, 3, 6) == bgbb.probability_alive(2, 3, 6)
    sbg = ShiftedBetaGeo().fit(**_sbg_data())
    sbg.save(tmp_path / "sbg.json")
    assert ShiftedBetaGeo.load(tmp_path / "sbg.json").survival(4) == sbg.survival(4)
    with pytest.raises(DataValidationError, match="holds a 'ShiftedBetaGeo' model"):
        BetaGeoBetaBinom.load(tmp_path / "sbg.json")


@pytest.mark.parametrize("cls", MODELS)
def test_bad_input_names_row_and_column(cls: type[BaseModel]) -> None:
    _, _, bad, message = CASES[cls]
    with pytest.raises(DataValidationError, match=message):
        cls().fit(**bad)  # type: ignore[attr-defined]
    with pytest.raises(DataValidationError, match=r"row 2, column 'recency', value .*nan.*not a finite number"):
        cls().fit(pd.DataFrame({  # type: ignore[attr-defined]
            k: [1.0, np.nan] if k == "recency" else [1.0, 1.0]
            for k in ("frequency", "recency", "n_periods", "T")}))


@pytest.mark.parametrize("cls", MODELS)
def test_bad_penalizer_is_a_parameter_error(cls: type[BaseModel]) -> None:
    with pytest.raises(ParameterError, match="'penalizer' parameter"):
        cls(penalizer=-1.0).fit(**CASES[cls][0]())  # type: ignore[attr-defined]
