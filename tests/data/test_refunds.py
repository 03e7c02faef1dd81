"""Refunds netted against the order they undo (issue 7, A4) and one definition of a purchase in
the calibration and holdout periods (A3), on an order-line file of the UCI Online Retail shape:
cancellation invoices 'C…' with negative quantities, the same StockCode and customer, UK dates,
rows without a customer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app

HEAD = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = [
    # 17850: order of 35.64; an order of 90.00 cancelled in full 24 minutes later; an order of
    # 30.60 of which 2 units (5.10) come back the next day
    "536365,85123A,WHITE HANGING HEART,6,01/12/2010 08:26,2.55,17850.0,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,01/12/2010 08:26,3.39,17850.0,United Kingdom",
    "536370,22728,ALARM CLOCK BAKELIKE PINK,24,03/12/2010 10:00,3.75,17850.0,United Kingdom",
    "C536391,22728,ALARM CLOCK BAKELIKE PINK,-24,03/12/2010 10:24,3.75,17850.0,United Kingdom",
    "536400,85123A,WHITE HANGING HEART,12,10/12/2010 09:00,2.55,17850.0,United Kingdom",
    "C536410,85123A,WHITE HANGING HEART,-2,11/12/2010 15:00,2.55,17850.0,United Kingdom",
    # 14527: a purchase and a discount line that undoes no product bought
    "536380,22139,\"RETROSPOT, TEA SET\",4,05/12/2010 11:00,5.00,14527.0,United Kingdom",
    "C536381,D,Discount,-1,05/12/2010 11:30,2.00,14527.0,United Kingdom",
    # no customer
    "536414,22139,RETROSPOT TEA SET,56,05/12/2010 11:52,0.00,,United Kingdom",
    # 12345: the phantom top customer: 1,040.00 ordered and cancelled five minutes later
    "536500,23166,MEDIUM CERAMIC STORAGE JAR,1000,13/12/2010 10:00,1.04,12345.0,United Kingdom",
    "C536501,23166,MEDIUM CERAMIC STORAGE JAR,-1000,13/12/2010 10:05,1.04,12345.0,United Kingdom",
    "536600,84879,ASSORTED COLOUR BIRD ORNAMENT,8,14/12/2010 12:00,1.69,12345.0,United Kingdom",
]


@pytest.fixture
def retail(tmp_path: Path) -> Path:
    f = tmp_path / "online_retail.csv"
    f.write_text(HEAD + "\n".join(ROWS) + "\n")
    return f


def test_refunds_are_netted_against_their_order(retail: Path) -> None:
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(retail)
        assert r.date_format == "%d/%m/%Y %H:%M"
        assert (r.rows_read, r.inserted, r.no_customer, r.refunds) == (12, 11, 1, 4)
        assert (r.refunds_netted, r.orders_cancelled, r.refunds_unlinked) == (3, 2, 1)
        assert r.refund_amount_netted == pytest.approx(90.0 + 5.10 + 1040.0)
        assert "refunds netted" in str(r)
        assert "2 orders cancelled in full" in str(r)
        links = dict(ws.con.con.execute(
            "SELECT order_id, refund_of FROM transactions WHERE is_refund").fetchall())
        assert links == {"C536391": "o:536370", "C536410": "o:536400", "C536381": None,
                         "C536501": "o:536500"}
        rfm = clvlab.rfm_summary(ws, freq="D", observation_end="2010-12-14")
        # 17850: 1 Dec (35.64) and 10 Dec (30.60 - 5.10); the cancelled 3 Dec is no purchase
        assert rfm.loc["17850"].tolist() == pytest.approx([1.0, 9.0, 13.0, 25.50])
        assert rfm.loc["14527"].tolist() == [0.0, 0.0, 9.0, 0.0]
        # 12345's cancelled 1,040.00 is gone: one purchase, on 14 Dec
        assert rfm.loc["12345"].tolist() == [0.0, 0.0, 0.0, 0.0]
        # with include_refunds the unlinked discount nets against its own day, never below zero
        incl = clvlab.rfm_summary(ws, freq="D", observation_end="2010-12-14", include_refunds=True)
        assert incl.equals(rfm)
        again = ws.load_transactions(retail)
        assert (again.inserted, again.refunds_netted, again.refunds_unlinked) == (0, 0, 1)


def test_refunds_loaded_before_their_orders_link_later(retail: Path, tmp_path: Path) -> None:
    """Links are made over the whole stored table: a refunds file loaded first links when the
    orders arrive."""
    refunds = tmp_path / "cancellations.csv"
    refunds.write_text(HEAD + "\n".join(r for r in ROWS if r.startswith("C")) + "\n")
    with clvlab.connect(":memory:") as ws:
        first = ws.load_transactions(refunds)
        assert (first.refunds_netted, first.refunds_unlinked) == (0, 4)
        second = ws.load_transactions(retail)
        assert (second.refunds_netted, second.refunds_unlinked) == (3, 1)


def test_cli_refund_rule_drop_keeps_the_full_purchase(retail: Path, tmp_path: Path) -> None:
    """--refunds drop: refunds are flagged and left out, purchases count in full (the old
    behaviour, on request); --refunds order links by order id only (none here)."""
    runner = CliRunner()
    ws = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["--json", "load", "transactions", str(retail), "-w", ws,
                              "--refunds", "order"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert (out["refunds_netted"], out["refunds_unlinked"]) == (0, 4)
    with clvlab.connect(tmp_path / "w2.duckdb") as w2:
        w2.load_transactions(retail, refunds="drop")
        rfm = clvlab.rfm_summary(w2, freq="D", observation_end="2010-12-14")
        assert rfm.loc["17850"].tolist() == pytest.approx([2.0, 9.0, 13.0, (90.0 + 30.60) / 2])
    res = runner.invoke(app, ["load", "transactions", str(retail), "-w", ws, "--refunds", "x"])
    assert res.exit_code != 0


def test_holdout_spend_is_per_purchase_day_like_calibration(tmp_path: Path) -> None:
    """Order lines: the holdout's mean spend is per purchase day (30 and 20: 25), as in the
    calibration, not per line (50 / 5 = 10), so revenue actuals equal the real holdout revenue."""
    f = tmp_path / "lines.csv"
    f.write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "1,A,2010-12-01,10\n1,A,2010-12-01,20\n2,A,2010-12-05,40\n"
        "3,A,2010-12-08,5\n3,A,2010-12-08,5\n3,A,2010-12-08,20\n4,A,2010-12-10,10\n"
        "4,A,2010-12-10,10\n5,B,2010-12-02,7\n6,B,2010-12-04,9\n"
    )
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f)
        cal = clvlab.calibration_holdout(ws, freq="D", calibration_end="2010-12-06",
                                         observation_end="2010-12-10")
    a = cal.loc["A"]
    assert (a.frequency_cal, a.monetary_value_cal) == (1.0, 40.0)
    assert (a.frequency_holdout, a.monetary_value_holdout) == (2.0, 25.0)
    assert a.frequency_holdout * a.monetary_value_holdout == 50.0  # the holdout revenue
    assert cal.loc["B"].tolist()[-3:] == [0.0, 0.0, 4.0]
