"""Hints name the setting that fixes an error: a flag on the command line, a keyword in Python,
fields in JSON; rows are counted from 1, the header excluded, on the real CDNOW log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app

runner = CliRunner()
LOAD = ["--sep", "whitespace", "--map", "ordered_at=date", "--map", "amount=dollar_value"]


@pytest.fixture
def cdnow_head(shared_data: Path, tmp_path: Path) -> Path:
    """The header and first 40 rows of CDNOW_master.txt (dates as 19970101)."""
    lines = (shared_data / "cdnow" / "CDNOW_master.txt").read_text().splitlines(keepends=True)
    path = tmp_path / "cdnow_head.txt"
    path.write_text("".join(lines[:41]))
    return path


def test_bad_date_format_hints_a_flag_on_the_cli_and_a_keyword_in_python(cdnow_head: Path, tmp_path: Path) -> None:
    """Dates read with the wrong format: the CLI's one line says --date-format '%Y%m%d' and
    names row 1 (the first data row, not the header); Python's message says
    date_format='%Y%m%d' (it said --date-format, a flag Python does not have)."""
    args = ["load", "transactions", str(cdnow_head), "-w", str(tmp_path / "w.duckdb"), *LOAD,
            "--date-format", "%Y-%m-%d"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith("error: 40 invalid rows in 'cdnow_head.txt' (no valid row): row 1, column 'date', "
                           "value '19970101': not a date (expected %Y-%m-%d); row 2, ")
    assert "Hint: --date-format '%Y%m%d'; rejected rows are in " in line
    assert "date_format=" not in line

    with clvlab.connect(tmp_path / "py.duckdb") as ws, pytest.raises(clvlab.DataValidationError) as exc:
        ws.load_transactions(cdnow_head, {"ordered_at": "date", "amount": "dollar_value"}, sep="whitespace",
                             date_format="%Y-%m-%d")
    assert "Hint: date_format='%Y%m%d'; rejected rows are in " in str(exc.value)
    assert "--date-format" not in str(exc.value)
    assert exc.value.issues[0].row == 1


def test_json_error_carries_the_hint_as_fields(cdnow_head: Path, tmp_path: Path) -> None:
    """`--json` errors list hints as {option, value, text}: a client can set date_format itself."""
    args = ["--json", "load", "transactions", str(cdnow_head), "-w", str(tmp_path / "w.duckdb"), *LOAD,
            "--date-format", "%Y-%m-%d"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["hints"][0] == {"option": "date_format", "value": "%Y%m%d", "text": ""}
    assert error["hints"][1]["option"] is None
    assert error["hints"][1]["text"].startswith("rejected rows are in ")
    assert error["errors"][0] == {"row": 1, "column": "date", "value": "19970101",
                                  "message": "not a date (expected %Y-%m-%d)"}
    assert "--date-format '%Y%m%d'" in error["error"]


def test_first_data_row_bad_is_row_1(cdnow_head: Path, tmp_path: Path) -> None:
    """The first data row of CDNOW_master.txt with a stray field is 'row 1' (the header is not a row)."""
    lines = cdnow_head.read_text().splitlines(keepends=True)
    lines[1] = lines[1].rstrip("\r\n") + "  extra\n"
    bad = tmp_path / "stray.txt"
    bad.write_text("".join(lines))
    result = runner.invoke(app, ["load", "transactions", str(bad), "-w", str(tmp_path / "w.duckdb"), *LOAD])
    assert result.exit_code == 1
    assert result.output.startswith("error: row 1 of 'stray.txt' has more fields than the 4 columns"), result.output


def test_ambiguous_dates_offer_both_formats_as_flags(tmp_path: Path) -> None:
    """01/02/2023 is 1 Feb or 2 Jan: the CLI offers both --date-format values, JSON both hints."""
    f = tmp_path / "o.csv"
    f.write_text("customer_id,ordered_at,amount\nA,01/02/2023,1\nB,03/04/2023,2\n")
    result = runner.invoke(app, ["load", "transactions", str(f), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 1
    assert "Hint: --date-format '%d/%m/%Y' or --date-format '%m/%d/%Y'" in result.output
    as_json = runner.invoke(app, ["--json", "load", "transactions", str(f), "-w", str(tmp_path / "w.duckdb")])
    assert [h["value"] for h in json.loads(as_json.stdout)["hints"]] == ["%d/%m/%Y", "%m/%d/%Y"]


def test_a_switched_off_setting_is_its_no_flag_on_the_cli_and_false_in_python() -> None:
    from clvlab.cli._common import as_flag
    from clvlab.errors import Hint

    hint = Hint("for the figures without CAC", option="cac", value=False)
    assert hint.render(as_flag) == "--no-cac (for the figures without CAC)"
    assert str(hint) == "cac=False (for the figures without CAC)"
