"""Cohorts and unit economics are Ibis expressions: on PostgreSQL they equal the DuckDB workspace."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import numpy as np
import psycopg
import pytest

import clvlab
import clvlab.datasets as ds

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_transactions(pg_schema: str) -> Iterator[ibis.Table]:
    """CDNOW sample in ``<pg_schema>.transactions`` with the workspace's column types."""
    frame = ds.load_cdnow("sample")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(f"CREATE TABLE {pg_schema}.transactions (customer_id VARCHAR, ordered_at TIMESTAMP, "
                    "amount DECIMAL(18,4), is_refund BOOLEAN)")
        with con.cursor().copy(
            f"COPY {pg_schema}.transactions (customer_id, ordered_at, amount, is_refund) FROM STDIN"
        ) as copy:
            for cid, at, amount in frame[["customer_id", "ordered_at", "amount"]].itertuples(index=False):
                copy.write_row((cid, at.to_pydatetime(), amount, False))
    backend = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test", schema=pg_schema)
    try:
        yield backend.table("transactions")
    finally:
        backend.disconnect()


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
