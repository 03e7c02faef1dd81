"""clvlab.scale on DuckDB: fitting on the distinct rows the engine counts and scoring in the engine
give the in-memory run's model, parameters and scores exactly; errors are located."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.errors import DataValidationError
from clvlab.pipeline import run_clv

pytestmark = pytest.mark.slow

OPTIONS = {"freq": "W", "calibration_end": "1997-06-30", "observation_end": "1998-06-30"}


@pytest.fixture(scope="module")
def ws() -> Iterator[clvlab.Workspace]:
    with clvlab.connect(":memory:") as workspace:
        workspace.load_transactions(load_cdnow("sample"))
        yield workspace


def test_scores_in_the_engine_equal_the_in_memory_run(ws: clvlab.Workspace) -> None:
    """Same chosen model, same parameters bit for bit, same scores; only distinct rows came back."""
    expected = run_clv(ws, **OPTIONS)
    run = clvlab.run_clv_at_scale(ws, scores_table="scale_scores", **OPTIONS)
    assert run.best == expected.best
    assert run.model.params_ == expected.model.params_
    assert run.spend_model.params_ == expected.spend_model.params_
    assert run.rows_collected["frequency_recency_T"] < len(expected.rfm) / 2
    stored = ws.table("scale_scores").execute().set_index("customer_id").sort_index()
    assert stored.index.tolist() == expected.scores.index.tolist()
    for column in ("p_alive", "expected_purchases", "expected_spend", "expected_revenue", "clv"):
        np.testing.assert_allclose(stored[column], expected.scores[column], rtol=1e-12, err_msg=column)
    assert run.n_customers == len(expected.scores)
    assert run.total_clv == pytest.approx(float(expected.scores["clv"].sum()), rel=1e-12)
    assert set(stored["model"]) == {expected.best}


def test_a_missing_table_is_named(ws: clvlab.Workspace) -> None:
    with pytest.raises(DataValidationError, match=r"no table 'warehouse\.orders'"):
        clvlab.run_clv_at_scale(ws, table="warehouse.orders", **OPTIONS)
