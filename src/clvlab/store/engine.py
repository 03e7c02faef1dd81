"""Opening the application store: the engine (SQLite in WAL mode, or PostgreSQL) and its migrations.

:func:`open_app_store` opens (or creates) the database and brings its schema to the latest Alembic
revision shipped in ``clvlab/store/migrations`` (no ``alembic.ini`` needed).  The embedded default
is a SQLite file in WAL mode with a busy timeout; every transaction starts with ``BEGIN
IMMEDIATE``, so several processes (server workers, CLI runs) serialise their writes instead of
failing with "database is locked".  PostgreSQL is used through ``postgresql+psycopg://user@host/db``
(``postgres://`` is accepted too).  Where the store is, when no URL is given, is decided by
:meth:`clvlab.settings.Settings.app_store_url`; a password in the URL never reaches a message or a repr.

>>> from clvlab.store import open_app_store
>>> with open_app_store("sqlite:///:memory:") as store:
...     store.revision() == head_revision()
True

The CLI's commands open the store with ``migrate=True`` (a new store, or one a newer clvlab
meets, is brought up to date on the spot); the server opens it with ``migrate=False`` and
:func:`check_current` refuses a store that is behind, naming ``clvlab db upgrade``: several
server processes never migrate a production database by surprise.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from clvlab.settings import get_settings, redact
from clvlab.store.base import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
#: seconds a SQLite connection waits for another process's write lock
BUSY_TIMEOUT_S = 30.0


class AppStore:
    """An open application store: an engine, a session factory and where it is (password redacted).

    ``url`` is the location for messages: its password, if any, is shown as ``***``.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = redact(url)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"AppStore({self.url!r})"

    def __enter__(self) -> AppStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def revision(self) -> str | None:
        """The Alembic revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as con:
            return MigrationContext.configure(con).get_current_revision()

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def serialise(session: Session, name: str) -> None:
    """Serialise the rest of ``session``'s transaction with every other transaction that names
    ``name`` (a read-then-write that must not interleave, e.g. the invitations' contact window).

    On PostgreSQL a transaction-scoped advisory lock (``pg_advisory_xact_lock``, released at
    commit or rollback); on SQLite nothing more is needed, since every transaction starts with
    ``BEGIN IMMEDIATE`` and so holds the database's write lock already.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _normalise(url: str) -> URL:
    text = str(url).strip()
    if text.startswith(("postgres://", "postgresql://")):
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    elif "://" not in text:  # a plain file path
        text = f"sqlite:///{Path(text).expanduser()}"
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        msg = f"cannot parse app store URL {redact(url)!r}: {redact(exc)}"
        raise StoreError(msg) from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        msg = (
            f"app store URL {redact(url)!r} names the backend '{parsed.get_backend_name()}'; "
            "use a SQLite file (sqlite:///path.sqlite) or postgresql+psycopg://user@host/db"
        )
        raise StoreError(msg)
    return parsed


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    memory = database in {"", ":memory:"}
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    if memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, record: Any) -> None:
        dbapi_con.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_con.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(con: Any) -> None:
        # take the write lock up front: no lock upgrade deadlock between processes
        con.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_app_store(
    url: str | os.PathLike[str] | None = None, *, workspace: str | os.PathLike[str] | None = None,
    migrate: bool = True,
) -> AppStore:
    """Open (or create) the application store and upgrade its schema to the latest revision.

    Parameters
    ----------
    url
        ``sqlite:///path.sqlite`` (or a plain path), ``postgresql+psycopg://user@host/db``
        (``postgres://`` accepted; add ``?options=-csearch_path%3Dmy_schema`` for a schema).
        None: the settings' location (:meth:`clvlab.settings.Settings.app_store_url`:
        ``CLVLAB_APP_STORE``, else ``<workspace stem>-app.sqlite`` beside the workspace).
    workspace
        The workspace file the default store sits beside (library use; the CLI never passes it).
    migrate
        Run the shipped Alembic migrations (``alembic upgrade head``); safe when several processes
        open the store at once.

    Raises
    ------
    StoreError
        The URL cannot be parsed, names another backend, or the database cannot be reached; the
        message shows the URL with its password as ``***``.
    """
    raw = os.fspath(url) if url is not None else get_settings().app_store_url(workspace)
    parsed = _normalise(raw)
    engine = _sqlite_engine(parsed) if parsed.get_backend_name() == "sqlite" else create_engine(
        parsed, pool_pre_ping=True, hide_parameters=True
    )
    store = AppStore(engine, raw)
    if migrate:
        try:
            upgrade(store)
        except DBAPIError as exc:
            engine.dispose()
            first = redact(str(exc.orig or exc).splitlines()[0])
            msg = f"cannot open app store {store.url!r}: {first}"
            raise StoreError(msg) from None
    return store


class StoreBehindError(StoreError):
    """The application store's schema is older than this clvlab (run ``clvlab db upgrade``)."""


def head_revision() -> str:
    """The latest revision the shipped migrations define."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def check_current(store: AppStore) -> str:
    """The store's revision; :class:`StoreBehindError` (with the command to run) unless it is the head."""
    try:
        current = store.revision()
    except DBAPIError as exc:
        first = redact(str(exc.orig or exc).splitlines()[0])
        msg = f"cannot open app store {store.url!r}: {first}"
        raise StoreError(msg) from None
    head = head_revision()
    if current != head:
        state = "has no schema yet" if current is None else f"is at revision {current}"
        msg = f"app store {store.url!r} {state}; this clvlab needs revision {head}"
        raise StoreBehindError(msg, hint=f"migrate it first: clvlab db upgrade --app-store '{store.url}'")
    return current


def upgrade(store: AppStore, revision: str = "head") -> None:
    """Apply the shipped migrations up to ``revision`` in one transaction (serialised across processes)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as con:
        cfg.attributes["connection"] = con
        command.upgrade(cfg, revision)
