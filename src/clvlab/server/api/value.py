"""``/api/v1/value/clv``: predicted customer value by store (or overall), over the customers the
user may see (the workspace snapshot's ``scores`` with each customer's home store)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, Text, UserScope

router = APIRouter(tags=["value"], responses=ERRORS)


class By(StrEnum):
    """What to group CLV by."""

    store = "store"
    none = "none"


class ClvOut(BaseModel):
    """Rows: ``store_id`` (with ``by=store``), ``customers``, ``clv_total``, ``clv_mean``, ``run_id``, ``as_of``."""

    by: list[str]
    rows: list[dict[str, Any]]


@router.get("/value/clv", response_model=ClvOut)
def clv(scope: UserScope, reader: Reader, by: By = By.store,
        store: Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")] = None
        ) -> ClvOut:
    """Customers, total and mean CLV per store; a store manager's rows cover their stores only."""
    from clvlab.cli._common import plain

    scope.check_stores(store or ())  # 403 even when the workspace has no such table
    with reader.open() as ws:
        if "scores" not in ws.tables():
            return ClvOut(by=[] if by is By.none else ["store_id"], rows=[])
        t = scope.scores(ws, stores=store)
        aggs = {"customers": t.customer_id.count(), "clv_total": t.clv.sum(), "clv_mean": t.clv.mean(),
                "run_id": t.run_id.max(), "as_of": t.as_of.max()}
        expr = t.aggregate(**aggs) if by is By.none else t.group_by("store_id").aggregate(**aggs).order_by("store_id")
        frame = expr.execute()
    frame = frame[frame["customers"] > 0]
    return ClvOut(by=[] if by is By.none else ["store_id"], rows=plain(frame.to_dict("records")))
