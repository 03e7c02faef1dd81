"""Rejects files (issue 7, A20): one load's rejects are never removed by another load, names
are sanitised, in-memory workspaces get a private folder, nothing is written outside it."""

from __future__ import annotations

from pathlib import Path

import ibis

import clvlab

BAD = "customer_id,ordered_at,amount\nA,2024-01-01,5\nB,2024-01-02,ten\n"
CLEAN = "customer_id,ordered_at,amount\nC,2024-02-01,5\n"


def test_clean_load_of_a_namesake_keeps_the_other_rejects(tmp_path: Path) -> None:
    jan, feb = tmp_path / "jan" / "orders.csv", tmp_path / "feb" / "orders.csv"
    jan.parent.mkdir()
    feb.parent.mkdir()
    jan.write_text(BAD)
    feb.write_text(CLEAN)
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_transactions(jan)
        assert r.rejects_path is not None
        assert ws.load_transactions(feb).rejects_path is None
        assert Path(r.rejects_path).exists()  # jan's rejects survive feb's clean load
        feb.write_text(BAD)
        r2 = ws.load_transactions(feb)
        assert r2.rejects_path != r.rejects_path
        assert Path(r.rejects_path).exists()
        jan.write_text(CLEAN)  # a clean re-load of the same file clears its own stale rejects
        ws.load_transactions(jan)
        assert not Path(r.rejects_path).exists()
        assert r2.rejects_path is not None
        assert Path(r2.rejects_path).exists()


def test_in_memory_workspaces_get_private_folders(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(BAD)
    with clvlab.connect(":memory:") as a, clvlab.connect(":memory:") as b:
        ra, rb = a.load_transactions(f), b.load_transactions(f)
    assert ra.rejects_path is not None
    assert rb.rejects_path is not None
    pa, pb = Path(ra.rejects_path), Path(rb.rejects_path)
    assert pa.parent != pb.parent
    assert pa.exists()
    assert pb.exists()
    assert pa.parent.stat().st_mode & 0o077 == 0  # only this user enters it


def test_a_source_named_like_a_path_stays_in_the_folder(tmp_path: Path) -> None:
    src = ibis.duckdb.connect()
    src.con.execute('CREATE TABLE "../../escape" (customer_id VARCHAR, ordered_at VARCHAR, '
                    "amount VARCHAR)")
    src.con.execute("""INSERT INTO "../../escape" VALUES ('A', '2024-01-01', '5'),
                       ('B', '2024-01-02', 'ten')""")
    (tmp_path / "deep").mkdir()
    with clvlab.connect(tmp_path / "deep" / "w.duckdb") as ws:
        r = ws.load_transactions(src.table("../../escape"))
    assert r.rejects_path is not None
    assert Path(r.rejects_path).parent == tmp_path / "deep" / "w.rejects"
    assert Path(r.rejects_path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]
