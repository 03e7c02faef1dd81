"""Alembic environment of the application store, run programmatically by ``open_app_store``.

The caller passes an open connection (already in a transaction) in ``config.attributes``; on
PostgreSQL a transaction-scoped advisory lock serialises concurrent upgrades (SQLite is serialised
by its ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from alembic import context

from clvlab.store import Base

#: arbitrary constant key of the advisory lock taken while migrating
_LOCK_KEY = 7_424_204_511

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via open_app_store / upgrade()
    msg = "run the app store migrations through clvlab.store.upgrade()"
    raise RuntimeError(msg)

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
if connection.dialect.name == "postgresql":
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
with context.begin_transaction():
    context.run_migrations()
