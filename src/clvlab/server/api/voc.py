"""``/api/v1/voc/nps``: NPS with its interval by store (or month, product, touchpoint, channel),
over the feedback the user may see."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, Text, UserScope

router = APIRouter(tags=["voc"], responses=ERRORS)


class By(StrEnum):
    """What to group NPS by."""

    store = "store"
    month = "month"
    product = "product"
    touchpoint = "touchpoint"
    channel = "channel"
    none = "none"


class NpsOut(BaseModel):
    """NPS rows: the group column(s), ``n``, ``value``, ``lower``, ``upper``, class counts, ``small_sample``."""

    by: list[str]
    level: float
    rows: list[dict[str, Any]]


@router.get("/voc/nps", response_model=NpsOut)
def nps(scope: UserScope, reader: Reader, by: By = By.store,
        store: Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")] = None,
        min_n: Annotated[int, Query(ge=0, le=1_000_000)] = 30) -> NpsOut:
    """NPS by ``by`` with 95% intervals; a store manager's rows cover their stores only."""
    from clvlab.cli._common import plain
    from clvlab.voc.metrics import feedback_metrics

    scope.check_stores(store or ())  # 403 even when the workspace has no such table
    dims: tuple[str, ...] = () if by is By.none else (by.value,)
    with reader.open() as ws:
        if "feedback" not in ws.tables():
            return NpsOut(by=list(dims), level=0.95, rows=[])
        table = scope.feedback(ws, stores=store)
        has_nps = table.filter(table.metric.lower() == "nps") if "metric" in table.columns else table
        if int(has_nps.count().execute()) == 0:
            return NpsOut(by=list(dims), level=0.95, rows=[])
        frame = feedback_metrics(table, metric="nps", by=dims, min_n=min_n)
    return NpsOut(by=list(frame.attrs.get("by", dims)), level=float(frame.attrs.get("level", 0.95)),
                  rows=plain(frame.to_dict("records")))
