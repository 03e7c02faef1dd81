"""Inputs users have (issue 7, A9, A16, A21 load side): GBK/GB18030 and BOM text, Excel
workbooks, Decimal amounts read back to pandas, file names with glob characters, and located
one-line errors for sources that are not readable files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app
from clvlab.errors import DataValidationError, ParameterError

FEEDBACK_ZH = (
    "回复ID,日期,指标,评分,评论\n"
    "R1,2024-03-01,推荐,9,物流很快，包装也很好\n"
    "R2,2024-03-02,满意度,2,客服态度差，等了三天才回复\n"
    "R3,2024-03-03,推荐,10,质量不错，会再次购买\n"
)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_file_is_detected_and_read(tmp_path: Path, encoding: str) -> None:
    """A survey export from a Chinese system, in GBK: detected, text intact; no 'sep=' hint."""
    f = tmp_path / "问卷.csv"
    f.write_bytes(FEEDBACK_ZH.encode(encoding))
    with clvlab.connect(":memory:") as ws:
        r = ws.load_feedback(f)
        assert (r.rows_read, r.inserted) == (3, 3)
        comments = ws.table("feedback").order_by("response_id").comment.execute().tolist()
        assert comments[1] == "客服态度差，等了三天才回复"
    res = CliRunner().invoke(app, ["--json", "load", "feedback", str(f), "-w",
                                   str(tmp_path / "w.duckdb"), "--encoding", encoding])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["inserted"] == 3


def test_big5_is_not_read_as_gbk(tmp_path: Path) -> None:
    """Traditional Chinese in Big5 is not taken for GB18030 (it may decode as such, into other
    characters): refused with --encoding named, and read right with --encoding big5."""
    text = ("回覆ID,日期,指標,評分,評論\nR1,2024-03-01,nps,9,物流很快，包裝也很好\n"
            "R2,2024-03-02,csat,2,客服態度差\n")
    f = tmp_path / "問卷.csv"
    f.write_bytes(text.encode("big5"))
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(DataValidationError, match=r"not UTF-8 text.*encoding=.*big5"):
            ws.load_feedback(f, {"response_id": "回覆ID", "metric": "指標", "score": "評分",
                                 "comment": "評論"})
        r = ws.load_feedback(f, {"response_id": "回覆ID", "metric": "指標", "score": "評分",
                                 "comment": "評論"},
                             encoding="big5")
        assert r.rows_read == 2
        comments = sorted(ws.table("feedback").comment.execute())
        assert comments == ["客服態度差", "物流很快，包裝也很好"]


def test_explicit_encoding_and_undecodable_bytes(tmp_path: Path) -> None:
    """--encoding cp1252 reads a Windows file; a wrong encoding names the byte and line, and
    suggests --encoding, never a separator."""
    f = tmp_path / "orders.csv"
    f.write_bytes("customer_id,ordered_at,amount,category\nA,2024-01-01,5,Café\n"
                  "B,2024-01-02,6,Crème brûlée\n".encode("cp1252"))
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(DataValidationError, match=r"not UTF-8 text: byte 0xE9 on line 2") as e:
            ws.load_transactions(f)
        assert "encoding=" in str(e.value)
        assert "sep=" not in str(e.value)
        r = ws.load_transactions(f, encoding="cp1252")
        assert r.inserted == 2
        cats = sorted(ws.table("transactions").category.execute())
        assert cats == ["Café", "Crème brûlée"]
    g = tmp_path / "bad.csv"
    g.write_bytes(FEEDBACK_ZH.encode("utf-8"))
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(DataValidationError, match=r"does not decode as ascii: byte 0xE5 on line 1"):
            ws.load_feedback(g, encoding="ascii")
        with pytest.raises(ParameterError, match="'encoding' parameter"):
            ws.load_feedback(g, encoding="no-such-codec")


def test_late_non_utf8_byte_hints_encoding_not_separator(tmp_path: Path) -> None:
    """The first 64 KiB are ASCII, a cp1252 byte comes later: the reader's error says
    --encoding, not 'sep='."""
    f = tmp_path / "late.csv"
    rows = "".join(f"C{i},2024-01-01,1,plain\n" for i in range(4000))
    f.write_bytes(("customer_id,ordered_at,amount,category\n" + rows).encode()
                  + "Z,2024-01-02,1,Café\n".encode("cp1252"))
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(DataValidationError,
                           match=r"not UTF-8 text: byte 0xE9 on line 4002 .*encoding=") as e:
            ws.load_transactions(f)
        assert "sep=" not in str(e.value)
        assert ws.load_transactions(f, encoding="cp1252").inserted == 4001


def test_utf8_with_bom_and_utf16(tmp_path: Path) -> None:
    f = tmp_path / "bom.csv"
    f.write_bytes(FEEDBACK_ZH.encode("utf-8-sig"))
    g = tmp_path / "utf16.csv"
    g.write_bytes(FEEDBACK_ZH.encode("utf-16"))
    with clvlab.connect(":memory:") as ws:
        assert ws.load_feedback(f).inserted == 3
        assert ws.load_feedback(g).already_present == 3


def test_excel_workbook(tmp_path: Path) -> None:
    """An .xlsx written by openpyxl (numbers, real date cells, an empty customer cell)."""
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"])
    sheet.append([536365, "85123A", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 17850])
    sheet.append([536366, "22633", 6, dt.datetime(2010, 12, 1, 8, 28), 1.85, 17850])
    sheet.append([536367, "22632", 2, dt.datetime(2010, 12, 2, 9, 0), 2.10, None])
    f = tmp_path / "Online Retail.xlsx"
    wb.save(f)
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f)
        assert (r.rows_read, r.inserted, r.no_customer) == (3, 2, 1)
        df = ws.table("transactions").order_by("order_id").execute()
        assert df.order_id.tolist() == ["536365", "536366"]
        assert [float(a) for a in df.amount] == pytest.approx([15.30, 11.10])
        assert str(df.ordered_at.iloc[0]) == "2010-12-01 08:26:00"
    bad = tmp_path / "not.xlsx"
    bad.write_text("a,b\n1,2\n")
    with clvlab.connect(":memory:") as ws, pytest.raises(DataValidationError,
                                                         match="as an Excel workbook"):
        ws.load_transactions(bad)


def test_rfm_on_the_workspace_table_read_to_pandas(tmp_path: Path) -> None:
    """The stored DECIMAL amounts come back as decimal.Decimal objects; a wide value after the
    first thousands of rows must not be cut to the width DuckDB guessed from the first ones."""
    f = tmp_path / "o.csv"
    rows = [f"{i},C{i % 40},2024-01-{1 + i % 28:02d},1.5" for i in range(4999)]
    rows.append("4999,C1,2024-01-29,123456789.1234")
    f.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f)
        frame = ws.table("transactions").execute()
        assert isinstance(frame.amount.iloc[0], Decimal)
        pd.testing.assert_frame_equal(clvlab.rfm_summary(frame), clvlab.rfm_summary(ws))


def test_glob_characters_are_part_of_the_name(tmp_path: Path) -> None:
    """'tx[1].csv' is that file, not tx1.csv; 'sales*.csv' is a file of that name; --glob
    loads each matching file in turn, each under its own name."""
    (tmp_path / "tx1.csv").write_text("customer_id,ordered_at,amount\nWRONG,2024-01-01,1\n")
    (tmp_path / "tx[1].csv").write_text("customer_id,ordered_at,amount\nRIGHT,2024-01-01,1\n")
    for i in (1, 2):
        (tmp_path / f"sales{i}.csv").write_text(f"customer_id,ordered_at,amount\nS{i},2024-01-01,1\n")
    with clvlab.connect(":memory:") as ws:
        assert ws.load_transactions(tmp_path / "tx[1].csv").source == "tx[1].csv"
        assert ws.table("transactions").customer_id.execute().tolist() == ["RIGHT"]
        with pytest.raises(DataValidationError, match=r"sales\*\.csv' does not exist"):
            ws.load_transactions(tmp_path / "sales*.csv")
    runner = CliRunner()
    w = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["--json", "load", "transactions", str(tmp_path / "sales*.csv"),
                              "-w", w, "--glob"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [(r["source"], r["inserted"]) for r in out] == [("sales1.csv", 1), ("sales2.csv", 1)]


def test_unusable_sources_give_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    w = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["load", "transactions", str(tmp_path), "-w", w])
    assert res.exit_code == 1
    assert "is a directory, not a file" in res.output
    assert "Traceback" not in res.output
    with clvlab.connect(":memory:") as ws, pytest.raises(DataValidationError, match="directory"):
        ws.load_transactions(tmp_path)
    # a file that exists but cannot be read (the tests run as root, so permissions cannot deny
    # a read; this file fails its first read with EIO)
    res = runner.invoke(app, ["load", "transactions", "/proc/self/mem", "-w", w])
    assert res.exit_code == 1
    assert "cannot open source file '/proc/self/mem'" in res.output
    assert "Traceback" not in res.output


def test_mixed_line_ends_big_numbers_and_implausible_dates(tmp_path: Path) -> None:
    """A file mixing CRLF and LF loads; 1e14 is 'too large', not 'not a number'; years 0001,
    9999 and 294247 are rejected as implausible (so rfm never meets them)."""
    f = tmp_path / "mixed.csv"
    f.write_bytes(b"customer_id,ordered_at,amount\r\nA,2024-01-01,5\nB,2024-01-02,6\r\n"
                  b"C,2024-01-03,1e14\nD,0001-01-01,7\r\nE,9999-12-31,7\nF,294247-01-01,7\n")
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f)
        assert (r.rows_read, r.inserted) == (6, 2)
        assert r.rejected == {
            "amount: too large (amounts and numbers must lie below 1e14 in absolute value)": 1,
            "ordered_at: implausible date (year outside 1900-2199)": 3,
        }
        assert clvlab.rfm_summary(ws).index.tolist() == ["A", "B"]


def test_unknown_date_format_is_a_parameter_error(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text("customer_id,ordered_at,amount\nA,2024-01-01,5\n")
    res = CliRunner().invoke(app, ["load", "transactions", str(f), "-w",
                                   str(tmp_path / "w.duckdb"), "--date-format", "%Q"])
    assert res.exit_code == 2  # a bad parameter
    assert "The 'date_format' parameter of load must be 'ISO' or a strptime format" in res.output
    assert "Traceback" not in res.output
