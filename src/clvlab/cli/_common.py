"""What every command shares: global flags, the error boundary, reading and writing frames."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import pandas as pd
import typer
from rich.console import Console

from clvlab.errors import ClvlabError, DataValidationError, ParameterError

P = ParamSpec("P")
R = TypeVar("R")

#: human output goes to stderr so that stdout carries only data (--json, --format csv)
console = Console(stderr=True)
out = Console()


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="DuckDB workspace file [default: $CLVLAB_WORKSPACE or ./clvlab.duckdb]."),
]


def connect_workspace(workspace: Path | None, *, read_only: bool = False) -> Any:
    """Open the workspace named on the command line (or the default).

    ``read_only`` (for commands that only read) applies when the named file exists, so several
    readers can share it; otherwise the workspace opens as usual.
    """
    from clvlab.data.workspace import connect

    return connect(workspace, read_only=read_only and workspace is not None and Path(workspace).exists())


@dataclass
class State:
    """Global flags, set by the app callback."""

    json: bool = False
    debug: bool = False


state = State()


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn clvlab errors into one line on stderr and exit 1 (2 for a bad parameter).

    ``--debug`` adds the traceback. Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ClvlabError as exc:
            if state.debug:
                traceback.print_exc()
            code = 2 if isinstance(exc, ParameterError) else 1
            if state.json:
                issues = [
                    {"row": i.row, "column": i.column, "value": _jsonable(i.value), "message": i.message}
                    for i in getattr(exc, "issues", [])
                ]
                print(json.dumps({"ok": False, "error": str(exc), "errors": issues, "status": code}))
            else:
                console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(code) from None

    return wrapper


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def emit_json(payload: Any) -> None:
    """Print a JSON document on stdout (dates and NumPy numbers made plain)."""
    print(json.dumps(payload, default=_default, ensure_ascii=False, indent=2))


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """``['ordered_at=date', 'amount=total']`` -> ``{'ordered_at': 'date', 'amount': 'total'}``."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        canonical, sep, column = pair.partition("=")
        if not sep or not canonical.strip() or not column.strip():
            msg = f"--map expects CANONICAL=COLUMN (e.g. --map ordered_at=date). Got {pair!r} instead."
            raise ParameterError(msg)
        mapping[canonical.strip()] = column.strip()
    return mapping


def read_frame(path: Path, *, index: str | None = "customer_id") -> pd.DataFrame:
    """Read a CSV or Parquet file written by clvlab (or by hand) into pandas."""
    if not path.exists():
        msg = f"File not found: '{path}'"
        raise DataValidationError(msg)
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={index: str} if index else None)
    except (OSError, ValueError) as exc:
        msg = f"Cannot read '{path}': {exc}"
        raise DataValidationError(msg) from exc
    if index and index in frame.columns:
        frame = frame.set_index(index)
    return frame


def write_frame(frame: pd.DataFrame, path: Path | None, fmt: str = "csv") -> None:
    """Write to ``path`` (format from its suffix) or, without a path, to stdout as ``fmt``."""
    if path is None:
        if fmt == "json":
            sys.stdout.write(frame.reset_index().to_json(orient="records", date_format="iso") + "\n")
        else:
            frame.to_csv(sys.stdout)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        frame.to_parquet(path)
    elif suffix == ".json":
        path.write_text(frame.reset_index().to_json(orient="records", date_format="iso"), encoding="utf-8")
    else:
        frame.to_csv(path)
