"""`clvlab cohorts`, `clvlab economics` and `clvlab load marketing_spend` as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
TX = "customer_id,ordered_at,amount\nA,2024-01-10,50\nA,2024-02-15,40\nA,2025-06-30,20\nB,2024-01-20,40\n" \
     "C,2024-01-05,100\nC,2024-03-01,100\nD,2024-08-01,60\n"
CUSTOMERS = "customer_id,acquisition_channel\nA,search\nB,search\nC,social\nD,social\n"
SPEND = "period,channel,cost,new_customers\n2024-01-01,search,100,\n2024-01-01,social,60,2\n2024-08-01,social,90,1\n"


def _strict(text: str) -> Any:
    def no_nan(name: str) -> None:
        raise AssertionError(f"--json printed {name}")
    return json.loads(text, parse_constant=no_nan)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "shop.duckdb"
    for table, text in (("transactions", TX), ("customers", CUSTOMERS)):
        (tmp_path / f"{table}.csv").write_text(text)
        result = runner.invoke(app, ["load", table, str(tmp_path / f"{table}.csv"), "-w", str(path)])
        assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("command", ["cohorts", "economics"])
def test_help_and_readme(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"clvlab {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_economics_says_what_to_load_then_shows_cac(ws: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["economics", "-w", str(ws), "--by", "channel"])
    assert result.exit_code == 1
    assert "no marketing spend" in result.output
    assert "clvlab load marketing_spend FILE" in result.output
    (tmp_path / "spend.csv").write_text(SPEND + "2024-02-01,search,lots,\n")
    load = runner.invoke(app, ["--json", "load", "marketing_spend", str(tmp_path / "spend.csv"), "-w", str(ws)])
    assert load.exit_code == 0, load.output
    report = _strict(load.stdout)
    assert report["inserted"] == 3
    assert report["rejected"] == {"cost: not a number": 1}
    result = runner.invoke(app, ["--json", "economics", "-w", str(ws), "--by", "channel", "--margin", "0.8"])
    assert result.exit_code == 0, result.output
    rows = {r["channel"]: r for r in _strict(result.stdout)["rows"]}
    assert rows["search"]["cac"] == 50.0
    assert rows["search"]["payback_months"] == 2.0
    assert rows["social"]["cac"] == 50.0
    human = runner.invoke(app, ["economics", "-w", str(ws), "--by", "channel", "--by", "cohort"])
    assert human.exit_code == 0, human.output
    assert "2024-01" in human.output
    assert "LTV:CAC" in human.output


def test_no_cac_and_bad_input(ws: Path) -> None:
    result = runner.invoke(app, ["--json", "economics", "-w", str(ws), "--no-cac"])
    assert result.exit_code == 0, result.output
    assert _strict(result.stdout)["by"] == ["channel", "cohort"]
    result = runner.invoke(app, ["--json", "economics", "-w", str(ws), "--by", "cohort", "--no-cac"])
    assert result.exit_code == 0, result.output
    payload = _strict(result.stdout)
    assert [r["cohort"] for r in payload["rows"]] == ["2024-01-01", "2024-08-01"]
    late = runner.invoke(app, ["economics", "-w", str(ws), "--no-cac", "--by", "cohort", "--as-of", "2026-01-01"])
    assert late.exit_code == 2
    assert "'as_of'" in late.output
    assert "within the data, 2024-01-05 to 2025-06-30" in late.output
    bad = runner.invoke(app, ["economics", "-w", str(ws), "--by", "store"])
    assert bad.exit_code == 2


def test_cohorts_json_and_table(ws: Path) -> None:
    result = runner.invoke(app, ["--json", "cohorts", "-w", str(ws), "--period", "quarter", "--metric", "customers"])
    assert result.exit_code == 0, result.output
    payload = _strict(result.stdout)
    first = payload["rows"][0]
    assert (first["cohort"], first["cohort_size"]) == ("2024-01-01", 3)
    assert first["cells"]["0"] == 3  # A, B, C bought in their first quarter
    assert first["cells"]["5"] == 1  # A in 2025-Q2
    table = runner.invoke(app, ["cohorts", "-w", str(ws), "--period", "quarter"])
    assert table.exit_code == 0, table.output
    assert "2024Q1" in table.output
    assert "100.0" in table.output
    bad = runner.invoke(app, ["cohorts", "-w", str(ws), "--as-of", "2024-13-01"])
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output
