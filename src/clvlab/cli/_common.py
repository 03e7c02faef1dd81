"""What every command shares: global flags, the error boundary, reading and writing frames.

Rules for every module of ``clvlab.cli`` (``tests/cli/test_startup.py`` enforces the first):

- **No heavy import at module level.** pandas, NumPy, Ibis, DuckDB, SciPy, scikit-learn, jieba
  (and clvlab modules that import them) are imported inside the command function that needs
  them, so ``clvlab --help`` starts in a fraction of a second. Type-only imports go under
  ``if TYPE_CHECKING:``.
- **User text is never markup.** :data:`console` and :data:`out` do not parse Rich markup, so
  a ``[/b]`` in a column name, a path or a comment prints as written; style with
  :class:`rich.text.Text` (see :func:`styled`), never with ``[bold]`` strings holding user text.
- **JSON is JSON**: print it with :func:`emit_json` (NaN and infinities become ``null``).
- Tables come from :func:`new_table`: columns fold instead of cutting ids, numbers go through
  :func:`fmt_number` (counts as integers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text

from clvlab.errors import ClvlabError, DataValidationError, Hint, ParameterError, error_payload

if TYPE_CHECKING:
    import pandas as pd

P = ParamSpec("P")
R = TypeVar("R")

#: width of tables written to a file or a pipe (Rich's own fallback, 80, cuts tables)
PIPE_WIDTH = 200


class _Console(Console):
    """A console that never parses markup and is wide when it writes to a file or a pipe."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, highlight=False, emoji=False)

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if not self.is_terminal:  # a file or a pipe: wide, even when $COLUMNS says 80 (pytest-xdist sets it)
            return ConsoleDimensions(max(dims.width, PIPE_WIDTH), dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


#: human output goes to stderr so that stdout carries only data (--json, --format csv)
console: Console = _Console(stderr=True)
out: Console = _Console()


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line with styles: ``styled(("error:", "bold red"), " ", user_text)``; no markup parsed."""
    return Text.assemble(*parts)


Justify = Literal["left", "right"]


def new_table(title: str | None, columns: Iterable[str | tuple[str, Justify]], **kwargs: Any) -> Table:
    """A Rich table whose cells fold (wrap) rather than cut: ids and labels stay whole."""
    table = Table(title=title, **kwargs)
    for col in columns:
        name, justify = (col, "left") if isinstance(col, str) else col
        table.add_column(name, justify="right" if justify == "right" else "left", overflow="fold")
    return table


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT (without importing pandas)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in {"NAType", "NaTType"}


def fmt_number(value: Any, spec: str = ",.4f", *, whole: bool = False) -> str:
    """A number for a table: counts (ints, NumPy ints) as ``3,332``, other numbers with ``spec``.

    ``whole=True`` also prints integral floats as counts (a sum of purchases is a float that
    counts). Missing values print as an empty cell; strings print as given.
    """
    if is_missing(value):
        return ""
    if hasattr(value, "dtype") and hasattr(value, "item"):  # NumPy scalar
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if whole and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return format(value, spec)


def fmt_label(value: Any) -> str:
    """A group label: dates as ISO days, missing as empty, anything else as text."""
    if is_missing(value):
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    return str(value)


@contextlib.contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A transient Rich bar on stderr (none with ``--json``); yields the ``on_progress(message, done,
    total)`` callback that :func:`clvlab.pipeline.run_pipeline` takes."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, disable=state.json, transient=True) as progress:
        task = progress.add_task("starting", total=None)

        def on_progress(message: str, done: int, total: int) -> None:
            progress.update(task, description=message, completed=done, total=total)

        yield on_progress


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="DuckDB workspace file \\[default: $CLVLAB_WORKSPACE or ./clvlab.duckdb]."),
]


def connect_workspace(workspace: Path | None, *, read_only: bool = False, create: bool = False) -> Any:
    """Open the workspace named on the command line (or the default).

    Only ``create=True`` (``load``) makes a new DuckDB file: any other command on a file that
    does not exist is a located error saying what to load, so a mistyped ``-w`` never leaves an
    empty workspace behind. ``read_only`` (for commands that only read) lets several readers
    share the file.
    """
    from clvlab.data.workspace import connect
    from clvlab.errors import DataValidationError
    from clvlab.settings import get_settings

    target = str(workspace) if workspace is not None else get_settings().workspace
    is_file = "://" not in target and target != ":memory:"
    if is_file and not create and not Path(target).expanduser().exists():
        flag = f" -w {target}" if workspace is not None else ""
        msg = f"workspace '{target}' does not exist"
        raise DataValidationError(msg, hint=f"load data into it first: clvlab load transactions FILE{flag}")
    return connect(workspace, read_only=read_only and is_file)


@dataclass
class State:
    """Global flags, set by the app callback."""

    json: bool = False
    debug: bool = False


state = State()


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn clvlab errors into one line on stderr and exit 1 (2 for a bad parameter, 130 when
    interrupted with Ctrl-C).

    An ``OSError`` (a directory or an unreadable file given as a path, a full disk) is a user
    mistake too: one line naming the path, exit 1. ``--debug`` adds the traceback. Anything else
    is a bug and keeps its traceback. Hints name settings as flags (:func:`as_flag`); with
    ``--json`` they are also listed as ``{option, value, text}``. Warnings print as ``warning:``
    lines (:func:`warning_lines`).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with warning_lines():
                return func(*args, **kwargs)
        except ClvlabError as exc:
            _report(exc, 2 if isinstance(exc, ParameterError) else 1, getattr(exc, "issues", []))
        except OSError as exc:
            _report(DataValidationError(_os_message(exc), hint=_OS_HINTS.get(type(exc))), 1, [])
        except KeyboardInterrupt:
            _report(ClvlabError(INTERRUPTED), 130, [])
        except Exception as exc:
            if not _interrupted(exc):
                raise
            _report(ClvlabError(INTERRUPTED), 130, [])
        raise AssertionError  # pragma: no cover - _report always exits

    return wrapper


@contextlib.contextmanager
def warning_lines() -> Iterator[None]:
    """Within the block a warning prints as one ``warning: message`` line on stderr, as the
    command's other notes do, instead of Python's ``path:line: Category: message`` and the
    source line (the install's paths tell a user nothing); ``--debug`` keeps Python's form.

    Entered on the command's thread before a run starts its threads and left after they end
    (:mod:`clvlab.run_ahead`); a warning from any thread prints through the same console.
    """
    if state.debug:
        yield
        return
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line
        yield


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    console.print(styled(("warning:", "yellow"), " ", str(message)), soft_wrap=True)


#: what an interrupted command (Ctrl-C) says; it exits 130, as shells do (128 + SIGINT)
INTERRUPTED = ("interrupted (Ctrl-C): the tables written before it are kept; a run or load can be "
               "started again (re-loads skip the rows already loaded)")


def _interrupted(exc: Exception) -> bool:
    """Ctrl-C during an engine query: DuckDB raises its InterruptException, or a RuntimeError
    'Query interrupted' from a result being fetched, instead of KeyboardInterrupt."""
    return type(exc).__name__ == "InterruptException" or (
        isinstance(exc, RuntimeError) and str(exc).strip() == "Query interrupted")


_OS_HINTS: dict[type[OSError], str] = {
    IsADirectoryError: "give the path of a file, not of a folder",
    NotADirectoryError: "a part of the path is a file, not a folder",
    PermissionError: "check the file's permissions (or run as a user who may read and write it)",
    FileNotFoundError: "check the path (relative paths start at the current folder)",
}


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    names = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    where = " -> ".join(f"'{n}'" for n in names)
    return f"{where}: {reason}" if where else reason


#: the CLI flag of each library keyword that error hints name (the one place they meet);
#: a keyword missing here has no flag and is shown as the Python keyword
FLAGS: dict[str, str] = {
    "mapping": "--map", "scales": "--scale", "date_format": "--date-format", "timezone": "--timezone",
    "sep": "--sep", "decimal": "--decimal", "encoding": "--encoding", "refunds": "--refunds",
    "config": "--config", "merge_duplicates": "--merge-duplicates", "rejects": "--rejects",
    "freq": "--freq", "observation_end": "--observation-end", "calibration_end": "--calibration-end",
    "root_cause": "--root-cause", "store": "--store",
    "as_of": "--as-of", "window": "--window",
    "segment": "--segment", "stage": "--stage", "allow_overlap": "--allow-overlap", "cac": "--no-cac",
}
_BARE = re.compile(r"[\w.:+=@-]+")


def _shell(word: str) -> str:
    """``word`` as the shell reads it: bare when plain (``gb18030``), else single-quoted."""
    return word if _BARE.fullmatch(word) else "'" + word.replace("'", "'\"'\"'") + "'"


def _flag_value(value: Any) -> str:
    if isinstance(value, list | tuple):  # --scale csat=0-10
        return "-".join(format(v, "g") if isinstance(v, float) else str(v) for v in value)
    return str(value)


def as_flag(hint: Hint) -> str:
    """The setting of ``hint`` as CLI flags: ``--date-format '%d/%m/%Y'``, ``--map amount=total``."""
    flag = FLAGS.get(hint.option or "")
    if flag is None:
        return Hint.python(hint)
    value = hint.value
    if value is None:
        return f"{flag} {str(hint.option).upper()}"
    if value is True or (value is False and flag.startswith("--no-")):
        return flag
    if isinstance(value, Mapping):
        return " ".join(f"{flag} {_shell(f'{k}={_flag_value(v)}')}" for k, v in value.items())
    return f"{flag} {_shell(_flag_value(value))}"


def _report(exc: Exception, code: int, issues: list[Any]) -> None:
    if state.debug:
        traceback.print_exc()
    text = exc.describe(as_flag) if isinstance(exc, ClvlabError) else str(exc)
    if state.json:
        print(json_text(error_payload(exc, code, as_flag), indent=None))
    else:
        console.print(styled(("error:", "bold red"), " ", text), soft_wrap=True)
    raise typer.Exit(code) from None


def plain(obj: Any) -> Any:
    """``obj`` as JSON-able Python: NaN/inf -> None, NumPy scalars and arrays, dates, paths, Decimal."""
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [plain(v) for v in obj]
    if is_missing(obj):
        return None
    if isinstance(obj, Decimal):
        return plain(float(obj))
    if hasattr(obj, "tolist"):  # NumPy scalars and arrays
        return plain(obj.tolist())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def json_text(payload: Any, *, indent: int | None = 2) -> str:
    """Valid JSON (never ``NaN``): see :func:`plain`."""
    return json.dumps(plain(payload), ensure_ascii=False, indent=indent, allow_nan=False)


def emit_json(payload: Any) -> None:
    """Print a JSON document on stdout (NaN and infinities as null, dates and NumPy numbers plain)."""
    print(json_text(payload))


def print_p_alive_note(model: Any, scores: pd.DataFrame) -> None:
    """Under BG/NBD, say on stderr why one-time buyers show P(alive) = 1 (even in segment 'Lost').

    In BG/NBD a customer can drop out only right after a repeat purchase, so a customer without
    one is alive with probability 1: a property of the model that reads as a contradiction next
    to an RFM segment. Other models print nothing.
    """
    if type(model).__name__ != "BetaGeo" or not {"frequency", "p_alive"} <= set(scores.columns):
        return
    one_time = scores["frequency"] == 0
    n = int(one_time.sum())
    if not n:
        return
    lost = int((one_time & (scores["segment"] == "Lost")).sum()) if "segment" in scores.columns else 0
    where = f", {lost:,} of them in segment 'Lost'" if lost else ""
    console.print(styled(("note:", "yellow"), (
        f" BG/NBD gives P(alive) = 1 to every customer without a repeat purchase ({n:,} here{where}): "
        "in BG/NBD a customer can drop out only right after a purchase. Their expected purchases and "
        "CLV stay low; for a P(alive) that falls with the time since the first purchase, fit mbgnbd "
        "or pareto.")), soft_wrap=True)


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
    import pandas as pd

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
