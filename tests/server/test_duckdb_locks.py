"""What DuckDB does when two processes open one file (the reason the server reads a snapshot), and
that the snapshot can be replaced while a reader holds the old one open (docs/server.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
con.execute("SELECT count(*) FROM t").fetchall()
print("holding", flush=True)
sys.stdin.readline()
"""


def _hold(path: Path, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    return proc


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
    return path


@pytest.mark.parametrize(("held", "ours"), [("rw", True), ("ro", False)])
def test_a_writer_and_a_reader_exclude_each_other(db: Path, held: str, ours: bool) -> None:
    proc = _hold(db, held)
    try:
        with pytest.raises(duckdb.IOException, match="Could not set lock on file"):
            duckdb.connect(str(db), read_only=ours)
    finally:
        proc.communicate("\n")


def test_readers_share_and_a_snapshot_is_replaced_under_a_reader(db: Path) -> None:
    import clvlab
    from clvlab.data.snapshot import publish_snapshot, snapshot_path

    with clvlab.connect(db) as ws:
        publish_snapshot(ws)
    snap = snapshot_path(db)
    reader = _hold(snap, "ro")
    try:
        duckdb.connect(str(snap), read_only=True).close()  # readers share
        with clvlab.connect(db) as ws:  # the batch writes and publishes while a reader holds the snapshot
            ws.con.con.execute("INSERT INTO t VALUES (99)")
            publish_snapshot(ws)
        with duckdb.connect(str(snap), read_only=True) as con:
            assert con.execute("SELECT max(x) FROM t").fetchone() == (99,)
    finally:
        reader.communicate("\n")
    assert not list(db.parent.glob(".*.tmp"))
