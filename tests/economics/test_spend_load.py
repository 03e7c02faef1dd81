"""Loading the ``marketing_spend`` table: located rejects, idempotent and updating re-loads."""

from __future__ import annotations

import csv
from pathlib import Path

import clvlab

GOOD = "month,channel,spend,new_customers\n2024-01-01,search,\"1,200.50\",40\n2024-01-01,social,300,\n"
BAD = (
    "2024-02-01,search,abc,10\n"      # row 3: cost not a number
    ",social,100,3\n"                 # row 4: no period
    "2024-02-01,,50,1\n"              # row 5: no channel
    "2024-01-01,search,99,1\n"        # row 6: the same period and channel again
    "2024-13-01,email,5,1\n"          # row 7: not a date
    "2024-02-01,email,5,1.5\n"        # row 8: a fraction of a customer
)


def test_bad_rows_are_rejected_with_row_column_and_reason(tmp_path: Path) -> None:
    src = tmp_path / "spend.csv"
    src.write_text(GOOD + BAD)
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        report = ws.load_marketing_spend(src)
        stored = ws.table("marketing_spend").execute().sort_values("channel")
    assert report.inserted == 2
    assert sum(report.rejected.values()) == 6
    assert report.mapping == {"period": "month", "channel": "channel", "cost": "spend",
                              "new_customers": "new_customers"}
    assert stored["cost"].astype(float).tolist() == [1200.5, 300.0]
    assert stored["new_customers"].isna().tolist() == [False, True]
    with Path(report.rejects_path or "").open() as fh:
        rows = {int(r["row"]): (r["column"], r["reason"]) for r in csv.DictReader(fh)}
    assert rows == {
        3: ("spend", "not a number"),
        4: ("month", "missing period"),
        5: ("channel", "missing channel"),
        6: ("month", "duplicate period (first in row 1)"),
        7: ("month", "not a date (expected ISO)"),
        8: ("new_customers", "not a whole number"),
    }


def test_reload_inserts_nothing_and_a_corrected_cost_updates(tmp_path: Path) -> None:
    src = tmp_path / "spend.csv"
    src.write_text(GOOD)
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        ws.load_marketing_spend(src)
        again = ws.load_marketing_spend(src)
        src.write_text(GOOD.replace('"1,200.50"', "1250"))
        fixed = ws.load_marketing_spend(src)
        stored = ws.table("marketing_spend").execute().sort_values("channel")
    assert (again.inserted, again.already_present) == (0, 2)
    assert (fixed.inserted, fixed.updated) == (0, 1)
    assert stored["cost"].astype(float).tolist() == [1250.0, 300.0]


def test_month_periods_load_with_a_date_format(tmp_path: Path) -> None:
    src = tmp_path / "spend.csv"
    src.write_text("period,channel,cost\n2024-01,search,10\n2024-02,search,12\n")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        report = ws.load_marketing_spend(src, date_format="%Y-%m")
        periods = ws.table("marketing_spend").execute()["period"].dt.strftime("%Y-%m-%d").tolist()
    assert report.inserted == 2
    assert sorted(periods) == ["2024-01-01", "2024-02-01"]
