"""Shared fixtures: paths to the shared real data, a fresh workspace, a PostgreSQL connection."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI runs the same examples every time (a red CI must be reproducible); locally Hypothesis explores.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CLVLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG_URL = os.environ.get("CLVLAB_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the real data sets the tests read (see its README)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; set CLVLAB_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture
def pg_url() -> str:
    """URL of the real PostgreSQL server the suite runs against."""
    return PG_URL


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test (dropped afterwards), so parallel workers never clash."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
            con.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(autouse=True)
def _fresh_cli_state() -> Iterator[None]:
    """The CLI keeps --json/--debug in a module-level state; every test starts from the defaults."""
    from clvlab.cli._common import state

    state.json, state.debug = False, False
    yield
    state.json, state.debug = False, False


@contextmanager
def _pg_transactions_table(schema: str, frame: Any, extra: Iterable[tuple[Any, ...]] = ()) -> Iterator[Any]:
    """``frame`` (customer_id, ordered_at, amount) in ``<schema>.transactions`` with the workspace's
    column types (COPY), plus ``extra`` rows (customer_id, ordered_at, amount, is_refund); yields
    the Ibis table on a PostgreSQL connection that is closed afterwards."""
    import ibis
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(f"CREATE TABLE {schema}.transactions (customer_id VARCHAR, ordered_at TIMESTAMP, "
                    "amount DECIMAL(18,4), is_refund BOOLEAN)")
        with con.cursor().copy(
            f"COPY {schema}.transactions (customer_id, ordered_at, amount, is_refund) FROM STDIN"
        ) as copy:
            for cid, at, amount in frame[["customer_id", "ordered_at", "amount"]].itertuples(index=False):
                copy.write_row((cid, at.to_pydatetime(), amount, False))
            for row in extra:
                copy.write_row(row)
    backend = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test", schema=schema)
    try:
        yield backend.table("transactions")
    finally:
        backend.disconnect()


@pytest.fixture
def pg_transactions_table() -> Any:
    """The function that copies a transaction frame into a PostgreSQL schema (a context manager)."""
    return _pg_transactions_table


@pytest.fixture(autouse=True, scope="session")
def _temp_files_under_pytest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temporary folders the product makes (e.g. the rejects folder of an in-memory workspace,
    which it keeps for the user) go under pytest's own temp root, which pytest prunes."""
    import tempfile

    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = before
