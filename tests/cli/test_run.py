"""``clvlab run``: the whole pipeline on a workspace whose transactions are already loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()
CDNOW_CUSTOMERS = 23_570


@pytest.fixture(scope="module")
def cdnow_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the bundled CDNOW master log as its transactions."""
    from clvlab.data.workspace import connect
    from clvlab.datasets import path as dataset_path
    from clvlab.pipeline import CDNOW_MAPPING

    ws_path = tmp_path_factory.mktemp("run") / "shop.duckdb"
    with connect(ws_path) as ws:
        ws.load("transactions", dataset_path("cdnow_master"), mapping=CDNOW_MAPPING, date_format="%Y%m%d",
                sep="whitespace", progress=False)
    return ws_path


def _run(ws: Path, *args: str) -> dict:
    result = runner.invoke(app, ["--json", "run", "-w", str(ws), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _run_ids(ws: Path) -> dict[str, set[str]]:
    from clvlab.data.workspace import connect

    with connect(ws, read_only=True) as con:
        return {t: {r[0] for r in con.con.con.execute(f"SELECT DISTINCT run_id FROM {t}").fetchall()}
                for t in ("scores", "stages", "health", "churn", "cohorts", "economics")}


@pytest.mark.slow
def test_run_writes_every_derived_table_with_one_run_id(cdnow_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLVLAB_APP_STORE", raising=False)
    first = _run(cdnow_ws, "--as-of", "1998-06-30")
    assert first["as_of"] == "1998-06-30"
    assert first["n_customers"] == CDNOW_CUSTOMERS
    assert first["tables"] == ["scores", "stages", "health", "churn", "cohorts", "economics"]
    assert first["cases_opened"] is None  # no app store configured
    assert _run_ids(cdnow_ws) == {key: {first["run_id"]} for key in first["tables"]}
    from clvlab.data.workspace import connect

    with connect(cdnow_ws, read_only=True) as ws:
        assert ws.con.con.execute("SELECT count(*) FROM scores").fetchone()[0] == CDNOW_CUSTOMERS

    second = _run(cdnow_ws, "--as-of", "1998-06-30")
    assert second["run_id"] != first["run_id"]
    assert second["model"] == first["model"]
    assert second["total_clv"] == pytest.approx(first["total_clv"], rel=1e-9)
    assert _run_ids(cdnow_ws) == {key: {second["run_id"]} for key in first["tables"]}


@pytest.mark.slow
def test_run_human_summary_defaults_to_the_latest_day(cdnow_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLVLAB_APP_STORE", raising=False)
    result = runner.invoke(app, ["run", "-w", str(cdnow_ws)])
    assert result.exit_code == 0, result.output
    assert "as of 1998-06-30" in result.output
    assert "23,570 customers scored" in result.output
    assert "scores, stages, health, churn, cohorts, economics" in result.output


@pytest.mark.slow
def test_run_opens_cases_in_the_given_app_store(cdnow_ws: Path, tmp_path: Path) -> None:
    import shutil

    from clvlab.data.workspace import connect
    from clvlab.datasets import path as dataset_path

    store = f"sqlite:///{tmp_path / 'app.sqlite'}"
    summary = _run(cdnow_ws, "--app-store", store)
    assert summary["cases_opened"] == 0  # no feedback loaded: no alert rule can fire
    ws = tmp_path / "with-feedback.duckdb"
    shutil.copy(cdnow_ws, ws)
    with connect(ws) as con:
        con.load("feedback", dataset_path("demo_feedback"), progress=False)
    summary = _run(ws, "--app-store", store)
    assert summary["cases_opened"] > 0
    assert _run(ws, "--app-store", store)["cases_opened"] == 0  # a re-run opens no case twice


@pytest.mark.slow
@pytest.mark.parametrize("as_of", ["2030-01-01", "1990-01-01"])
def test_as_of_outside_the_data_is_one_line_naming_the_range(cdnow_ws: Path, as_of: str) -> None:
    result = runner.invoke(app, ["run", "-w", str(cdnow_ws), "--as-of", as_of])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "1997-01-01 to 1998-06-30" in lines[0]
    assert f"--as-of {as_of}" in lines[0]


@pytest.mark.slow
def test_calibration_end_after_as_of_is_refused(cdnow_ws: Path) -> None:
    result = runner.invoke(app, ["run", "-w", str(cdnow_ws), "--as-of", "1997-09-30",
                                 "--calibration-end", "1997-12-31"])
    assert result.exit_code == 1
    assert "--calibration-end 1997-12-31" in result.output


def test_workspace_without_transactions_says_what_to_load(tmp_path: Path) -> None:
    ws = tmp_path / "empty.duckdb"
    result = runner.invoke(app, ["run", "-w", str(ws)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"clvlab load transactions FILE -w {ws}" in lines[0]


def test_bad_as_of_is_a_parameter_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "-w", str(tmp_path / "x.duckdb"), "--as-of", "tomorrow-ish"])
    assert result.exit_code in (1, 2)


def test_run_is_exported() -> None:
    import clvlab
    from clvlab.pipeline import run_pipeline

    assert clvlab.run is run_pipeline


@pytest.mark.parametrize("command", [
    ["run"], ["rfm"], ["fit", "bgnbd"], ["evaluate", "bgnbd", "--calibration-end", "2024-01-01"], ["lifecycle"], ["health"], ["cohorts"],
    ["economics"], ["voc", "metrics"], ["voc", "text"],
])
def test_a_workspace_that_does_not_exist_is_not_created(tmp_path: Path, command: list[str]) -> None:
    """A mistyped -w is a one-line error naming it, for every command but load; no empty
    workspace file is left behind."""
    typo = tmp_path / "typo.duckdb"
    result = runner.invoke(app, [*command, "-w", str(typo)])
    assert result.exit_code == 1, result.output
    assert "does not exist" in result.output
    assert f"clvlab load transactions FILE -w {typo}" in result.output
    assert not typo.exists()
