"""The server remembers its two computed reads per worker, keyed by what their answer depends on."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from clvlab.server import reads


@pytest.fixture(autouse=True)
def _forget() -> None:
    reads._memory.clear()


def test_a_key_is_computed_once_and_the_oldest_is_dropped() -> None:
    calls: list[int] = []

    def compute(k: int) -> int:
        calls.append(k)
        return k * 10

    assert [reads.remembered(("k", k), lambda k=k: compute(k)) for k in (1, 1, 2, 1)] == [10, 10, 20, 10]
    assert calls == [1, 2]
    for k in range(3, 3 + reads.REMEMBERED):
        reads.remembered(("k", k), lambda k=k: compute(k))
    assert ("k", 2) not in reads._memory  # least recently used
    assert len(reads._memory) == reads.REMEMBERED


def test_comment_analysis_is_reused_for_the_same_comments_only() -> None:
    frame = pd.DataFrame({"comment": ["送货太慢了，客服也不回复", "Great service, fast delivery", "质量很好"],
                          "score": [2.0, 10.0, 9.0], "metric": ["nps"] * 3, "touchpoint": ["app", "store", "app"]})
    first = reads.comment_analysis(frame)
    again = reads.comment_analysis(frame.copy())
    assert len(reads._memory) == 1
    for name, table in first.items():
        pd.testing.assert_frame_equal(table, again[name])
    first["sentiment"]["extra"] = 1  # a caller's change never reaches the next caller
    assert "extra" not in reads.comment_analysis(frame)["sentiment"].columns
    other = frame.assign(comment=["送货太慢了", "Terrible", "一般"])
    changed = reads.comment_analysis(other)
    assert len(reads._memory) == 2
    assert changed["sentiment"]["comments"].tolist() != first["sentiment"]["comments"].tolist()


def test_a_new_snapshot_is_a_new_key(tmp_path: Path) -> None:
    class Ws:
        path = tmp_path / "snapshot.duckdb"

    Ws.path.write_bytes(b"run 1")
    before = reads.snapshot_key(Ws())
    assert reads.snapshot_key(Ws()) == before
    replaced = tmp_path / "next.duckdb"
    replaced.write_bytes(b"run 2")
    os.replace(replaced, Ws.path)  # how a run publishes its snapshot
    assert reads.snapshot_key(Ws()) != before
    assert reads.snapshot_key(object()) is None  # no file: nothing remembered


def test_the_key_is_the_snapshot_the_reader_opened(tmp_path: Path) -> None:
    import duckdb

    from clvlab.data.snapshot import snapshot_path
    from clvlab.server.workspace import SnapshotReader

    workspace = tmp_path / "shop.duckdb"
    snap = snapshot_path(workspace)
    duckdb.connect(str(snap)).close()
    reader = SnapshotReader(workspace)
    with reader.open() as ws:
        opened = reads.snapshot_key(ws)
        assert opened is not None
        assert opened[0] == str(snap)
        nxt = tmp_path / "next.duckdb"
        duckdb.connect(str(nxt)).close()
        os.replace(nxt, snap)  # a run publishes while this request still reads the old file
        assert reads.snapshot_key(ws) == opened  # its answer is filed under the file it read
    with reader.open() as ws:  # the next request opens the new file: a new key
        assert reads.snapshot_key(ws) != opened
    reader.close()
