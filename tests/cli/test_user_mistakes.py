"""User mistakes found by feeding the CLI messy real files (CDNOW): each is one located line with
a remedy and the documented exit code, never a traceback, and never a silent success."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()


@pytest.fixture
def cdnow_csv(shared_data: Path, tmp_path: Path) -> Path:
    """The first 200 rows of CDNOW_master.txt as a semicolon CSV with a byte-order mark."""
    lines = (shared_data / "cdnow" / "CDNOW_master.txt").read_text().splitlines()[:201]
    path = tmp_path / "orders.csv"
    path.write_text("\ufeff" + "\n".join(";".join(line.split()) for line in lines) + "\n", encoding="utf-8")
    return path


def test_a_data_file_as_workspace_is_refused_not_loaded_into_memory(cdnow_csv: Path, tmp_path: Path) -> None:
    """`-w orders.csv` (the data file where the workspace goes): DuckDB would open the CSV as an
    in-memory database, so `load` said "Loaded" and kept nothing, and readers failed with
    "Cannot launch in-memory database in read-only mode!"."""
    other = tmp_path / "other.csv"
    other.write_bytes(cdnow_csv.read_bytes())
    loaded = runner.invoke(app, ["load", "transactions", str(cdnow_csv), "-w", str(other)])
    assert loaded.exit_code == 1, loaded.output
    assert loaded.output.strip() == (
        f"error: '{other}' is not a workspace. Hint: a workspace is the DuckDB file that `clvlab load` writes "
        f"(e.g. shop.duckdb), not a data file: load this one with `clvlab load transactions {other} -w shop.duckdb`")
    assert other.read_bytes() == cdnow_csv.read_bytes()
    read = runner.invoke(app, ["--json", "economics", "-w", str(cdnow_csv)])
    assert read.exit_code == 1
    payload = json.loads(read.stdout)
    assert payload["error"].startswith(f"'{cdnow_csv}' is not a workspace")
    assert "clvlab load transactions" in payload["hints"][0]["text"]


def test_a_folder_as_workspace_names_a_file_inside(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cohorts", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == (f"error: '{tmp_path}' is not a workspace. Hint: a workspace is a DuckDB file, "
                                     f"not a folder: e.g. {tmp_path / 'clvlab.duckdb'}")


@pytest.fixture
def loaded(cdnow_csv: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["load", "transactions", str(cdnow_csv), "-w", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("command", [["economics", "--no-cac"], ["cohorts"]])
def test_as_of_outside_the_data_hints_the_last_day(loaded: Path, command: list[str]) -> None:
    """The message named the range but gave no remedy (and would have ended in '..' with one)."""
    result = runner.invoke(app, ["--json", *command, "-w", str(loaded), "--as-of", "1990-01-01"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["error"].endswith("Got '1990-01-01' instead. Hint: --as-of 1998-06-08 (or leave it out: the "
                                     "last order day, 1998-06-08)")
    assert payload["hints"] == [{"option": "as_of", "value": "1998-06-08",
                                 "text": "or leave it out: the last order day, 1998-06-08"}]


def test_a_column_the_table_does_not_take_is_named_not_dropped_silently(cdnow_csv: Path, tmp_path: Path) -> None:
    lines = cdnow_csv.read_text(encoding="utf-8").splitlines()
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join([lines[0] + ";store_note", *(f"{x};n" for x in lines[1:])]) + "\n", encoding="utf-8")
    text = runner.invoke(app, ["load", "transactions", str(extra), "-w", str(tmp_path / "a.duckdb")])
    assert text.exit_code == 0, text.output
    assert "  not loaded: store_note (no column of 'transactions' maps to them)" in text.output
    data = runner.invoke(app, ["--json", "load", "transactions", str(cdnow_csv), "-w", str(tmp_path / "b.duckdb")])
    assert json.loads(data.stdout)["ignored"] == []


@pytest.mark.slow
def test_run_on_a_handful_of_customers_says_so(cdnow_csv: Path, tmp_path: Path) -> None:
    """It said "No model could be fitted: The 'n_bins' parameter of evaluate_holdout must be an int
    in [2, 8]..." three times: a setting the user never gave."""
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("\n".join(cdnow_csv.read_text(encoding="utf-8").splitlines()[:31]) + "\n", encoding="utf-8")
    ws = tmp_path / "t.duckdb"
    assert runner.invoke(app, ["load", "transactions", str(tiny), "-w", str(ws)]).exit_code == 0
    result = runner.invoke(app, ["run", "-w", str(ws)])
    assert result.exit_code == 1
    assert result.output.strip() == ("error: only 8 customers bought in the calibration period: too few to fit and "
                                     "compare purchase models. Hint: load more customers' history (models need "
                                     "hundreds)")


def test_an_unknown_canonical_name_hints_the_flag_not_a_python_dict(cdnow_csv: Path, tmp_path: Path) -> None:
    """The CLI said "Hint: mapping is {canonical_name: source_column}", Python syntax on a command line."""
    result = runner.invoke(app, ["load", "transactions", str(cdnow_csv), "-w", str(tmp_path / "m.duckdb"),
                                 "--map", "foo=dollar_value"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith("error: mapping names 'foo', which is not a column of table 'transactions' (its columns: ")
    assert line.endswith("Hint: --map '<canonical>=<source column>' (the table's column first, then the file's)")


def test_json_after_the_command_is_taken_as_the_global_flag(loaded: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`clvlab cohorts --json` said "No such option: --json (Possible options: --as-of)"."""
    from clvlab.cli import main

    monkeypatch.setattr("sys.argv", ["clvlab", "cohorts", "-w", str(loaded), "--json"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "1998-06-08"
