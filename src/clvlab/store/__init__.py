"""The application store: what users and the server write (owners, cases, outbox; next surveys,
users, audit), as SQLAlchemy tables per domain with Alembic migrations.

``engine`` opens the database (:func:`open_app_store`), ``base`` holds the declarative base and the
UTC timestamp type, and each domain has its module of tables (``cases``, ``outbox``).  Services
take a :class:`~sqlalchemy.orm.Session` so one request writes a response, a case and an outbox
entry in one transaction::

    with store.session() as session:             # one transaction
        CaseService(store).open_cases(alerts, session=session)
        ...                                      # more writes; committed together
"""

from __future__ import annotations

from clvlab.store.base import Base, StoreError, UTCDateTime, utcnow
from clvlab.store.cases import Case, CaseEvent, Owner, OwnerScope, Resurvey
from clvlab.store.engine import AppStore, open_app_store, upgrade
from clvlab.store.outbox import OutboxMessage

__all__ = [
    "AppStore", "Base", "Case", "CaseEvent", "OutboxMessage", "Owner", "OwnerScope", "Resurvey",
    "StoreError", "UTCDateTime", "open_app_store", "upgrade", "utcnow",
]
