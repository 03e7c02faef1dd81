"""Bad input gives a located error and loses nothing; partial bad rows go to a rejects file."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import clvlab


def _snapshot(ws: clvlab.Workspace) -> dict[str, int]:
    return {t: ws.con.con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in ws.tables()}


@pytest.fixture
def ws(tmp_path: Path, shared_data: Path) -> clvlab.Workspace:
    """A file workspace already holding the CDNOW sample (so 'unchanged' is meaningful)."""
    w = clvlab.connect(tmp_path / "shop.duckdb")
    w.load_transactions(
        shared_data / "cdnow" / "CDNOW_sample.txt", header=False,
        columns=["customer_id", "customer_index", "date", "cds", "dollar_value"],
        mapping={"ordered_at": "date", "amount": "dollar_value"},
    )
    return w


def test_every_row_bad_gives_located_message_and_changes_nothing(
    ws: clvlab.Workspace, tmp_path: Path
) -> None:
    """All rows invalid: DataValidationError names file, row, column, value, reason; no write."""
    f = tmp_path / "orders.csv"
    f.write_text(
        "customer_id,ordered_at,amount\n"
        "a,2023-13-01,10\n"
        "b,2023-01-02,ten\n"
        ",2023-01-03,5\n"
        "d,2023-02-30,1\n"
    )
    before = _snapshot(ws)
    with pytest.raises(clvlab.DataValidationError) as exc:
        ws.load_transactions(f, date_format="%Y-%m-%d")
    text, _, where = str(exc.value).rpartition(" ")
    assert text == (
        "4 invalid rows in 'orders.csv' (no valid row): "
        "row 1, column 'ordered_at', value '2023-13-01': not a date (expected %Y-%m-%d); "
        "row 2, column 'amount', value 'ten': not a number; "
        "row 3, column 'customer_id': missing customer id (and 1 more). "
        "Hint: date_format='%Y-%d-%m'; rejected rows are in"
    )
    assert exc.value.hints[0] == clvlab.Hint(option="date_format", value="%Y-%d-%m")
    assert Path(where).parent == tmp_path / "shop.rejects"
    assert re.fullmatch(r"orders-[0-9a-f]{8}\.rejects\.csv", Path(where).name)
    assert [i.row for i in exc.value.issues] == [1, 2, 3, 4]
    assert _snapshot(ws) == before


def test_missing_required_column_names_file_and_columns(
    ws: clvlab.Workspace, tmp_path: Path
) -> None:
    """A missing column: the file, the available columns and a --map remedy are named."""
    f = tmp_path / "orders.csv"
    f.write_text("cust,when,total\nA,2023-01-01,5\n")
    before = _snapshot(ws)
    with pytest.raises(clvlab.DataValidationError) as exc:
        ws.load_transactions(f, mapping={"customer_id": "cust", "amount": "total"})
    assert str(exc.value) == (
        "'orders.csv' has no column for required 'ordered_at' of table 'transactions'; "
        "available columns: cust, when, total. "
        "Hint: mapping={'ordered_at': '<column>'} (or 'mapping' in a config file)"
    )
    assert _snapshot(ws) == before


def test_mapping_to_absent_column_is_reported(ws: clvlab.Workspace, tmp_path: Path) -> None:
    """A mapping naming a column the file lacks says so, with a near match as the hint."""
    f = tmp_path / "orders.csv"
    f.write_text("Cust_No,ordered_at,amount\nA,2023-01-01,5\n")
    with pytest.raises(clvlab.DataValidationError) as exc:
        ws.load_transactions(f, mapping={"customer_id": "cust no"})
    assert str(exc.value) == (
        "mapping 'customer_id' -> 'cust no': 'orders.csv' has no column 'cust no'; "
        "available columns: Cust_No, ordered_at, amount. Hint: mapping={'customer_id': 'Cust_No'}"
    )
    with pytest.raises(clvlab.DataValidationError, match="not a column of table 'transactions'"):
        ws.load_transactions(f, mapping={"client": "Cust_No"})


def test_partial_bad_rows_load_good_ones_and_write_rejects(
    ws: clvlab.Workspace, tmp_path: Path
) -> None:
    """Bad rows are rejected (reported, written with original values); good rows load."""
    f = tmp_path / "orders.csv"
    f.write_text(
        "customer_id,ordered_at,amount,note\n"
        "A,2023-01-01,5.50,x\n"
        "B,2023-01-02,abc,y\n"
        "  ,2023-01-03,1,z\n"
        "C,not-a-date,2,w\n"
        "D,2023-01-05,7,v\n"
    )
    before = _snapshot(ws)["transactions"]
    report = ws.load_transactions(f)
    assert report.rows_read == 5
    assert report.inserted == 2
    assert report.rejected == {
        "amount: not a number": 1,
        "customer_id: missing customer id": 1,
        "ordered_at: not a date (expected ISO)": 1,
    }
    assert report.no_customer == 1
    assert ws.table("transactions").count().execute() == before + 2
    assert report.rejects_path is not None
    assert Path(report.rejects_path).parent == tmp_path / "shop.rejects"
    assert Path(report.rejects_path).name.startswith("orders-")
    with open(report.rejects_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [
        {"row": "2", "column": "amount", "reason": "not a number", "customer_id": "B",
         "ordered_at": "2023-01-02", "amount": "abc", "note": "y"},
        {"row": "3", "column": "customer_id", "reason": "missing customer id",
         "customer_id": "  ", "ordered_at": "2023-01-03", "amount": "1", "note": "z"},
        {"row": "4", "column": "ordered_at", "reason": "not a date (expected ISO)",
         "customer_id": "C", "ordered_at": "not-a-date", "amount": "2", "note": "w"},
    ]
    assert "rejected rows written to" in str(report)
    assert report.to_dict()["n_rejected"] == 3


def test_ambiguous_dates_ask_for_a_format(tmp_path: Path) -> None:
    """01/02/2023 could be 1 Feb or 2 Jan: the user must choose."""
    f = tmp_path / "o.csv"
    f.write_text("customer_id,ordered_at,amount\nA,01/02/2023,1\nB,03/04/2023,2\n")
    with clvlab.connect(":memory:") as w:
        with pytest.raises(clvlab.DataValidationError) as exc:
            w.load_transactions(f)
        assert "ambiguous" in str(exc.value)
        assert "date_format='%d/%m/%Y' or date_format='%m/%d/%Y'" in str(exc.value)
        report = w.load_transactions(f, date_format="%d/%m/%Y")
        assert report.inserted == 2
        got = w.table("transactions").order_by("customer_id").ordered_at.execute()
        assert [str(d.date()) for d in got] == ["2023-02-01", "2023-04-03"]


def test_empty_file_and_bad_options(tmp_path: Path) -> None:
    """A header-only file and invalid options fail clearly."""
    f = tmp_path / "empty.csv"
    f.write_text("customer_id,ordered_at,amount\n")
    with clvlab.connect(":memory:") as w:
        with pytest.raises(clvlab.DataValidationError, match=r"'empty\.csv' has no data rows"):
            w.load_transactions(f)
        with pytest.raises(clvlab.ParameterError, match="'decimal' parameter"):
            w.load_transactions(f, decimal=";")
        with pytest.raises(clvlab.ParameterError, match="'timezone' parameter"):
            w.load_transactions(f, timezone="Mars/Olympus")
        with pytest.raises(clvlab.DataValidationError, match="does not exist"):
            w.load_transactions(tmp_path / "nope.csv")
        assert w.tables() == []
