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
from clvlab.data.workspace import Workspace
from clvlab.features.rfm import rfm_expression
from clvlab.lifecycle._features import customer_features, purchase_days
from clvlab.scale import spend_rows
from clvlab.value.cohorts import cohort_table
from clvlab.value.economics import unit_economics
from clvlab.voc.metrics import feedback_metrics

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]  # one worker, one Spark session

AS_OF = dt.date(1998, 6, 30)

Feature = Callable[[Any], pd.DataFrame]


def _spend_bins(ws: Any) -> pd.DataFrame:
    """The Gamma-Gamma rows of a run at scale beyond its cap (bins of log mean spend): the same
    on every engine, so the binned fit is too."""
    rfm = rfm_expression(ws.table("transactions"), freq="W", observation_end="1998-06-30", where="test")
    return spend_rows(rfm.filter((rfm.frequency > 0) & (rfm.monetary_value > 0)), 10**9, cap=0)[0]


FEATURES: dict[str, Feature] = {  # each reads a workspace on one engine
    "rfm_summary W": lambda ws: clvlab.rfm_summary(ws, freq="W", observation_end=AS_OF),
    "rfm_summary D": lambda ws: clvlab.rfm_summary(ws, freq="D"),
    "calibration_holdout": lambda ws: clvlab.calibration_holdout(
        ws, calibration_end="1997-09-30", observation_end=AS_OF, freq="W"),
    "nps by store": lambda ws: feedback_metrics(ws.table("feedback"), metric="nps", by="store_id"),
    "csat by month": lambda ws: feedback_metrics(ws.table("feedback"), metric="csat", by=(), period="month"),
    "cohorts by month": lambda ws: cohort_table(ws, period="month", as_of=AS_OF),
    "economics by cohort": lambda ws: unit_economics(ws, by=("cohort",), period="quarter", as_of=AS_OF, cac=False),
    "stage features": lambda ws: customer_features(purchase_days(ws, "test"), AS_OF, 90),
    "Gamma-Gamma spend bins": _spend_bins,
}


@pytest.fixture
def postgres_ws(demo_duckdb: Any, pg_schema: str, pg_transactions_table: Any) -> Iterator[Workspace]:
    """A workspace over a fresh PostgreSQL schema holding copies of the demo tables."""
    tx = demo_duckdb.table("transactions").select("customer_id", "ordered_at", "amount").execute()
    with pg_transactions_table(pg_schema, tx) as transactions:
        backend = transactions.get_backend()
        backend.create_table("feedback", demo_duckdb.table("feedback").execute())
        yield Workspace(backend, url=f"postgres schema {pg_schema}")


def _run_all(ws: Any) -> dict[str, pd.DataFrame]:
    return {name: feature(ws) for name, feature in FEATURES.items()}


def _assert_same(engine: str, got: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame]) -> None:
    for name, expected in reference.items():
        frame = got[name]
        assert len(expected) > 0, name
        pd.testing.assert_frame_equal(frame.reset_index(), expected.reset_index(), check_dtype=False,
                                      rtol=1e-9, obj=f"{name} on {engine}")


@pytest.fixture(scope="module")
def duckdb_results(demo_duckdb: Any) -> dict[str, pd.DataFrame]:
    return _run_all(demo_duckdb)


@pytest.mark.postgres
def test_postgres_equals_duckdb(postgres_ws: Workspace, duckdb_results: dict[str, pd.DataFrame]) -> None:
    """RFM, calibration/holdout, NPS/CSAT, cohorts, economics, stage features and the
    Gamma-Gamma spend bins on PostgreSQL equal DuckDB's."""
    _assert_same("postgres", _run_all(postgres_ws), duckdb_results)


def test_spark_equals_duckdb(spark_ws: Any, duckdb_results: dict[str, pd.DataFrame]) -> None:
    """The same features on Spark (local mode) equal DuckDB's, row for row."""
    _assert_same("spark", _run_all(spark_ws), duckdb_results)
