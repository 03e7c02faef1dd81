"""Real-world mess: order-line files with cancellations, locales, BOM, CRLF, quoting, time zones."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import clvlab

UCI = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"
    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\r\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\r\n"
    "536366,22633,HAND WARMER,6,12/1/2010 8:28,1.85,17850.0,United Kingdom\r\n"
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527.0,United Kingdom\r\n"
    "536414,22139,\"RETROSPOT, TEA SET\",56,12/1/2010 11:52,0.00,,United Kingdom\r\n"
    "536520,21123,SET/10 IVORY,1,12/13/2010 12:43,1.25,14729.0,United Kingdom\r\n"
)


def test_uci_order_lines_cancellations_and_float_ids(tmp_path: Path) -> None:
    """UCI Online Retail layout: amount = Quantity*UnitPrice, 'C' invoices are refunds,
    '17850.0' ids become '17850', rows without CustomerID are rejected and counted."""
    f = tmp_path / "online_retail.csv"
    f.write_bytes(b"\xef\xbb\xbf" + UCI.encode())
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_transactions(f)
        assert r.mapping["order_id"] == "InvoiceNo"
        assert r.mapping["product_id"] == "StockCode"
        assert r.date_format == "%m/%d/%Y %H:%M"
        assert (r.rows_read, r.inserted, r.no_customer, r.refunds) == (6, 5, 1, 1)
        df = ws.table("transactions").order_by("_key").execute()
        assert sorted(set(df.customer_id)) == ["14527", "14729", "17850"]
        lines = df.set_index("_key")
        assert float(lines.loc["k:536365|1#1", "amount"]) == pytest.approx(15.30)
        assert int(lines.loc["k:536365|2#1", "line"]) == 2
        refund = lines.loc["k:C536379|1#1"]
        assert bool(refund.is_refund)
        assert float(refund.amount) == pytest.approx(-27.5)
        assert str(lines.loc["k:536366|1#1", "ordered_at"]) == "2010-12-01 08:28:00"
        assert df.is_refund.sum() == 1
        assert ws.load_transactions(f).inserted == 0


def test_several_orders_per_day_are_kept(tmp_path: Path) -> None:
    """Two orders by one customer on the same day stay two rows (keys from order ids)."""
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\n1,A,2024-03-01,5\n2,A,2024-03-01,5\n")
    with clvlab.connect(":memory:") as ws:
        assert ws.load_transactions(f).inserted == 2
        assert ws.load_transactions(f).already_present == 2


def test_decimal_comma_semicolon_thousands_blank_lines(tmp_path: Path) -> None:
    """European CSV: ';' separator, decimal comma, '.' thousands, blank lines, CRLF."""
    f = tmp_path / "eu.csv"
    f.write_bytes(
        b"kunde;datum;betrag\r\n\r\n"
        b"K1;31.12.2023;1.234,50\r\n"
        b"K2;01.12.2023;\xe2\x82\xac 7,25\r\n\r\n"
        b"K3;15.11.2023;-3,00\r\n"
    )
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(
            f, {"customer_id": "kunde", "ordered_at": "datum", "amount": "betrag"}, decimal=","
        )
        assert (r.rows_read, r.inserted, r.refunds) == (3, 3, 1)
        assert r.date_format == "%d.%m.%Y"
        amounts = ws.table("transactions").order_by("customer_id").amount.execute()
        assert [float(a) for a in amounts] == [1234.5, 7.25, -3.0]


def test_thousands_separator_and_quoted_commas(tmp_path: Path) -> None:
    """'1,234.50' in quotes is 1234.5 with decimal='.'; quoted commas stay in text fields."""
    f = tmp_path / "q.csv"
    f.write_text(
        'customer_id,ordered_at,amount,category\n'
        'A,2024-01-01,"1,234.50","Books, used"\n'
        'B,2024-01-02,"$12.00","Music"\n'
    )
    with clvlab.connect(":memory:") as ws:
        assert ws.load_transactions(f).inserted == 2
        df = ws.table("transactions").order_by("customer_id").execute()
        assert [float(a) for a in df.amount] == [1234.5, 12.0]
        assert list(df.category) == ["Books, used", "Music"]


def test_offsets_are_converted_to_business_timezone(tmp_path: Path) -> None:
    """ISO values with an offset become naive local times of the workspace time zone."""
    f = tmp_path / "tz.csv"
    f.write_text(
        "customer_id,ordered_at,amount\n"
        "A,2024-01-01T23:30:00+00:00,1\n"
        "B,2024-01-01T10:00:00-05:00,1\n"
        "C,2024-01-01 12:00:00,1\n"
    )
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f, timezone="Asia/Shanghai")
        got = ws.table("transactions").order_by("customer_id").ordered_at.execute()
        assert [str(t) for t in got] == [
            "2024-01-02 07:30:00", "2024-01-01 23:00:00", "2024-01-01 12:00:00"]


def test_exact_duplicates_reported_or_merged(tmp_path: Path) -> None:
    """Identical rows are kept and counted; merge_duplicates sums their amount and quantity."""
    f = tmp_path / "d.txt"
    f.write_text(
        "customer_id date number_of_cds dollar_value\n"
        " 1 19970101 1 10.00\n 1 19970101 1 10.00\n 2 19970102 2 5.00\n"
    )
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f)
        assert (r.inserted, r.duplicates, r.merged) == (3, 1, 0)
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f, merge_duplicates=True)
        assert (r.inserted, r.duplicates, r.merged) == (2, 1, 1)
        df = ws.table("transactions").order_by("customer_id").execute()
        assert [float(a) for a in df.amount] == [20.0, 5.0]
        assert [float(q) for q in df.quantity] == [2.0, 2.0]
        assert "merged" in str(r)


def test_gzip_tsv_and_explicit_rejects_path(tmp_path: Path) -> None:
    """A gzipped TSV loads; rejects go where the caller says."""
    f = tmp_path / "o.tsv.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("customer_id\tordered_at\tamount\nA\t2024-01-01\t3\nB\t2024-01-02\tx\n")
    rej = tmp_path / "out" / "bad.csv"
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f, rejects=rej)
        assert (r.inserted, r.rejects_path) == (1, str(rej))
        assert rej.read_text().splitlines()[1] == "2,amount,not a number,B,2024-01-02,x"


def test_progress_bar_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """progress=True loads the same rows (the bar goes to stderr and is transient)."""
    f = tmp_path / "p.csv"
    f.write_text("customer_id,ordered_at,amount\n" + "A,2024-01-01,1\n" * 50)
    with clvlab.connect(":memory:") as ws:
        assert ws.load_transactions(f, progress=True).inserted == 50
    assert capsys.readouterr().out == ""
