"""Loading the ``events`` table: located rejects, exact repeats stored once, idempotent re-loads,
the workspace's time zone, JSON properties checked and stored compact."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app
from clvlab.errors import DataValidationError

HEAD = "user_id,timestamp,event_name,value,props\n"
GOOD = (
    'A,2024-01-05 10:00:00,Page View,,"{""page"": ""/home""}"\n'         # row 1
    'A,2024-01-05 10:00:00,Page View,,"{""page"": ""/cds""}"\n'          # row 2: same second, other page
    "A,2024-01-06 09:30:00,cart_add,12.50,\n"                           # row 3
    "B,2024-01-07T08:00:00+01:00,newsletter_signup,,{}\n"               # row 4: an offset
    'A,2024-01-05 10:00:00,Page View,,"{""page"": ""/home""}"\n'         # row 5: exact repeat of row 1
)
BAD = (
    "C,2024-02-30 10:00:00,page view,,\n"                                # row 6: no such day
    ",2024-01-08 10:00:00,page view,,\n"                                 # row 7: no customer
    'C,2024-01-08 10:00:00,page view,,"{page: /home}"\n'                # row 8: bad JSON
    'C,2024-01-08 11:00:00,page view,,"[1, 2]"\n'                       # row 9: JSON but no object
    "C,2024-01-08 12:00:00,,,\n"                                         # row 10: no event
    "C,2024-01-08 13:00:00,cart_add,twelve,\n"                           # row 11: value not a number
)


def _rejects(path: str | None) -> dict[int, tuple[str, str, str]]:
    with Path(path or "").open(encoding="utf-8") as fh:
        return {int(r["row"]): (r["column"], r["reason"], r.get("user_id", "")) for r in csv.DictReader(fh)}


def test_messy_events_are_rejected_with_row_column_and_reason(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEAD + GOOD + BAD, encoding="utf-8")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        report = ws.load_events(src, timezone="Europe/London")
        stored = ws.table("events").execute().sort_values(["occurred_at", "properties"])
    assert report.mapping == {"customer_id": "user_id", "occurred_at": "timestamp", "event": "event_name",
                              "value": "value", "properties": "props"}
    assert (report.inserted, report.merged, report.n_rejected) == (4, 1, 6)
    rows = _rejects(report.rejects_path)
    assert {r: (c, why.split(" (")[0]) for r, (c, why, _) in rows.items()} == {
        6: ("timestamp", "not a date"),
        7: ("user_id", "missing customer id"),
        8: ("props", "not valid JSON"),
        9: ("props", "not a JSON object"),
        10: ("event_name", "missing event"),
        11: ("value", "not a number"),
    }
    assert stored["event"].tolist() == ["page view", "page view", "cart_add", "newsletter_signup"]
    assert stored["properties"].tolist()[:2] == ['{"page":"/cds"}', '{"page":"/home"}']
    assert [json.loads(p) for p in stored["properties"].dropna()] == [{"page": "/cds"}, {"page": "/home"}, {}]
    assert float(stored["value"].dropna().iloc[0]) == 12.5
    # 08:00 at +01:00 is 07:00 in London (GMT in January): stored naive, in the workspace's zone
    assert str(stored.loc[stored["event"] == "newsletter_signup", "occurred_at"].iloc[0]) == "2024-01-07 07:00:00"


def test_reload_is_a_no_op_and_a_changed_value_updates(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEAD + GOOD, encoding="utf-8")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        ws.load_events(src)
        again = ws.load_events(src)
        assert (again.inserted, again.updated, again.already_present) == (0, 0, 4)
        # a re-export without the exact repeat keeps its keys: still nothing new
        src.write_text(HEAD + GOOD.rsplit("A,2024-01-05", 1)[0], encoding="utf-8")
        assert ws.load_events(src).inserted == 0
        src.write_text(HEAD + GOOD.replace("12.50", "15"), encoding="utf-8")
        fixed = ws.load_events(src)
        assert (fixed.inserted, fixed.updated) == (0, 1)
        assert ws.con.con.execute("SELECT count(*), sum(value) FROM events").fetchone() == (4, 15)


def test_event_id_is_the_key_when_given(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text("event_id,customer_id,occurred_at,event\n"
                   "e1,A,2024-01-05,visit\ne2,A,2024-01-05,visit\ne1,A,2024-01-05,visit\n"
                   "e1,B,2024-01-06,visit\n", encoding="utf-8")
    with clvlab.connect(":memory:") as ws:
        report = ws.load_events(src)
        assert (report.inserted, report.merged) == (2, 1)   # e1 twice identical: once
        assert report.rejected == {"event_id: duplicate event_id with different content (first in row 1)": 1}
        assert ws.load_events(src).inserted == 0


def test_no_valid_row_is_a_located_error(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEAD + BAD, encoding="utf-8")
    with clvlab.connect(":memory:") as ws, pytest.raises(DataValidationError, match="6 invalid rows") as info:
        ws.load_events(src, date_format="%Y-%m-%d %H:%M:%S")
    assert info.value.issues[0].row == 1  # the first line of this file
    assert info.value.issues[0].column == "timestamp"


def test_cli_load_events(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEAD + GOOD, encoding="utf-8")
    ws = str(tmp_path / "w.duckdb")
    res = CliRunner().invoke(app, ["--json", "load", "events", str(src), "-w", ws])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["inserted"] == 4
