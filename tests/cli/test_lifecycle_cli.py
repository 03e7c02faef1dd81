"""``clvlab lifecycle`` and ``clvlab health``: JSON output, exit codes, located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app

runner = CliRunner()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A workspace of 40 customers buying every 20-60 days through 2024, some stopping early."""
    rows = []
    for i in range(40):
        gap = 20 + i
        stop = pd.Timestamp("2024-12-31") - pd.Timedelta(days=8 * i)
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=i)
        while day <= stop:
            rows.append((f"c{i:02d}", day.date().isoformat(), 10.0 + i))
            day += pd.Timedelta(days=gap)
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_transactions(pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"]))
    return path


@pytest.mark.slow
def test_lifecycle_json_stage_sizes_and_transitions(shop: Path) -> None:
    """--json: stage sizes at the last two month ends; each matrix row sums to the size at the start."""
    result = runner.invoke(app, ["--json", "lifecycle", "-w", str(shop), "--as-of", "2024-12-31"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc["stages"]) == ["2024-11-30", "2024-12-31"]
    assert sum(doc["stages"]["2024-12-31"].values()) == 40
    start = doc["stages"]["2024-11-30"]
    matrix = doc["transitions"]["matrix"]
    assert {s: sum(matrix[s].values()) for s in start} == start
    assert doc["transitions"]["start"] == "2024-11-30"
    assert doc["transitions_by_month"] is None


@pytest.mark.slow
def test_a_date_after_the_data_is_noted_with_the_days_since_the_last_transaction(shop: Path) -> None:
    with clvlab.connect(shop) as ws:
        last = pd.Timestamp(ws.table("transactions").ordered_at.max().execute()).date()
    result = runner.invoke(app, ["--json", "lifecycle", "-w", str(shop), "--as-of", "2025-12-31"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    days = (pd.Timestamp("2025-12-31").date() - last).days
    assert (doc["data_end"], doc["days_after_data"]) == (str(last), days)
    assert f"{days:,} days after the last transaction in the data ({last})" in doc["note"]
    result = runner.invoke(app, ["lifecycle", "-w", str(shop), "--as-of", "2025-12-31"])
    assert result.exit_code == 0, result.output
    assert f"Note: as of 2025-12-31, {days:,} days after the last transaction" in " ".join(result.output.split())
    result = runner.invoke(app, ["--json", "lifecycle", "-w", str(shop), "--as-of", str(last)])
    assert json.loads(result.stdout)["note"] is None


@pytest.mark.slow
def test_lifecycle_by_month_and_health_print_tables(shop: Path) -> None:
    """Human output: one row per month end, the transition matrix, the onboarding table; health gives
    bands and red customers; a backtest on one year of data says it needs more history."""
    result = runner.invoke(app, ["lifecycle", "-w", str(shop), "--by", "month", "--months", "3", "--onboarding",
                                 "--as-of", "2024-12-31"])
    assert result.exit_code == 0, result.output
    for text in ("2024-10-31", "2024-11-30", "2024-12-31", "Transitions", "Onboarding"):
        assert text in result.stdout
    result = runner.invoke(app, ["--json", "health", "-w", str(shop), "--top", "3"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sum(doc["bands"].values()) == 40
    assert len(doc["top_red"]) <= 3
    assert doc["backtest"] is None
    result = runner.invoke(app, ["health", "-w", str(shop), "--backtest"])  # needs two 180-day windows
    assert result.exit_code == 1
    assert "fitting the health weights needs purchases before 2024-01-01" in result.stderr


def test_as_of_outside_the_data_and_bg_nbd_exit_codes(shop: Path) -> None:
    """--as-of outside the data: exit 1 with the data's range; --model BetaGeo: exit 2 saying why."""
    result = runner.invoke(app, ["lifecycle", "-w", str(shop), "--as-of", "2023-06-30"])
    assert result.exit_code == 1
    assert "as_of 2023-06-30 is outside the data, whose purchases run from 2024-01-01" in result.stderr
    result = runner.invoke(app, ["--json", "health", "-w", str(shop), "--as-of", "2099-01-01"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False
    result = runner.invoke(app, ["lifecycle", "-w", str(shop), "--model", "BetaGeo"])
    assert result.exit_code == 2
    assert "BG/NBD gives P(alive) = 1" in result.stderr
