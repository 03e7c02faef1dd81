"""The analysis reads a PostgreSQL workspace (Ibis) and gives the DuckDB answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest

import clvlab
from clvlab.data.workspace import Workspace


@pytest.mark.postgres
def test_analysis_on_postgres_matches_duckdb(shop: Path, pg_schema: str, pg_transactions_table: Any) -> None:
    with clvlab.connect(shop) as ws:
        clvlab.assign(ws, "pg", control=0.5, seed=4, assigned_at="1998-07-01")
        local = clvlab.analyze_experiment(ws, "pg", metrics=["retention", "spend"], bootstrap=0)
        tx = ws.table("transactions").select("customer_id", "ordered_at", "amount").execute()
        arms = ws.table("experiments").select("experiment_id", "customer_id", "arm", "assigned_at").execute()
    tx["ordered_at"] = pd.to_datetime(tx["ordered_at"])
    with pg_transactions_table(pg_schema, tx) as table:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
            con.execute(f"CREATE TABLE {pg_schema}.experiments (experiment_id VARCHAR, customer_id VARCHAR, "
                        "arm VARCHAR, assigned_at TIMESTAMP, stratum VARCHAR)")
            with con.cursor().copy(f"COPY {pg_schema}.experiments (experiment_id, customer_id, arm, assigned_at) "
                                   "FROM STDIN") as copy:
                for row in arms.itertuples(index=False):
                    copy.write_row((row.experiment_id, row.customer_id, row.arm, row.assigned_at.to_pydatetime()))
        remote = clvlab.analyze_experiment(Workspace(table._find_backend()), "pg", metrics=["retention", "spend"],
                                           bootstrap=0, control=0.5)
    cols = ["n_control", "n_treatment", "effect", "lower", "upper", "p_value"]
    pd.testing.assert_frame_equal(remote.metrics[cols], local.metrics[cols], rtol=1e-9)
    assert remote.srm["p_value"] == pytest.approx(local.srm["p_value"])
