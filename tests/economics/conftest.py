"""Every figure from either source of rows: the transactions, or a run's purchase days held in
the engine (clvlab.value.cohorts.purchase_rows reads those inside a run when they stand for the
transactions exactly)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import pytest

from clvlab.lifecycle._features import purchase_days, shared_features
from clvlab.value.cohorts import purchase_rows


@contextmanager
def _held(ws: Any) -> Iterator[None]:
    with shared_features():
        purchase_days(ws, "test")  # as a run holds them
        rows, *_ = purchase_rows(ws, as_of=None, where="test")
        assert "first_day" in rows.columns  # the figures below come from the held days
        yield


Reading = Callable[[Any], AbstractContextManager[None]]


@pytest.fixture(params=["transactions", "held purchase days"])
def reading(request: pytest.FixtureRequest) -> Reading:
    """A context in which the figures of a workspace are computed from the named rows."""
    return _held if request.param == "held purchase days" else (lambda ws: nullcontext())
