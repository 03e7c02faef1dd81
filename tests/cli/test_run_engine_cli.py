"""``clvlab run --engine spark`` refuses the options of a workspace run (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()


def test_engine_with_a_workspace_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--engine", "spark", "-w", str(tmp_path / "shop.duckdb")])
    assert result.exit_code == 2
    assert "--workspace, --app-store and --covariate belong to runs on a DuckDB or PostgreSQL workspace" in result.output
    assert not (tmp_path / "shop.duckdb").exists()
