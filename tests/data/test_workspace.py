"""connect(): file, memory, environment default, read-only, tables and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import clvlab
from clvlab.data.contract import CONTRACTS


def test_file_workspace_persists_and_reopens_read_only(tmp_path: Path) -> None:
    """Tables survive reopening; read_only opens an existing file only."""
    path = tmp_path / "sub" / "shop.duckdb"
    f = tmp_path / "o.csv"
    f.write_text("customer_id,ordered_at,amount\nA,2024-01-01,1\n")
    with clvlab.connect(path) as ws:
        ws.load_transactions(f)
        assert ws.tables() == ["transactions"]
    with clvlab.connect(path, read_only=True) as ws:
        assert ws.table("transactions").count().execute() == 1
        assert dict(ws.table("transactions").schema()) ["amount"].precision == 18
    with pytest.raises(clvlab.ClvlabError, match="does not exist"):
        clvlab.connect(tmp_path / "missing.duckdb", read_only=True)


def test_default_path_comes_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    """connect() uses $CLVLAB_WORKSPACE, else ./clvlab.duckdb."""
    monkeypatch.setenv("CLVLAB_WORKSPACE", str(tmp_path / "env.duckdb"))
    with clvlab.connect() as ws:
        assert ws.path == (tmp_path / "env.duckdb").resolve()
    monkeypatch.delenv("CLVLAB_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    with clvlab.connect() as ws:
        assert ws.path == (tmp_path / "clvlab.duckdb").resolve()


def test_missing_table_message() -> None:
    """Asking for a table that was never loaded says which tables exist and what to do."""
    with clvlab.connect(":memory:") as ws, pytest.raises(clvlab.DataValidationError) as exc:
        ws.table("transactions")
    assert str(exc.value) == (
        "workspace ':memory:' has no table 'transactions' (tables: none). "
        "Hint: load it first, e.g. ws.load_transactions(...)"
    )


def test_stored_schema_matches_contract(tmp_path: Path) -> None:
    """The stored table has every canonical column plus is_refund, refund_of, _key, _source,
    _loaded_at."""
    f = tmp_path / "o.csv"
    f.write_text("customer_id,ordered_at,amount\nA,2024-01-01,1\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f)
        rows = ws.con.con.execute("DESCRIBE transactions").fetchall()
        got = [(r[0], r[1]) for r in rows]
        assert got == CONTRACTS["transactions"].stored_schema()
        assert got[:3] == [("customer_id", "VARCHAR"), ("ordered_at", "TIMESTAMP"),
                           ("amount", "DECIMAL(18,4)")]
        assert [n for n, _ in got[-5:]] == ["is_refund", "refund_of", "_key", "_source",
                                            "_loaded_at"]


def test_table_of_an_older_version_gains_new_columns(tmp_path: Path) -> None:
    """A transactions table stored before refund_of existed gets the column on the next load."""
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\n1,A,2024-01-01,5\nC2,A,2024-01-02,-5\n")
    with clvlab.connect(":memory:") as ws:
        old = [(n, t) for n, t in CONTRACTS["transactions"].stored_schema() if n != "refund_of"]
        cols = ", ".join(f'"{n}" {t}' for n, t in old)
        ws.con.con.execute(f"CREATE TABLE transactions ({cols})")
        assert ws.load_transactions(f).inserted == 2
        names = [r[0] for r in ws.con.con.execute("DESCRIBE transactions").fetchall()]
        assert "refund_of" in names
