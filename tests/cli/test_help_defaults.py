"""`--help` shows the defaults written in option help: Rich read "[default: ...]" as a markup tag
and dropped it ("Last day counted, YYYY-MM-DD ." instead of "... [default: the last order day].").
Every option of every command is checked, so a new help text cannot bring the bug back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if hasattr(group, "list_commands"):  # a group (typer's own click types: no isinstance)
        ctx = group.context_class(group)
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is not None:
                yield from _commands(sub, (*path, name))
    else:
        yield path, group


WRITTEN = [(path, text) for path, command in _commands(typer.main.get_command(app))
           for param in command.params
           for text in re.findall(r"\[default: ([^\]]+)\]", getattr(param, "help", None) or "")]


def test_some_help_texts_write_a_default() -> None:
    assert len(WRITTEN) > 30


@pytest.mark.parametrize(("path", "default"), WRITTEN, ids=[f"{' '.join(p)}:{d[:20]}" for p, d in WRITTEN])
def test_help_shows_the_default(path: tuple[str, ...], default: str) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=400)
    assert result.exit_code == 0
    shown = " ".join(result.output.replace("│", " ").split())
    assert f"[default: {' '.join(default.split())}]" in shown
