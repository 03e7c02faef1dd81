"""Sources other than text files: Parquet, pandas/Polars frames, Ibis tables, PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import psycopg
import pytest

import clvlab

FRAME = {
    "customer_id": ["A", "B", "B", None],
    "ordered_at": pd.to_datetime(
        ["2024-01-01", "2024-01-02 10:30", "2024-01-03", "2024-01-04"], format="ISO8601"),
    "amount": [1.5, 2.25, -1.0, 3.0],
}


def _check(ws: clvlab.Workspace, report: clvlab.LoadReport) -> None:
    assert (report.rows_read, report.inserted, report.no_customer, report.refunds) == (4, 3, 1, 1)
    df = ws.table("transactions").order_by("ordered_at").execute()
    assert [float(a) for a in df.amount] == [1.5, 2.25, -1.0]
    assert str(df.ordered_at.iloc[1]) == "2024-01-02 10:30:00"


def test_parquet(tmp_path: Path) -> None:
    """A Parquet file with typed columns loads like a CSV."""
    f = tmp_path / "orders.parquet"
    pd.DataFrame(FRAME).to_parquet(f)
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f)
        _check(ws, r)
        assert r.source == "orders.parquet"
        assert ws.load_transactions(f).already_present == 3


def test_pandas_frame() -> None:
    """A pandas DataFrame (NaN/None ids are missing)."""
    with clvlab.connect(":memory:") as ws:
        _check(ws, ws.load_transactions(pd.DataFrame(FRAME)))


def test_polars_frame_with_tz_aware_times() -> None:
    """A Polars frame; tz-aware datetimes are converted to the business zone."""
    df = pl.DataFrame(FRAME).with_columns(
        pl.col("ordered_at").dt.replace_time_zone("UTC")
    )
    with clvlab.connect(":memory:") as ws:
        _check(ws, ws.load_transactions(df, timezone="UTC"))
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(df, timezone="Europe/Berlin")
        first = ws.table("transactions").order_by("ordered_at").ordered_at.execute().iloc[0]
        assert str(first) == "2024-01-01 01:00:00"


def test_ibis_table_from_duckdb(tmp_path: Path) -> None:
    """An ibis.Table of another DuckDB connection is streamed in."""
    import ibis

    other = ibis.duckdb.connect()
    frame = pd.DataFrame(FRAME)
    other.con.register("frame", frame)
    other.con.execute("CREATE TABLE raw_orders AS SELECT * FROM frame")
    t = other.table("raw_orders")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_transactions(t)
        assert r.source == "raw_orders"
        _check(ws, r)


@pytest.mark.postgres
def test_postgres_table_via_ibis_and_url(pg_url: str, pg_schema: str) -> None:
    """A PostgreSQL table (created with psycopg) loads via an Ibis connection and via a URL."""
    import ibis

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(
            f"CREATE TABLE {pg_schema}.orders (order_no text, cust text, ts timestamptz, "
            "total numeric(12,2))"
        )
        con.execute(
            f"INSERT INTO {pg_schema}.orders VALUES ('o1', 'A', '2024-01-01 12:00+00', 10.50), "
            "('o2', 'B', '2024-01-02 08:00+00', 3.25), ('o3', NULL, '2024-01-03 09:00+00', 1), "
            "('o4', 'A', '2024-02-01 10:00+00', -2.00)"
        )
    mapping = {"order_id": "order_no", "customer_id": "cust", "ordered_at": "ts",
               "amount": "total"}
    pg = ibis.connect(pg_url)
    try:
        with clvlab.connect(":memory:") as ws:
            r = ws.load_transactions(pg.table("orders", database=pg_schema), mapping)
            assert (r.rows_read, r.inserted, r.no_customer, r.refunds) == (4, 3, 1, 1)
            df = ws.table("transactions").order_by("order_id").execute()
            assert list(df.order_id) == ["o1", "o2", "o4"]
            assert [float(a) for a in df.amount] == [10.5, 3.25, -2.0]
            assert str(df.ordered_at.iloc[0]) == "2024-01-01 12:00:00"
            again = ws.load_transactions(f"{pg_url}?table=orders&schema={pg_schema}", mapping)
            assert (again.inserted, again.already_present) == (0, 3)
    finally:
        pg.disconnect()


@pytest.mark.postgres
def test_postgres_workspace_reads_but_does_not_load_yet(pg_url: str) -> None:
    """connect('postgres://...') gives a Workspace; loading into it is refused clearly."""
    with clvlab.connect(pg_url) as ws:
        assert not ws.is_duckdb
        assert isinstance(ws.tables(), list)
        with pytest.raises(clvlab.ClvlabError, match="not supported yet"):
            ws.load_transactions(pd.DataFrame(FRAME))


def test_customers_table_rejects_repeated_ids(tmp_path: Path) -> None:
    """load_customers: one row per customer; a repeated id is rejected with its first row."""
    f = tmp_path / "customers.csv"
    f.write_text(
        "CustomerID,signup_date,channel,cac,tier\n"
        "A,2023-01-05,search,12.5,gold\n"
        "B,2023-02-01,social,,\n"
        "A,2023-03-01,email,1,silver\n"
    )
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_customers(f)
        assert r.inserted == 2
        assert r.rejected == {"CustomerID: duplicate customer_id (first in row 1)": 1}
        df = ws.table("customers").order_by("customer_id").execute()
        assert list(df.acquisition_channel) == ["search", "social"]
        assert float(df.acquisition_cost.iloc[0]) == 12.5
        assert str(df.first_seen_at.iloc[0].date()) == "2023-01-05"
        assert r.rejects_path is not None
        assert Path(r.rejects_path).parent == tmp_path / "w.rejects"
        assert Path(r.rejects_path).name.startswith("customers.customers-")
        assert ws.load_customers(f).inserted == 0


def test_customers_reload_updates_changed_attributes(tmp_path: Path) -> None:
    """A customer file loaded again with changes updates those customers (store, tier), keeps what
    the new file leaves empty or does not have, inserts the new ones, and is a no-op when unchanged."""
    first = tmp_path / "customers.csv"
    first.write_text("customer_id,store,tier,region\nA,s1,gold,north\nB,s2,,south\nC,s3,silver,east\n")
    later = tmp_path / "customers_2024.csv"
    later.write_text("customer_id,store,tier\nA,s9,gold\nB,s2,bronze\nC,s3,\nD,s4,gold\n")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        assert ws.load_customers(first).inserted == 3
        r = ws.load_customers(later)
        assert (r.inserted, r.updated, r.already_present) == (1, 2, 1)
        assert "updated" in str(r)
        df = ws.table("customers").order_by("customer_id").execute()
        assert list(df.store_id) == ["s9", "s2", "s3", "s4"]
        assert list(df.tier) == ["gold", "bronze", "silver", "gold"]  # C's empty tier kept
        assert list(df.region.fillna("-")) == ["north", "south", "east", "-"]  # no region column
        assert list(df._source) == ["customers_2024.csv", "customers_2024.csv", "customers.csv",
                                    "customers_2024.csv"]
        again = ws.load_customers(later)
        assert (again.inserted, again.updated, again.already_present) == (0, 0, 4)


def test_unsupported_source_type() -> None:
    """Anything else is refused with the list of accepted kinds."""
    with clvlab.connect(":memory:") as ws, pytest.raises(clvlab.DataValidationError,
                                                        match="expected a file path"):
        ws.load_transactions(42)
