"""Within a run the per-customer features of a date are computed once; outside, never kept."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import clvlab
from clvlab.lifecycle._features import customer_features, purchase_days, shared_features


def _log(days: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a"] * len(days), "ordered_at": pd.to_datetime(days),
                         "amount": [10.0] * len(days)})


def _temporary(ws: clvlab.Workspace) -> int:
    return len(ws.con.raw_sql("select table_name from duckdb_tables() where temporary").fetchall())


def test_features_are_shared_inside_the_block_and_fresh_after_it() -> None:
    day = dt.date(2024, 3, 31)
    with clvlab.connect(":memory:") as ws:
        ws.load("transactions", _log(["2024-01-05", "2024-02-01"]), progress=False)
        with shared_features():
            days = purchase_days(ws, "test")
            assert days is purchase_days(ws, "test")  # one temporary table for the run
            first = customer_features(days, day, 30)
            first["extra"] = 1  # a caller's column never leaks into the next caller's copy
            again = customer_features(purchase_days(ws, "test"), day, 30)
            assert "extra" not in again.columns
            assert again.loc["a", "n"] == 2
            assert _temporary(ws) == 1
        assert _temporary(ws) == 0  # released at the end of the block
        ws.load("transactions", _log(["2024-03-01"]), progress=False)
        assert customer_features(purchase_days(ws, "test"), day, 30).loc["a", "n"] == 3
