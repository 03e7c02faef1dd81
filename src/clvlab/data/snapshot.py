"""The serving snapshot: a read-only copy of a DuckDB workspace that the server reads.

DuckDB lets one process write a file or several read it, never both: measured with duckdb 1.5.6,
a read-only open of a file another process holds read-write fails at once ("Could not set lock on
file ... Conflicting lock is held", no waiting), and a read-write open (``clvlab run``) fails at
once while any reader holds the file.  So the server never opens the workspace itself: it reads
``<stem>.serve.duckdb`` beside it, which :func:`publish_snapshot` writes as a whole new file
(``COPY FROM DATABASE`` into a temporary file, then an atomic rename).  Readers that have the old
copy open keep it until they close it; the next request opens the new one.  A batch and the server
never hold a lock on the same file.

``clvlab run`` publishes a new snapshot at its end when one exists (a workspace that is served);
``clvlab serve`` makes the first one, and ``clvlab db snapshot`` makes one by hand (after
``clvlab load``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from clvlab.errors import ClvlabError

#: suffix of the serving snapshot beside the workspace file
SNAPSHOT_SUFFIX = ".serve.duckdb"


def snapshot_path(workspace: str | os.PathLike[str]) -> Path:
    """Where the serving snapshot of a workspace file lives: ``shop.duckdb`` -> ``shop.serve.duckdb``."""
    path = Path(workspace).expanduser()
    return path.with_name(path.stem + SNAPSHOT_SUFFIX)


def publish_snapshot(ws: Any) -> Path:
    """Copy the open DuckDB workspace ``ws`` to its serving snapshot (atomically replaced).

    Works from a read-write or a read-only connection; returns the snapshot's path.
    """
    if ws.path is None or not ws.is_duckdb:
        msg = f"workspace {ws.url!r} is not a DuckDB file; only a file workspace has a serving snapshot"
        raise ClvlabError(msg)
    target = snapshot_path(ws.path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = ws.con.con
    source = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"ATTACH '{_quote(tmp)}' AS clvlab_snapshot (READ_WRITE)")
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO clvlab_snapshot')
        con.execute("CHECKPOINT clvlab_snapshot")
    finally:
        con.execute("DETACH clvlab_snapshot")
    os.replace(tmp, target)
    return target


def refresh_snapshot(workspace: str | os.PathLike[str], *, wait_s: float = 30.0) -> Path:
    """Open the workspace file read-only and publish its snapshot, waiting up to ``wait_s`` seconds
    while another process (a batch run) holds it; a clear error after that."""
    from clvlab.data.workspace import connect

    deadline = time.monotonic() + wait_s
    while True:
        try:
            with connect(workspace, read_only=True) as ws:
                return publish_snapshot(ws)
        except ClvlabError as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
