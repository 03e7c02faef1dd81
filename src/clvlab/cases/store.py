"""The application store: owners, cases, their history, re-surveys and the notification outbox.

SQLAlchemy 2 models plus :func:`open_app_store`, which opens (or creates) the database and brings
its schema to the latest Alembic revision shipped in ``clvlab/cases/migrations`` (no ``alembic.ini``
needed).  The embedded default is a SQLite file in WAL mode with a busy timeout; every transaction
starts with ``BEGIN IMMEDIATE``, so several processes (server workers, CLI runs) serialise their
writes instead of failing with "database is locked".  PostgreSQL is used through
``postgresql+psycopg://user@host/db`` (``postgres://`` is accepted too).

>>> from clvlab.cases.store import open_app_store
>>> with open_app_store("sqlite:///:memory:") as store:      # doctest: +SKIP
...     store.revision()
'0001'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from clvlab.errors import ClvlabError

DEFAULT_FILE = "clvlab-app.sqlite"
ENV_VAR = "CLVLAB_APP_STORE"
MIGRATIONS = Path(__file__).with_name("migrations")
#: seconds a SQLite connection waits for another process's write lock
BUSY_TIMEOUT_S = 30.0


class CaseError(ClvlabError):
    """A case operation that cannot be done (unknown case, invalid transition, missing input)."""


class CaseNotFoundError(CaseError, LookupError):
    """No case (or owner, or re-survey) with the given id."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC on every backend and returned timezone-aware (UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value.isoformat()} given to the app store; pass an aware one (UTC)"
            raise CaseError(msg)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of the application store."""


class Owner(Base):
    """Someone who answers for a store or a product (a store manager, a product owner)."""

    __tablename__ = "owners"

    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    webhook: Mapped[str | None] = mapped_column(String(2000))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class OwnerScope(Base):
    """Which store or product an owner answers for (one row per store/product)."""

    __tablename__ = "owner_scopes"
    __table_args__ = (UniqueConstraint("store_id", "product_id", name="uq_owner_scopes_store_product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.owner_id", ondelete="CASCADE"), nullable=False)
    store_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64))


class Case(Base):
    """One alert turned into work: who, why, how urgent, and where it stands."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_owner_state", "owner_id", "state"),
        Index("ix_cases_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    response_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    store_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64))
    metric: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clv: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[str] = mapped_column(String(8), nullable=False)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("owners.owner_id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    root_cause: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CaseEvent(Base):
    """One entry of a case's history: who did what, when, from which state to which."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class Resurvey(Base):
    """A follow-up survey sent after a case: the token the survey page will accept, and its answer."""

    __tablename__ = "resurveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    link: Mapped[str] = mapped_column(String(2000), nullable=False)
    metric: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    response_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float | None] = mapped_column(Float)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A notification waiting to be delivered (kept until it is sent: nothing is lost)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str] = mapped_column(String(2000), nullable=False)
    subject: Mapped[str] = mapped_column(String(500), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppStore:
    """An open application store: an engine, a session factory and the URL it came from."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
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


def default_url(workspace: str | os.PathLike[str] | None = None) -> str:
    """``$CLVLAB_APP_STORE``, else a SQLite file next to the workspace file, else ``./clvlab-app.sqlite``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    if workspace is not None and not str(workspace).startswith(("postgres", ":memory:")):
        path = Path(workspace).expanduser()
        return f"sqlite:///{path.with_name(path.stem + '-app.sqlite')}"
    return f"sqlite:///{Path(DEFAULT_FILE)}"


def _normalise(url: str) -> URL:
    text = str(url).strip()
    if text.startswith(("postgres://", "postgresql://")):
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    elif "://" not in text:  # a plain file path
        text = f"sqlite:///{Path(text).expanduser()}"
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        msg = f"cannot parse app store URL {url!r}: {exc}"
        raise ClvlabError(msg) from exc
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        msg = (
            f"app store URL {url!r} names the backend '{parsed.get_backend_name()}'; "
            "use a SQLite file (sqlite:///path.sqlite) or postgresql+psycopg://user@host/db"
        )
        raise ClvlabError(msg)
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
        None: ``$CLVLAB_APP_STORE``, else ``<workspace stem>-app.sqlite`` next to ``workspace``,
        else ``./clvlab-app.sqlite``.
    workspace
        The workspace file the default store sits next to.
    migrate
        Run the shipped Alembic migrations (``alembic upgrade head``); safe when several processes
        open the store at once.
    """
    raw = os.fspath(url) if url is not None else default_url(workspace)
    parsed = _normalise(raw)
    engine = _sqlite_engine(parsed) if parsed.get_backend_name() == "sqlite" else create_engine(
        parsed, pool_pre_ping=True
    )
    store = AppStore(engine, raw)
    if migrate:
        try:
            upgrade(store)
        except DBAPIError as exc:
            engine.dispose()
            first = str(exc.orig or exc).splitlines()[0]
            msg = f"cannot open app store {raw!r}: {first}"
            raise ClvlabError(msg) from exc
    return store


def upgrade(store: AppStore, revision: str = "head") -> None:
    """Apply the shipped migrations up to ``revision`` in one transaction (serialised across processes)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as con:
        cfg.attributes["connection"] = con
        command.upgrade(cfg, revision)
