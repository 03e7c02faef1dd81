"""``/api/v1/audit`` and ``/api/v1/users``: what admins read about access (403 for other roles)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Ctx, UserScope

router = APIRouter(tags=["admin"], responses=ERRORS)


class AuditOut(BaseModel):
    """One audited act (``detail`` is JSON text)."""

    at: datetime
    actor: str
    action: str
    target: str | None
    detail: str | None
    ip: str | None


class UserOut(BaseModel):
    """A user, their role, stores and live API tokens."""

    name: str
    role: str
    stores: list[str]
    active: bool
    created_at: datetime
    tokens: int


@router.get("/audit", response_model=list[AuditOut])
def audit(ctx: Ctx, scope: UserScope, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[Any]:
    """The latest audit entries, newest first (admins only)."""
    scope.require_role("admin")
    return ctx.accounts.audit_log(limit=limit)


@router.get("/users", response_model=list[UserOut])
def users(ctx: Ctx, scope: UserScope) -> list[Any]:
    """Every user with role, stores and live tokens (admins only)."""
    scope.require_role("admin")
    return ctx.accounts.list_users()
