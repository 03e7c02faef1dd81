"""The same RFM expressions on a real PostgreSQL server give lifetimes' results (CDNOW master)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ibis
import lifetimes.utils as lu
import numpy as np
import pandas as pd
import psycopg
import pytest

import clvlab
import clvlab.datasets as ds

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_transactions(pg_schema: str, pg_transactions_table: Any) -> Iterator[ibis.Table]:
    """CDNOW master in ``<pg_schema>.transactions`` with the workspace's column types (COPY)."""
    frame = ds.load_cdnow("master")
    refund = ("00001", pd.Timestamp("1998-01-05").to_pydatetime(), -5.0, True)
    with pg_transactions_table(pg_schema, frame, [refund]) as table:
        yield table


def test_postgres_equals_lifetimes_on_cdnow(pg_transactions: ibis.Table) -> None:
    """rfm_summary (D, W; DECIMAL amounts) and calibration_holdout (W) on PostgreSQL equal
    lifetimes on CDNOW master; the one refund row we added is excluded."""
    master = ds.load_cdnow("master")
    for freq in ("D", "W"):
        ours = clvlab.rfm_summary(pg_transactions, freq=freq)
        ref = lu.summary_data_from_transaction_data(
            master, "customer_id", "ordered_at", "amount", freq=freq
        ).sort_index()
        assert ours.index.tolist() == ref.index.tolist()
        for col in ("frequency", "recency", "T"):
            np.testing.assert_array_equal(ours[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
        np.testing.assert_allclose(ours["monetary_value"], ref["monetary_value"], rtol=1e-9, atol=1e-9)

    cal = clvlab.calibration_holdout(
        pg_transactions, calibration_end="1997-09-30", observation_end="1998-06-30", freq="W"
    )
    ref = lu.calibration_and_holdout_data(
        master, "customer_id", "ordered_at", "1997-09-30", "1998-06-30", freq="W",
        monetary_value_col="amount",
    ).sort_index()
    assert list(cal.columns) == list(ref.columns)
    assert cal.index.tolist() == ref.index.tolist()
    # monetary_value_holdout is per purchase period (lifetimes: per row; see test_rfm), as on DuckDB
    same = [c for c in ref.columns if c != "monetary_value_holdout"]
    np.testing.assert_allclose(cal[same].to_numpy(), ref[same].to_numpy(), rtol=1e-9, atol=1e-9)
    duck = clvlab.calibration_holdout(master, calibration_end="1997-09-30",
                                      observation_end="1998-06-30", freq="W")
    np.testing.assert_allclose(cal["monetary_value_holdout"], duck["monetary_value_holdout"],
                               rtol=1e-9, atol=1e-9)


def test_postgres_monthly_and_refunds_match_duckdb(pg_transactions: ibis.Table) -> None:
    """Monthly periods (year*12+month) agree between PostgreSQL and DuckDB; with include_refunds
    the added refund (linked to no order) nets against its own day, which has no purchase, so it
    adds no purchase period (issue 7, A4)."""
    master = ds.load_cdnow("master")
    pg = clvlab.rfm_summary(pg_transactions, freq="M", observation_end="1998-03-31")
    duck = clvlab.rfm_summary(master, freq="M", observation_end="1998-03-31")
    pd.testing.assert_frame_equal(pg, duck, check_exact=False, rtol=1e-12)
    with_refund = clvlab.rfm_summary(pg_transactions, freq="D", include_refunds=True)
    without = clvlab.rfm_summary(pg_transactions, freq="D")
    pd.testing.assert_frame_equal(with_refund, without)


def test_postgres_nets_linked_refunds_like_duckdb(pg_schema: str) -> None:
    """Refund netting (issue 7, A4) is portable: a workspace's linked refunds give the same RFM
    on PostgreSQL as on DuckDB (a partial refund nets, a full one removes the purchase)."""
    rows = [  # order_id, customer, day, amount, is_refund, refund_of, _key
        ("1", "A", "2024-01-01", 30.0, False, None, "k:1|1#1"),
        ("2", "A", "2024-01-05", 20.0, False, None, "k:2|1#1"),
        ("C3", "A", "2024-01-06", -20.0, True, "o:2", "k:C3|1#1"),
        ("4", "A", "2024-01-09", 50.0, False, None, "k:4|1#1"),
        ("C5", "A", "2024-01-09", -10.0, True, "o:4", "k:C5|1#1"),
        ("6", "B", "2024-01-02", 5.0, False, None, "k:6|1#1"),
        ("C7", "B", "2024-01-03", -1.0, True, None, "k:C7|1#1"),
    ]
    cols = ["order_id", "customer_id", "ordered_at", "amount", "is_refund", "refund_of", "_key"]
    frame = pd.DataFrame(rows, columns=cols).assign(ordered_at=lambda d: pd.to_datetime(d.ordered_at))
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(
            f"CREATE TABLE {pg_schema}.transactions (order_id VARCHAR, customer_id VARCHAR, "
            "ordered_at TIMESTAMP, amount DECIMAL(18,4), is_refund BOOLEAN, refund_of VARCHAR, "
            "_key VARCHAR)")
        with con.cursor().copy(f"COPY {pg_schema}.transactions FROM STDIN") as copy:
            for r in frame.itertuples(index=False):
                copy.write_row((r[0], r[1], r[2].to_pydatetime(), *r[3:]))
    backend = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test",
                                    schema=pg_schema)
    try:
        pg = clvlab.rfm_summary(backend.table("transactions"), freq="D")
    finally:
        backend.disconnect()
    duck = clvlab.rfm_summary(frame, freq="D")
    pd.testing.assert_frame_equal(pg, duck)
    assert pg.loc["A"].tolist() == [1.0, 8.0, 8.0, 40.0]  # 1 Jan 30; 5 Jan refunded; 9 Jan 50-10
