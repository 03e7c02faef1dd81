"""`--help` shows the defaults written in option help: Rich read "[default: ...]" as a markup tag
and dropped it ("Last day counted, YYYY-MM-DD ." instead of "... [default: the last order day].")."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()


@pytest.mark.parametrize(("command", "default"), [
    ("economics", "[default: the last order day]"),
    ("lifecycle", "[default: the last purchase day]"),
    ("load", "[default: net]"),
    ("cohorts", "[default: $CLVLAB_WORKSPACE or ./clvlab.duckdb]"),
])
def test_help_shows_the_default(command: str, default: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert default in " ".join(result.output.replace("│", " ").split())
