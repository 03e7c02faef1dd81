"""Loading the real CDNOW files (Fader, Hardie & Lee 2005 data; see shared/data/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

import clvlab


def test_cdnow_master_loads_69659_rows_and_reports_255_duplicates(
    shared_data: Path, tmp_path: Path
) -> None:
    """CDNOW master: 69,659 transactions of 23,570 customers; 255 rows repeat an earlier row."""
    with clvlab.connect(tmp_path / "shop.duckdb") as ws:
        report = ws.load_transactions(shared_data / "cdnow" / "CDNOW_master.txt")
        assert report.rows_read == 69_659
        assert report.inserted == 69_659
        assert report.duplicates == 255
        assert report.rejected == {}
        assert report.date_format == "%Y%m%d"
        t = ws.table("transactions")
        assert t.count().execute() == 69_659
        assert t.customer_id.nunique().execute() == 23_570
        assert float(t.amount.sum().execute()) == pytest.approx(2_500_315.63, abs=0.01)
        assert t.is_refund.sum().execute() == 0
        assert "255" in str(report)


def test_reload_is_a_noop(shared_data: Path, tmp_path: Path) -> None:
    """Re-loading the same file inserts nothing; every row is reported as already present."""
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_transactions(shared_data / "cdnow" / "CDNOW_master.txt")
    with clvlab.connect(path) as ws:
        again = ws.load_transactions(shared_data / "cdnow" / "CDNOW_master.txt")
        assert again.inserted == 0
        assert again.already_present == 69_659
        assert ws.table("transactions").count().execute() == 69_659


@pytest.mark.parametrize("suffix", [".yml", ".toml"])
def test_cdnow_sample_headerless_with_config(
    shared_data: Path, tmp_path: Path, suffix: str
) -> None:
    """CDNOW sample (no header) loads with a config naming its columns: 6,919 rows, 2,357 ids."""
    cfg = tmp_path / f"cdnow{suffix}"
    if suffix == ".yml":
        cfg.write_text(
            "header: false\n"
            "columns: [customer_id, customer_index, date, cds, dollar_value]\n"
            "date_format: '%Y%m%d'\n"
            "mapping: {ordered_at: date, amount: dollar_value, quantity: cds}\n"
        )
    else:
        cfg.write_text(
            "header = false\n"
            'columns = ["customer_id", "customer_index", "date", "cds", "dollar_value"]\n'
            'date_format = "%Y%m%d"\n'
            "[mapping]\nordered_at = \"date\"\namount = \"dollar_value\"\nquantity = \"cds\"\n"
        )
    with clvlab.connect(":memory:") as ws:
        report = ws.load_transactions(shared_data / "cdnow" / "CDNOW_sample.txt", config=cfg)
        assert report.rows_read == 6_919
        assert report.inserted == 6_919
        t = ws.table("transactions")
        assert t.customer_id.nunique().execute() == 2_357
        first = t.filter(t.customer_id == "00004").order_by("ordered_at").limit(1).execute()
        assert str(first.ordered_at.iloc[0].date()) == "1997-01-01"
        assert float(first.amount.iloc[0]) == pytest.approx(29.33)


def test_headerless_without_names_suggests_mapping(shared_data: Path) -> None:
    """Without a config the sample's columns are column0..4 and the error lists them."""
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(clvlab.DataValidationError) as exc:
            ws.load_transactions(shared_data / "cdnow" / "CDNOW_sample.txt")
        msg = str(exc.value)
        assert "'CDNOW_sample.txt' has no column for required 'customer_id'" in msg
        assert "available columns: column0, column1, column2, column3, column4" in msg
        assert "mapping={'customer_id': '<column>'}" in msg
        assert ws.tables() == []
