"""``/api/v1/cases``: the case inbox (list, one case, export) and its changes (assign, start,
resolve), through :class:`~clvlab.cases.service.CaseService` and the user's scope; every change
and export is audited in the same transaction."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from clvlab.cases.model import STATES, CaseError
from clvlab.cases.service import CaseService
from clvlab.server.deps import ERRORS, NO_NUL, Ctx, StrictModel, Text, UserScope, client_ip
from clvlab.store import Case, CaseEvent

router = APIRouter(tags=["cases"], responses=ERRORS)


class CaseOut(BaseModel):
    """A case with its SLA state."""

    id: int
    response_id: str
    customer_id: str | None
    store_id: str | None
    product_id: str | None
    metric: str | None
    score: float | None
    comment: str | None
    reasons: str
    responded_at: datetime | None
    clv: float | None
    priority: str
    owner_id: str | None
    state: str
    root_cause: str | None
    opened_at: datetime
    due_at: datetime
    first_contact_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    sla_state: str


class HistoryOut(BaseModel):
    """One change of a case."""

    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


class CaseDetail(CaseOut):
    """A case with its history."""

    history: list[HistoryOut]


class CasePage(BaseModel):
    """One page of cases."""

    items: list[CaseOut]
    total: int
    page: int
    per_page: int


class Assign(StrictModel):
    """The new owner."""

    owner_id: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class Note(StrictModel):
    """An optional note for the history."""

    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class Resolve(Note):
    """The root cause (delivery, product, staff, price, ...)."""

    root_cause: str | None = Field(default=None, max_length=100, pattern=NO_NUL)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and value != value else value


def _out(svc: CaseService, case: Case) -> CaseOut:
    view = svc.view(case)
    return CaseOut(**{k: _clean(v) for k, v in view.to_dict().items()})


def _filtered(scope: UserScope, state: list[str] | None, owner: str | None, store: list[str] | None,
              priority: str | None) -> Any:
    query = scope.cases(stores=store)
    if state:
        bad = [s for s in state if s not in STATES]
        if bad:
            msg = f"unknown case state {bad[0]!r}; states: {', '.join(STATES)}"
            raise CaseError(msg)
        query = query.where(Case.state.in_(state))
    if owner:
        query = query.where(Case.owner_id == owner)
    if priority:
        query = query.where(Case.priority == priority)
    return query


#: a case id: within the range every backend's integer holds (a larger one is a 422, not a crash)
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="case id")]
StateQ = Annotated[list[Text] | None, Query(description="states: open, in_progress, resolved, closed")]
StoreQ = Annotated[list[Text] | None, Query(description="store ids (within the user's grants)")]
OneQ = Annotated[Text | None, Query()]


@router.get("/cases", response_model=CasePage)
def list_cases(ctx: Ctx, scope: UserScope, state: StateQ = None, owner: OneQ = None, store: StoreQ = None,
               priority: OneQ = None, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
               per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> CasePage:
    """Cases the user may see, oldest first, filtered and paginated."""
    svc = CaseService(ctx.store)
    query = _filtered(scope, state, owner, store, priority)
    with ctx.store.session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(Case.opened_at, Case.id).offset((page - 1) * per_page).limit(per_page))
        items = [_out(svc, c) for c in rows]
    return CasePage(items=items, total=total, page=page, per_page=per_page)


@router.get("/cases/export.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the cases as CSV"}})
def export_cases(request: Request, ctx: Ctx, scope: UserScope, state: StateQ = None, owner: OneQ = None,
                 store: StoreQ = None, priority: OneQ = None) -> Response:
    """The cases the user may see as CSV (audited as an export)."""
    svc = CaseService(ctx.store)
    query = _filtered(scope, state, owner, store, priority)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with ctx.store.session() as s:
        rows = [_out(svc, c) for c in s.scalars(query.order_by(Case.opened_at, Case.id))]
        fields = list(CaseOut.model_fields)
        writer.writerow(fields)
        for row in rows:
            writer.writerow(["" if getattr(row, f) is None else getattr(row, f) for f in fields])
        ctx.accounts.audit(s, scope.user.name, "export", "cases.csv",
                           {"rows": len(rows), "state": state, "store": store}, ip=client_ip(request))
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: CaseId, ctx: Ctx, scope: UserScope) -> CaseDetail:
    """One case with its history; 404 for a case outside the user's stores."""
    svc = CaseService(ctx.store)
    with ctx.store.session() as s:
        case = scope.case(s, case_id)
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
        history = [HistoryOut(at=e.at, actor=e.actor, action=e.action, from_state=e.from_state,
                              to_state=e.to_state, note=e.note) for e in events]
        return CaseDetail(**_out(svc, case).model_dump(), history=history)


def _change(request: Request, ctx: Ctx, scope: UserScope, case_id: int, action: str, **kwargs: Any) -> CaseOut:
    svc = CaseService(ctx.store)
    actor = scope.user.name
    with ctx.store.session() as s:
        before = scope.case(s, case_id)
        state = before.state
        view = getattr(svc, action)(case_id, actor=actor, session=s, **kwargs)
        detail = {"from": state, "to": view.state, **{k: v for k, v in kwargs.items() if v is not None}}
        ctx.accounts.audit(s, actor, f"case.{action}", str(case_id), detail, ip=client_ip(request))
        return CaseOut(**{k: _clean(v) for k, v in view.to_dict().items()})


@router.post("/cases/{case_id}/assign", response_model=CaseOut)
def assign(case_id: CaseId, body: Assign, request: Request, ctx: Ctx, scope: UserScope) -> CaseOut:
    """Give the case to another owner (who is notified)."""
    return _change(request, ctx, scope, case_id, "assign", owner_id=body.owner_id, note=body.note)


@router.post("/cases/{case_id}/start", response_model=CaseOut)
def start(case_id: CaseId, request: Request, ctx: Ctx, scope: UserScope, body: Note | None = None) -> CaseOut:
    """Contact made: ``open -> in_progress`` (stops the SLA clock)."""
    return _change(request, ctx, scope, case_id, "start", note=body.note if body else None)


@router.post("/cases/{case_id}/resolve", response_model=CaseOut)
def resolve(case_id: CaseId, body: Resolve, request: Request, ctx: Ctx, scope: UserScope) -> CaseOut:
    """``in_progress`` (or ``open``) ``-> resolved`` with a root cause."""
    return _change(request, ctx, scope, case_id, "resolve", root_cause=body.root_cause, note=body.note)
