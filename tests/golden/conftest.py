"""Fixtures shared by the golden tests: the papers' CDNOW summary and lifetimes' own likelihood."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clvlab.datasets import load_cdnow_summary

LifetimesLL = Callable[[Any, pd.DataFrame, Sequence[str]], float]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The CDNOW sample summarised as in the papers (weeks, 39-week calibration)."""
    return load_cdnow_summary()


def _lifetimes_ll(lt: Any, data: pd.DataFrame, columns: Sequence[str]) -> float:
    """Total log-likelihood at a fitted lifetimes model's estimates, by lifetimes' own likelihood
    function (``params_`` in its own order, unit weights, no penalty)."""
    log_params = np.log(lt.params_.to_numpy(dtype=float))
    arrays = [data[c].to_numpy() for c in columns]
    mean_nll = lt._negative_log_likelihood(log_params, *arrays, np.ones(len(data)), 0.0)
    return -float(mean_nll) * len(data)


@pytest.fixture(scope="session")
def lifetimes_ll() -> LifetimesLL:
    """``lifetimes_ll(fitted_lifetimes_model, frame, columns)`` -> total log-likelihood."""
    return _lifetimes_ll
