"""Run a long DuckDB statement with an optional Rich progress bar (polls ``query_progress``)."""

from __future__ import annotations

import threading
from typing import Any


def run_sql(con: Any, sql: str, progress: bool, label: str) -> None:
    """Execute ``sql`` on DuckDB connection ``con``; with ``progress`` show a bar on stderr.

    The statement runs in a worker thread while the caller polls ``con.query_progress()``
    (a percentage, -1 when unknown), so the bar moves while DuckDB works.
    """
    if not progress:
        con.execute(sql)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    errors: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(label, total=100)
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
            try:
                pct = float(con.query_progress())
            except Exception:  # no query running at this instant
                pct = -1.0
            if pct >= 0:
                bar.update(task, completed=pct)
        bar.update(task, completed=100)
    if errors:
        raise errors[0]
