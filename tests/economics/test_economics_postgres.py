"""Cohorts and unit economics are Ibis expressions: on PostgreSQL they equal the DuckDB workspace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ibis
import numpy as np
import pytest

import clvlab
import clvlab.datasets as ds

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_transactions(pg_schema: str, pg_transactions_table: Any) -> Iterator[ibis.Table]:
    """CDNOW sample in ``<pg_schema>.transactions`` with the workspace's column types."""
    frame = ds.load_cdnow("sample")
    with pg_transactions_table(pg_schema, frame) as table:
        yield table


def test_postgres_equals_duckdb(pg_transactions: ibis.Table) -> None:
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(ds.load_cdnow("sample"))
        for axis in ("age", "rolling", "calendar"):
            for period in ("week", "quarter"):
                pg = clvlab.cohort_matrix(pg_transactions, period=period, axis=axis, metric="revenue_per_customer")
                duck = clvlab.cohort_matrix(ws, period=period, axis=axis, metric="revenue_per_customer")
                np.testing.assert_allclose(pg.to_numpy(float), duck.to_numpy(float), rtol=1e-9)
        pg_econ = clvlab.unit_economics(pg_transactions, by=("cohort",), cac=False)
        duck_econ = clvlab.unit_economics(ws, by=("cohort",), cac=False)
    numbers = ["customers", "orders", "revenue", "aov", "purchase_frequency", "repurchase_rate", "churn_rate",
               "formula_clv"]
    np.testing.assert_allclose(pg_econ[numbers].to_numpy(float), duck_econ[numbers].to_numpy(float), rtol=1e-9)
