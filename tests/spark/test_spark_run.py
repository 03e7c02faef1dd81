"""``clvlab run --engine spark`` and ``clvlab.connect(spark)``: the DuckDB run's scores, computed
in Spark (local mode) without collecting the transactions; time zones and loading."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app
from clvlab.errors import ClvlabError
from clvlab.pipeline import run_clv

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]  # one worker, one Spark session

runner = CliRunner()
SCORED = ("frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases", "expected_spend",
          "expected_revenue", "clv")


def test_run_engine_spark_gives_the_duckdb_scores(spark_ws: Any, demo_duckdb: Any) -> None:
    """The CLI run on Spark chooses the DuckDB run's model and writes its scores to 1e-9; the
    output lists what ran and what did not, and only distinct rows came to Python."""
    args = ["--json", "run", "--engine", "spark", "--table", "transactions", "--as-of", "1998-06-30",
            "--calibration-end", "1997-09-30", "--scores-table", "clv_scores"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    duck = run_clv(demo_duckdb, freq="W", calibration_end="1997-09-30", observation_end="1998-06-30")
    assert summary["model"] == duck.best
    assert summary["n_customers"] == len(duck.scores) == 23_570
    assert any("RFM segments" in step for step in summary["not_run"])
    assert summary["rows_collected"]["frequency_recency_T"] < len(duck.scores) / 4
    stored = spark_ws.table("clv_scores").execute().set_index("customer_id").sort_index()
    assert stored.index.tolist() == duck.scores.index.tolist()
    for column in SCORED:
        np.testing.assert_allclose(stored[column], duck.scores[column], rtol=1e-9, atol=1e-12, err_msg=column)
    assert set(stored["run_id"]) == {summary["run_id"]}
    assert set(stored["model"]) == {duck.best}
    assert pd.Timestamp(stored["as_of"].iloc[0]).date() == dt.date(1998, 6, 30)


def test_run_engine_spark_maps_a_table_with_other_column_names(spark: Any, spark_ws: Any, demo_duckdb: Any) -> None:
    """``--map`` names the warehouse table's columns as ``clvlab load --map`` does (``total`` is
    an alias of ``amount``): the scores are the DuckDB run's; a mapped column the table lacks is
    named with the table's columns."""
    spark.table("transactions").selectExpr("customer_id AS cust_no", "ordered_at AS day", "amount AS total") \
        .createOrReplaceTempView("orders_renamed")
    args = ["--json", "run", "--engine", "spark", "--table", "orders_renamed", "--as-of", "1998-06-30",
            "--calibration-end", "1997-09-30", "--scores-table", "mapped_scores",
            "--map", "customer_id=cust_no", "--map", "ordered_at=day"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    duck = run_clv(demo_duckdb, freq="W", calibration_end="1997-09-30", observation_end="1998-06-30")
    stored = spark_ws.table("mapped_scores").execute().set_index("customer_id").sort_index()
    assert stored.index.tolist() == duck.scores.index.tolist()
    np.testing.assert_allclose(stored["clv"], duck.scores["clv"], rtol=1e-9, atol=1e-12)
    wrong = runner.invoke(app, [*args[1:-4], "--map", "customer_id=cust_nr", "--map", "ordered_at=day"])
    assert wrong.exit_code == 1
    assert "'orders_renamed' has no column 'cust_nr'; available columns: cust_no, day, total" in wrong.output
    without_engine = runner.invoke(app, ["run", "--map", "customer_id=cust_no"])
    assert without_engine.exit_code != 0
    assert "--map belongs to --engine runs" in without_engine.output


def test_days_are_read_in_the_session_time_zone(spark: Any, spark_ws: Any) -> None:
    """An instant (Spark TIMESTAMP) late on Jan 1 in UTC is Jan 2 in Shanghai: the workspace's
    business zone is the session's, and RFM counts days in it."""
    rows = spark.sql(
        "SELECT * FROM VALUES ('a', 10.0D, TIMESTAMP'2024-01-01 17:00:00Z'), "
        "('a', 20.0D, TIMESTAMP'2024-01-05 09:00:00Z'), ('b', 5.0D, TIMESTAMP'2024-01-01 09:00:00Z') "
        "AS t(customer_id, amount, ordered_at)")
    rows.createOrReplaceTempView("tz_orders")
    before = spark.conf.get("spark.sql.session.timeZone")
    try:
        spark.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")
        assert spark_ws.timezone == "Asia/Shanghai"
        rfm = clvlab.rfm_summary(spark_ws.con.table("tz_orders"), freq="D", observation_end="2024-01-10")
        # Shanghai: a bought on Jan 2 and Jan 5 (recency 3), T from Jan 2 to Jan 10
        assert rfm.loc["a", ["frequency", "recency", "T"]].tolist() == [1.0, 3.0, 8.0]
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        rfm = clvlab.rfm_summary(spark_ws.con.table("tz_orders"), freq="D", observation_end="2024-01-10")
        assert rfm.loc["a", ["frequency", "recency", "T"]].tolist() == [1.0, 4.0, 9.0]
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)


def test_loading_into_spark_is_refused_with_the_way_round(spark_ws: Any, demo_parquet: Any) -> None:
    """Loading stays on DuckDB: a load into a Spark workspace says so, and how Spark gets the table."""
    with pytest.raises(ClvlabError, match="loading stays on DuckDB") as info:
        spark_ws.load_transactions(demo_parquet["transactions"])
    assert "Parquet" in str(info.value)


def test_connect_to_a_master_url_reuses_the_running_session(spark: Any) -> None:
    """``clvlab.connect("local[2]")`` works over the process's session (Spark allows one), and
    closing the workspace leaves the session running."""
    ws = clvlab.connect("local[2]")
    assert ws.is_spark
    assert ws.url == "spark:local[2]"
    ws.close()
    assert spark.sql("SELECT 1 AS one").collect()[0].one == 1
