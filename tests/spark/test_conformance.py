"""Every feature gives the same rows on DuckDB, PostgreSQL and Spark (the demo data, row for row).

DuckDB is the reference: the same Ibis expressions run on the other engines over copies of its
tables, and their results must equal it (floats to 1e-9 relative).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

import clvlab
from clvlab.lifecycle._features import customer_features, purchase_days
from clvlab.value.cohorts import cohort_table
from clvlab.voc.metrics import feedback_metrics

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]  # one worker, one Spark session

AS_OF = dt.date(1998, 6, 30)

Feature = Callable[[dict[str, Any]], pd.DataFrame]
FEATURES: dict[str, Feature] = {
    "rfm_summary W": lambda t: clvlab.rfm_summary(t["transactions"], freq="W", observation_end=AS_OF),
    "rfm_summary D exact": lambda t: clvlab.rfm_summary(t["transactions"], freq="D"),
    "calibration_holdout": lambda t: clvlab.calibration_holdout(
        t["transactions"], calibration_end="1997-09-30", observation_end=AS_OF, freq="W"),
    "nps by store": lambda t: feedback_metrics(t["feedback"], metric="nps", by="store_id"),
    "csat by month": lambda t: feedback_metrics(t["feedback"], metric="csat", by=(), period="month"),
    "cohorts by month": lambda t: cohort_table(t["transactions"], period="month", as_of=AS_OF),
    "stage features": lambda t: customer_features(purchase_days(t["transactions"], "test"), AS_OF, 90),
}


@pytest.fixture
def postgres_tables(demo_duckdb: Any, pg_schema: str, pg_transactions_table: Any) -> Iterator[dict[str, Any]]:
    """The demo tables copied into a fresh PostgreSQL schema."""
    tx = demo_duckdb.table("transactions").select("customer_id", "ordered_at", "amount").execute()
    with pg_transactions_table(pg_schema, tx) as transactions:
        backend = transactions.get_backend()
        feedback = backend.create_table("feedback", demo_duckdb.table("feedback").execute())
        yield {"transactions": transactions, "feedback": feedback}


def _run_all(tables: dict[str, Any]) -> dict[str, pd.DataFrame]:
    return {name: feature(tables) for name, feature in FEATURES.items()}


def _assert_same(engine: str, got: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame]) -> None:
    for name, expected in reference.items():
        frame = got[name]
        assert len(expected) > 0, name
        pd.testing.assert_frame_equal(frame.reset_index(), expected.reset_index(), check_dtype=False,
                                      rtol=1e-9, obj=f"{name} on {engine}")


@pytest.fixture(scope="module")
def duckdb_results(demo_duckdb: Any) -> dict[str, pd.DataFrame]:
    return _run_all({name: demo_duckdb.table(name) for name in ("transactions", "feedback")})


@pytest.mark.postgres
def test_postgres_equals_duckdb(postgres_tables: dict[str, Any], duckdb_results: dict[str, pd.DataFrame]) -> None:
    """RFM, calibration/holdout, NPS/CSAT, cohorts and stage features on PostgreSQL equal DuckDB's."""
    _assert_same("postgres", _run_all(postgres_tables), duckdb_results)


def test_spark_equals_duckdb(spark_ws: Any, duckdb_results: dict[str, pd.DataFrame]) -> None:
    """The same features on Spark (local mode) equal DuckDB's, row for row."""
    _assert_same("spark", _run_all({name: spark_ws.table(name) for name in ("transactions", "feedback")}),
                 duckdb_results)
