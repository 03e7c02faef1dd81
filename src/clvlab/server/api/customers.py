"""``/api/v1/customers``: the user's customers (search, filters, sort, pages) as the ``/customers``
page lists them; ``/api/v1/customers/{id}``: one customer's predicted value, stage, health, feedback and cases,
read from the workspace snapshot and the app store through the user's scope (404 for a customer
outside a store manager's stores)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, NO_NUL, Ctx, Reader, Text, UserScope
from clvlab.server.reads import SORTS
from clvlab.store import Case

router = APIRouter(tags=["customers"], responses=ERRORS)

#: how many of a customer's latest responses the answer carries
FEEDBACK_LIMIT = 50


#: a search or filter value
Opt = Annotated[Text | None, Query(max_length=128)]


class CustomerPage(BaseModel):
    """One page of customers (``customer_id``, ``store_id``, ``clv``, ``p_alive``, and ``segment``,
    ``stage``, ``health``, ``band`` when computed), the matching ``total``, and the values each
    filter takes over the user's customers (``options``: ``segment``, ``stage``, ``store_id``)."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    options: dict[str, list[str]]


@router.get("/customers", response_model=CustomerPage)
def list_customers(scope: UserScope, reader: Reader,
                   q: Annotated[Text | None, Query(max_length=128, description="part of the customer id")] = None,
                   segment: Opt = None, stage: Opt = None,
                   store: Annotated[Text | None, Query(max_length=128, description="one store (within the user's grants)")] = None,
                   sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "clv",
                   page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                   per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> CustomerPage:
    """The scored customers of the user's stores, sorted by CLV (highest first), health, p_alive or id."""
    from clvlab.cli._common import plain
    from clvlab.server.reads import customer_search, customer_table, filter_options

    scope.check_stores([store] if store else ())  # 403 even when the workspace has no scores
    with reader.open() as ws:
        if "scores" not in ws.tables():
            return CustomerPage(items=[], total=0, page=page, per_page=per_page, options={})
        base = customer_table(scope, ws, store)
        table = customer_search(base, q, segment, stage, sort)
        total = int(table.count().execute())
        frame = table.limit(per_page, offset=(page - 1) * per_page).execute()
        options = filter_options(base)
    return CustomerPage(items=plain(frame.to_dict("records")), total=total, page=page, per_page=per_page,
                        options=options)


class CustomerOut(BaseModel):
    """One customer: ``scores``, ``stage`` and ``health`` rows (null when not computed), the latest
    feedback the user may see, and the customer's cases in the user's stores."""

    customer_id: str
    scores: dict[str, Any] | None
    stage: dict[str, Any] | None
    health: dict[str, Any] | None
    feedback: list[dict[str, Any]]
    cases: list[dict[str, Any]]


def _row(ws: Any, name: str, customer_id: str) -> dict[str, Any] | None:
    from clvlab.cli._common import plain
    from clvlab.derived import read_derived

    table = read_derived(ws, name, where=f"customer {name}", missing_ok=True)
    if table is None:
        return None
    frame = table.filter(table.customer_id == customer_id).limit(1).execute()
    return None if frame.empty else plain(frame.iloc[0].to_dict())


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def customer(customer_id: Annotated[str, Path(pattern=NO_NUL, max_length=128)], ctx: Ctx, scope: UserScope, reader: Reader) -> CustomerOut:
    """Scores, stage, health, feedback and cases of one customer."""
    from clvlab.cli._common import plain

    with reader.open() as ws:
        scope.require_customer(ws, customer_id)
        rows = {name: _row(ws, name, customer_id) for name in ("scores", "stages", "health")}
        feedback: list[dict[str, Any]] = []
        if "feedback" in ws.tables():
            fb = scope.feedback(ws)
            fb = fb.filter(fb.customer_id.cast("string") == customer_id)
            keep = [c for c in fb.columns if not c.startswith("_")]
            frame = fb.select(*keep).order_by(fb.responded_at.desc()).limit(FEEDBACK_LIMIT).execute()
            feedback = plain(frame.to_dict("records"))
    with ctx.store.session() as s:
        cases = s.scalars(scope.cases().where(Case.customer_id == customer_id).order_by(Case.opened_at))
        case_rows = [plain({"id": c.id, "state": c.state, "priority": c.priority, "store_id": c.store_id,
                            "owner_id": c.owner_id, "opened_at": c.opened_at, "reasons": c.reasons}) for c in cases]
    return CustomerOut(customer_id=customer_id, scores=rows["scores"], stage=rows["stages"],
                       health=rows["health"], feedback=feedback, cases=case_rows)
