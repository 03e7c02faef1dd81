"""The application store: what users and the server write (owners, cases, outbox, users and
audit, surveys), as SQLAlchemy tables per domain with Alembic migrations.

``engine`` opens the database (:func:`open_app_store`), ``base`` holds the declarative base and the
UTC timestamp type, and each domain has its module of tables (``cases``, ``outbox``).  Services
take a :class:`~sqlalchemy.orm.Session` so one request writes a response, a case and an outbox
entry in one transaction::

    with store.session() as session:             # one transaction
        CaseService(store).open_cases(alerts, session=session)
        ...                                      # more writes; committed together
"""

from __future__ import annotations

from clvlab.store.access import (
    ROLES,
    ApiToken,
    AuditEntry,
    LoginAttempt,
    LoginSession,
    User,
    UserStore,
)
from clvlab.store.base import Base, Periodic, StoreError, UTCDateTime, utcnow
from clvlab.store.cases import Case, CaseEvent, Owner, OwnerScope, Resurvey
from clvlab.store.engine import (
    AppStore,
    StoreBehindError,
    check_current,
    head_revision,
    open_app_store,
    serialise,
    upgrade,
)
from clvlab.store.outbox import OutboxMessage
from clvlab.store.surveys import RateHit, SurveyDef, SurveyInvite, SurveyResponse, WebhookSubscriber

__all__ = [
    "ROLES", "ApiToken", "AppStore", "AuditEntry", "Base", "Case", "CaseEvent", "LoginAttempt", "LoginSession",
    "OutboxMessage", "Owner", "OwnerScope", "Periodic", "Resurvey", "StoreBehindError", "StoreError", "UTCDateTime", "User",
    "UserStore", "check_current", "head_revision", "open_app_store", "serialise", "upgrade", "utcnow",
]
__all__ += ["RateHit", "SurveyDef", "SurveyInvite", "SurveyResponse", "WebhookSubscriber"]  # surveys
