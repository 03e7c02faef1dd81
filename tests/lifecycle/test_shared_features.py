"""Within a run the per-customer features of a date are computed once; outside, never kept."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import clvlab
from clvlab.lifecycle._features import customer_features, purchase_days, rfm_as_of, shared_features


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


def test_the_purchase_models_rfm_from_purchase_days_is_the_rfm_summary() -> None:
    """A run hands its CLV part's RFM to the lifecycle steps: both must be the same summary."""
    log = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c", "c"],
                        "ordered_at": pd.to_datetime(["2024-01-05 09:00", "2024-01-05 18:00", "2024-02-20 00:00",
                                                      "2024-03-01 00:00", "2024-01-10 00:00", "2024-04-02 00:00"]),
                        "amount": [10.0, 5.0, 7.0, 3.0, 8.0, 9.0]})
    day = dt.date(2024, 3, 31)
    with clvlab.connect(":memory:") as ws:
        ws.load("transactions", log, progress=False)
        for freq in ("D", "W", "M"):
            expected = clvlab.rfm_summary(ws, freq=freq, observation_end=day)[["frequency", "recency", "T"]]
            got = rfm_as_of(purchase_days(ws, "test"), day, freq)
            pd.testing.assert_frame_equal(got, expected)


def test_a_second_trend_window_on_a_date_gives_the_features_computed_alone() -> None:
    """Stages and health ask for 180-day trends, churn for 90 days on the same date: inside a run
    both come from the one features query of the date, and any other window from a query of its
    trends alone, matched to the date's customers; each is what a fresh query gives."""
    log = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c", "c", "d"],
                        "ordered_at": pd.to_datetime(["2023-06-01", "2024-01-05", "2024-03-20", "2023-12-01",
                                                      "2023-11-10", "2024-02-02", "2022-05-01"]),
                        "amount": [10.0, 5.0, 7.0, 3.0, 8.0, 9.0, 4.0]})
    day = dt.date(2024, 3, 31)
    with clvlab.connect(":memory:") as ws:
        ws.load("transactions", log, progress=False)
        alone = {w: customer_features(purchase_days(ws, "test"), day, w) for w in (180, 90, 30)}
        with shared_features():
            days = purchase_days(ws, "test")
            shared = {w: customer_features(days, day, w) for w in (180, 90, 30)}
    for w in (180, 90, 30):
        pd.testing.assert_frame_equal(shared[w], alone[w])
    assert alone[90].loc["c", "n_recent"] == 1
    assert alone[90].loc["c", "n_before"] == 1
    assert alone[90].loc["d", "n_recent"] == 0
    assert alone[180].loc["a", "n_before"] == 1


def test_the_cadence_of_the_last_day_read_from_each_row_is_the_group_by() -> None:
    """As of the last purchase day the cadence figures come from the rows' own customer figures
    (no group-by, no join): the same figures as the group-by of a date, and as numpy's by hand."""
    import numpy as np

    from clvlab.datasets.synthetic import simulate_transactions
    from clvlab.lifecycle._features import _cadence_stats, data_range

    quantiles = {"decline": 0.8, "churn": 0.95}
    with clvlab.connect(":memory:") as ws:
        ws.load("transactions", simulate_transactions(2_000, seed=3), progress=False)
        days = purchase_days(ws, "test")
        last = data_range(days)[1]
        fast = _cadence_stats(days, last, quantiles, 0.9)
        assert fast == _cadence_stats(days, last, quantiles, 0.9, whole=False)
        frame = days.execute()
    per = frame.groupby("cid")["day"].agg(["min", "max", "count"])
    per["mean_gap"] = (per["max"] - per["min"]).dt.days / (per["count"] - 1)
    regular = per[(per["count"] >= 3) & (per["mean_gap"] > 0)]["mean_gap"]
    gaps = frame[frame["prev_day"].notna() & frame["cid"].isin(regular.index)]
    ratio = (gaps["day"] - gaps["prev_day"]).dt.days.to_numpy() / regular.reindex(gaps["cid"]).to_numpy()
    repeat = per[per["count"] >= 2]
    assert len(ratio) > 1_000
    assert fast["decline"] == pytest.approx(np.quantile(ratio, 0.8), rel=1e-12)
    assert fast["churn"] == pytest.approx(np.quantile(ratio, 0.95), rel=1e-12)
    assert fast["cadence"] == pytest.approx(repeat["mean_gap"].median(), rel=1e-12)
    assert fast["purchases"] == pytest.approx(np.quantile(repeat["count"], 0.9), rel=1e-12)
