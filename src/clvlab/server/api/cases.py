"""``/api/v1/cases``: the case inbox (list, one case, export) and its changes (assign, start,
resolve), through :class:`~clvlab.cases.service.CaseService` and the user's scope; every change
and export is audited in the same transaction."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from clvlab.cases.model import STATES, CaseError, CaseView, HistoryEntry
from clvlab.cases.service import CaseService
from clvlab.server.deps import ERRORS, NO_NUL, Ctx, StrictModel, Text, UserScope, client_ip
from clvlab.store import Case

router = APIRouter(tags=["cases"], responses=ERRORS)


@dataclass(frozen=True)
class CaseDetail(CaseView):
    """A case with its history."""

    history: list[HistoryEntry]


class CasePage(BaseModel):
    """One page of cases."""

    items: list[CaseView]
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
        items = [svc.view(c) for c in rows]
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
        rows = [svc.view(c) for c in s.scalars(query.order_by(Case.opened_at, Case.id))]
        names = [f.name for f in fields(CaseView)]
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if getattr(row, f) is None else getattr(row, f) for f in names])
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
        return CaseDetail(**svc.view(case).to_dict(), history=svc.history(case.id, session=s))


def _change(request: Request, ctx: Ctx, scope: UserScope, case_id: int, action: str, **kwargs: Any) -> CaseView:
    svc = CaseService(ctx.store)
    actor = scope.user.name
    with ctx.store.session() as s:
        before = scope.case(s, case_id)
        state = before.state
        view = getattr(svc, action)(case_id, actor=actor, session=s, **kwargs)
        detail = {"from": state, "to": view.state, **{k: v for k, v in kwargs.items() if v is not None}}
        ctx.accounts.audit(s, actor, f"case.{action}", str(case_id), detail, ip=client_ip(request))
        return view


@router.post("/cases/{case_id}/assign", response_model=CaseView)
def assign(case_id: CaseId, body: Assign, request: Request, ctx: Ctx, scope: UserScope) -> CaseView:
    """Give the case to another owner (who is notified)."""
    return _change(request, ctx, scope, case_id, "assign", owner_id=body.owner_id, note=body.note)


@router.post("/cases/{case_id}/start", response_model=CaseView)
def start(case_id: CaseId, request: Request, ctx: Ctx, scope: UserScope, body: Note | None = None) -> CaseView:
    """Contact made: ``open -> in_progress`` (stops the SLA clock)."""
    return _change(request, ctx, scope, case_id, "start", note=body.note if body else None)


@router.post("/cases/{case_id}/resolve", response_model=CaseView)
def resolve(case_id: CaseId, body: Resolve, request: Request, ctx: Ctx, scope: UserScope) -> CaseView:
    """``in_progress`` (or ``open``) ``-> resolved`` with a root cause."""
    return _change(request, ctx, scope, case_id, "resolve", root_cause=body.root_cause, note=body.note)
