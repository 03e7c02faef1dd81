"""The README's flow end to end on a retailer's order-line log, as a new user meets it (issue 7).

The log is the real CDNOW master log (customers 00001-01500) re-shaped the way retail systems
export orders: one row per order line (the CDs of a purchase split over up to three lines), UK
dates with times, whole orders cancelled minutes later by a 'C' invoice with negative quantities,
rows without a customer, and a phantom top customer whose huge order is cancelled. The same rows
are written as UTF-8 CSV, as GB18030 CSV with Chinese headers, and as Excel. The reference RFM is
lifetimes' ``summary_data_from_transaction_data`` on the CDNOW rows that were not cancelled: an
independent implementation, not our own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from clvlab.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()

HEADERS = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
ZH_HEADERS = ["订单号", "商品编码", "数量", "下单时间", "单价", "客户编号"]
MAP = ["--map", "order_id=InvoiceNo", "--map", "product_id=StockCode", "--map", "quantity=Quantity",
       "--map", "ordered_at=InvoiceDate", "--map", "unit_price=UnitPrice", "--map", "customer_id=CustomerID"]
ZH_MAP = [a if a == "--map" else a.split("=")[0] + "=" + dict(zip(HEADERS, ZH_HEADERS, strict=True))[a.split("=")[1]]
          for a in MAP]
UK = ["--date-format", "%d/%m/%Y %H:%M"]


def _order_lines(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(order-line log, the CDNOW rows kept after cancellations, number of cancellation lines)."""
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str})
    raw = raw[raw["customer_id"].astype(int) <= 1500].reset_index(drop=True)
    rng = np.random.default_rng(7)
    cancelled = rng.random(len(raw)) < 0.05
    rows: list[list[object]] = []
    n_cancel_lines = 0
    for i, r in enumerate(raw.itertuples(index=False)):
        when = pd.Timestamp(str(r.date)) + pd.Timedelta(hours=9 + i % 9, minutes=i % 60)
        cds = max(int(r.number_of_cds), 1)
        parts = np.array_split(np.arange(cds), min(cds, 3))
        price = round(float(r.dollar_value) / cds, 2)  # unit prices in cents, as shops keep them
        lines = [[f"{500000 + i}", f"SKU{(i + k) % 40:03d}", len(p), when, price, r.customer_id]
                 for k, p in enumerate(parts)]
        rows += lines
        if cancelled[i]:
            later = when + pd.Timedelta(minutes=7)
            for line in lines:
                rows.append([f"C{600000 + i}", line[1], -int(line[2]), later, price, r.customer_id])  # type: ignore[call-overload]
                n_cancel_lines += 1
    for k in range(5):  # lines without a customer (shop counter sales)
        rows.append([f"{700000 + k}", "SKU001", 2, pd.Timestamp("1997-03-01 12:00"), 4.5, ""])
    # the phantom top customer: 9,999 ordered and cancelled five minutes later, on top of a real order
    rows.append(["800000", "SKU777", 1000, pd.Timestamp("1997-02-10 10:00"), 9.999, "00007"])
    rows.append(["C800001", "SKU777", -1000, pd.Timestamp("1997-02-10 10:05"), 9.999, "00007"])
    n_cancel_lines += 1
    frame = pd.DataFrame(rows, columns=HEADERS)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).dt.strftime("%d/%m/%Y %H:%M")
    # the log's own rounding: the cancelled-free reference keeps the exact same line amounts
    kept = raw[~cancelled].assign(ordered_at=lambda d: pd.to_datetime(d["date"].astype(str)))
    return frame, kept, n_cancel_lines


def _expected_rfm(kept: pd.DataFrame, line_log: pd.DataFrame) -> pd.DataFrame:
    """lifetimes' RFM (days) on the purchases that stand, with the amounts as the lines give them."""
    from lifetimes.utils import summary_data_from_transaction_data

    lines = line_log[~line_log["InvoiceNo"].str.startswith("C") & line_log["CustomerID"].ne("")].copy()
    cancelled_orders = {"800000" if o == "C800001" else str(int(o[1:]) - 100000)
                        for o in line_log.loc[line_log["InvoiceNo"].str.startswith("C"), "InvoiceNo"]}
    lines = lines[~lines["InvoiceNo"].isin(cancelled_orders)]
    lines["amount"] = lines["Quantity"].astype(float) * lines["UnitPrice"].astype(float)
    lines["day"] = pd.to_datetime(lines["InvoiceDate"], format="%d/%m/%Y %H:%M").dt.normalize()
    assert lines["CustomerID"].nunique() == kept["customer_id"].nunique()
    summary = summary_data_from_transaction_data(
        lines, "CustomerID", "day", monetary_value_col="amount", freq="D",
        observation_period_end=pd.Timestamp("1998-06-30"))
    return summary.rename_axis("customer_id")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, object]:
    base = tmp_path_factory.mktemp("flow")
    log, kept, n_cancel_lines = _order_lines(shared_data)
    log.to_csv(base / "orders.csv", index=False)
    log.set_axis(ZH_HEADERS, axis=1).to_csv(base / "订单.csv", index=False, encoding="gb18030")
    log.to_excel(base / "orders.xlsx", index=False)
    return {"dir": base, "log": log, "kept": kept, "cancel_lines": n_cancel_lines,
            "expected": _expected_rfm(kept, log)}


def _json(args: list[str]) -> object:
    result = runner.invoke(app, ["--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _rfm(ws: Path, out: Path) -> pd.DataFrame:
    result = runner.invoke(app, ["rfm", "-w", str(ws), "--freq", "D", "--observation-end", "1998-06-30",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out, dtype={"customer_id": str})
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    return frame.sort_index()


def _check_rfm(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    exp = expected.sort_index()
    assert list(got.index) == list(exp.index)
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[col].to_numpy(float), exp[col].to_numpy(float), rtol=1e-9, atol=1e-6,
                                   err_msg=col)


def test_order_line_log_with_cancellations_runs_the_readme_flow(files: dict[str, object]) -> None:
    """load (UK dates, cancellations, rows without customer), re-load, rfm, fit, score (CSV and
    Parquet alike, and into the workspace), evaluate, feedback, voc by segment, alerts, cases."""
    base = files["dir"]
    assert isinstance(base, Path)
    ws = base / "shop.duckdb"
    report = _json(["load", "transactions", str(base / "orders.csv"), "-w", str(ws), *MAP, *UK])
    assert isinstance(report, dict)
    assert sum(report["rejected"].values()) == 5  # the counter sales without a customer, kept in the rejects file
    assert report["refunds_netted"] == files["cancel_lines"]
    assert report["orders_cancelled"] >= 1
    again = _json(["load", "transactions", str(base / "orders.csv"), "-w", str(ws), *MAP, *UK])
    assert isinstance(again, dict)
    assert again["inserted"] == 0
    assert again.get("updated", 0) == 0

    expected = files["expected"]
    assert isinstance(expected, pd.DataFrame)
    rfm = _rfm(ws, base / "rfm.csv")
    _check_rfm(rfm, expected)
    assert rfm.loc["00007", "monetary_value"] < 1000  # the cancelled 9,999 order is no purchase
    _check_rfm(_rfm(ws, base / "rfm.parquet"), expected)

    for model in ("bgnbd", "gammagamma"):
        fit = runner.invoke(app, ["fit", model, str(base / "rfm.csv"), "-o", str(base / f"{model}.json")])
        assert fit.exit_code == 0, fit.output
    totals = []
    for rfm_file in ("rfm.csv", "rfm.parquet"):
        out = base / f"scores-{rfm_file}.csv"
        res = runner.invoke(app, ["score", str(base / "bgnbd.json"), str(base / rfm_file), "--spend-model",
                                  str(base / "gammagamma.json"), "--horizon-days", "365", "-o", str(out)])
        assert res.exit_code == 0, res.output
        scores = pd.read_csv(out)
        assert (scores["clv"] >= 0).all()
        totals.append(scores["clv"].sum())
    assert totals[0] == pytest.approx(totals[1], rel=1e-12)
    into = runner.invoke(app, ["score", str(base / "bgnbd.json"), "--spend-model", str(base / "gammagamma.json"),
                               "-w", str(ws)])
    assert into.exit_code == 0, into.output

    evaluation = _json(["evaluate", "bgnbd", "-w", str(ws), "--calibration-end", "1997-09-30",
                        "--observation-end", "1998-06-30", "--freq", "D"])
    assert isinstance(evaluation, dict)
    assert evaluation["holdout"]["actual_total"] == pytest.approx(
        _holdout_days(files), rel=1e-12)

    from clvlab.datasets import path as dataset_path

    fb = _json(["load", "feedback", str(dataset_path("demo_feedback")), "-w", str(ws)])
    assert isinstance(fb, dict)
    assert fb["inserted"] > 0
    by_segment = runner.invoke(app, ["voc", "metrics", "-w", str(ws), "--by", "segment"])
    assert by_segment.exit_code == 0, by_segment.output
    store = base / "app.sqlite"
    owners = runner.invoke(app, ["cases", "owners", "load", str(dataset_path("demo_owners")), "--app-store",
                                 f"sqlite:///{store}"])
    assert owners.exit_code == 0, owners.output
    alerts = _json(["alerts", "run", "-w", str(ws), "--app-store", f"sqlite:///{store}"])
    assert isinstance(alerts, dict)
    cases = runner.invoke(app, ["--json", "cases", "list", "--app-store", f"sqlite:///{store}"])
    assert cases.exit_code == 0, cases.output
    listed = json.loads(cases.stdout)
    assert listed
    assert all(c["owner_id"] for c in listed)


def _holdout_days(files: dict[str, object]) -> float:
    """Purchase days after the calibration end of the customers first seen before it (kept rows)."""
    kept = files["kept"]
    assert isinstance(kept, pd.DataFrame)
    days = kept.drop_duplicates(["customer_id", "ordered_at"])
    cohort = set(days.loc[days["ordered_at"] <= "1997-09-30", "customer_id"])
    holdout = days[(days["ordered_at"] > "1997-09-30") & days["customer_id"].isin(cohort)]
    return float(len(holdout))


@pytest.mark.parametrize("name", ["订单.csv", "orders.xlsx"])
def test_gbk_and_excel_exports_give_the_same_rfm(files: dict[str, object], name: str) -> None:
    """The same log exported by a Chinese system (GB18030, Chinese headers, no --encoding) or as
    Excel loads to the same RFM as the UTF-8 CSV."""
    base = files["dir"]
    assert isinstance(base, Path)
    ws = base / f"{Path(name).stem}-{Path(name).suffix[1:]}.duckdb"
    mapping = ZH_MAP if name.endswith(".csv") else MAP
    report = _json(["load", "transactions", str(base / name), "-w", str(ws), *mapping, *UK])
    assert isinstance(report, dict)
    assert sum(report["rejected"].values()) == 5
    expected = files["expected"]
    assert isinstance(expected, pd.DataFrame)
    _check_rfm(_rfm(ws, base / f"{ws.stem}.csv"), expected)
