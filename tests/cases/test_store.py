"""The application store: migrations on open, schema = models, restart survival, URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from clvlab.cases.service import CaseService
from clvlab.errors import ClvlabError
from clvlab.settings import Settings
from clvlab.store import AppStore, Base, head_revision, open_app_store


def test_open_runs_migrations_to_head(store: AppStore) -> None:
    """Opening a fresh store brings it to the latest shipped revision."""
    assert store.revision() == head_revision()


def test_migrations_match_the_models(store: AppStore) -> None:
    """The hand-written migration creates exactly the schema the ORM models describe."""
    with store.engine.connect() as con:
        ctx = MigrationContext.configure(con, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_reopen_is_a_no_op_and_cases_survive_a_restart(store_url: str, detractors, owners_frame) -> None:
    """Close the store, open it again: same revision, every case and its full history are there."""
    from clvlab.cases.owners import load_owners

    with open_app_store(store_url) as first:
        load_owners(first, owners_frame)
        svc = CaseService(first)
        opened = svc.open_cases(detractors).opened
        svc.start(opened[0], actor="ann", note="called")
        svc.resolve(opened[0], root_cause="delivery", actor="ann", note="refunded")
        svc.close(opened[0], actor="dee")
    with open_app_store(store_url) as second:
        assert second.revision() == head_revision()
        svc = CaseService(second)
        assert [c.id for c in svc.list_cases()] == opened
        case = svc.get(opened[0])
        assert (case.state, case.root_cause, case.owner_id) == ("closed", "delivery", "store-1")
        steps = [(h.action, h.from_state, h.to_state, h.actor) for h in svc.history(opened[0])]
        assert steps == [
            ("open", None, "open", "alerts"),
            ("start", "open", "in_progress", "ann"),
            ("resolve", "in_progress", "resolved", "ann"),
            ("close", "resolved", "closed", "dee"),
        ]
        assert svc.history(opened[0])[2].note == "root cause delivery; refunded"


def test_sqlite_store_uses_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    """The embedded default is safe for several processes: WAL journal, waiting on locks."""
    with open_app_store(sqlite_url) as store, store.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert con.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_plain_path_and_postgres_scheme_are_accepted(tmp_path: Path) -> None:
    """A bare file path opens a SQLite store."""
    with open_app_store(str(tmp_path / "plain.sqlite")) as store:
        assert store.dialect == "sqlite"
    assert (tmp_path / "plain.sqlite").exists()


def test_default_url_sits_beside_the_configured_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a URL: $CLVLAB_APP_STORE, else <workspace>-app.sqlite beside the configured workspace."""
    assert Settings().app_store_url(tmp_path / "shop.duckdb") == f"sqlite:///{tmp_path / 'shop-app.sqlite'}"
    assert Settings().app_store_url() == "sqlite:///clvlab-app.sqlite"
    assert Settings().app_store_url(":memory:") == "sqlite:///clvlab-app.sqlite"
    monkeypatch.setenv("CLVLAB_WORKSPACE", str(tmp_path / "data" / "shop.duckdb"))
    assert Settings().app_store_url() == f"sqlite:///{tmp_path / 'data' / 'shop-app.sqlite'}"
    monkeypatch.setenv("CLVLAB_APP_STORE", "postgresql+psycopg://x@h/db")
    assert Settings().app_store_url(tmp_path / "shop.duckdb") == "postgresql+psycopg://x@h/db"


def test_unsupported_backend_is_a_clear_error() -> None:
    with pytest.raises(ClvlabError, match="use a SQLite file"):
        open_app_store("mysql://root@localhost/x")


@pytest.mark.postgres
def test_unreachable_postgres_schema_is_a_clear_error() -> None:
    """A search path naming no existing schema fails with the URL in the message."""
    with pytest.raises(ClvlabError, match="cannot open app store"):
        open_app_store("postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dno_such_schema_x")
