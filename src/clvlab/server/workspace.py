"""The analytics workspace under the server: its serving snapshot, opened read-only per worker.

Requests never open the workspace file (a batch ``clvlab run`` holds it read-write while it runs,
and DuckDB refuses a reader then, and refuses the batch while a reader is open: see
:mod:`clvlab.data.snapshot`).  Each worker keeps one read-only connection to the snapshot and
reopens it when the file was replaced (a new inode or mtime), so a published run shows on the next
request.  DuckDB connections are not shared between threads: one lock per worker serialises the
(short) analytic reads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clvlab.data.snapshot import snapshot_path
from clvlab.errors import ClvlabError


class WorkspaceUnavailable(ClvlabError):
    """The snapshot cannot be read now (HTTP 503 with Retry-After)."""

    retry_after = 30


class SnapshotReader:
    """Read-only access to the serving snapshot of ``workspace`` (a DuckDB file)."""

    def __init__(self, workspace: str | os.PathLike[str]) -> None:
        self.workspace = Path(workspace).expanduser()
        self.path = snapshot_path(self.workspace)
        self._lock = threading.Lock()
        self._ws: Any = None
        self._stamp: tuple[int, int] | None = None

    def _current(self) -> Any:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            msg = f"the workspace '{self.workspace}' has no serving snapshot '{self.path.name}' yet"
            raise WorkspaceUnavailable(msg, hint=f"publish one: clvlab db snapshot -w '{self.workspace}' "
                                       "(clvlab run does it at its end)") from None
        stamp = (st.st_ino, st.st_mtime_ns)
        if self._ws is None or stamp != self._stamp:
            from clvlab.data.workspace import connect

            old, self._ws = self._ws, None
            if old is not None:
                old.close()
            try:
                self._ws = connect(self.path, read_only=True)
            except ClvlabError as exc:
                msg = f"the serving snapshot '{self.path.name}' cannot be opened now: {exc}"
                raise WorkspaceUnavailable(msg) from None
            self._stamp = stamp
            self._ws.opened_as = (str(self.path), *stamp)
        return self._ws

    @contextmanager
    def open(self) -> Iterator[Any]:
        """The snapshot as a read-only :class:`clvlab.Workspace`, held for the block."""
        with self._lock:
            yield self._current()

    def close(self) -> None:
        """Close the worker's connection."""
        with self._lock:
            if self._ws is not None:
                self._ws.close()
                self._ws = None
