"""``/api/v1/overview``: the headline figures of the ``/overview`` page over the user's stores:
customers, total CLV and the top decile's share of it, overall NPS with its interval, open cases."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Ctx, Reader, Text, UserScope

router = APIRouter(tags=["overview"], responses=ERRORS)


class OverviewOut(BaseModel):
    """``customers`` scored, their ``clv_total`` over ``horizon_days``, the ``top_decile_share`` of
    it in percent (null without value), ``nps`` (``n``, ``value``, ``lower``, ``upper``; null
    without NPS answers) and the ``open_cases`` (open or in progress)."""

    customers: int
    clv_total: float
    horizon_days: int
    top_decile_share: float | None
    nps: dict[str, Any] | None
    open_cases: int


@router.get("/overview", response_model=OverviewOut)
def overview(ctx: Ctx, scope: UserScope, reader: Reader,
             store: Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")] = None
             ) -> OverviewOut:
    """The overview's headline figures; a store manager's cover their stores only."""
    from clvlab.cli._common import plain
    from clvlab.report.context import Context
    from clvlab.server.pages.labels import page_labels
    from clvlab.server.reads import clv_headline, feedback_figures, open_cases

    scope.check_stores(store or ())  # 403 even when the workspace has no such table
    with reader.open() as ws:
        scored = "scores" in ws.tables()
        clv = scope.scores(ws, stores=store).select("clv").execute()["clv"] if scored else []
        customers, total, top = clv_headline(clv)
        horizon = int(Context(ws, page_labels("en")).settings.get("horizon_days", 365)) if scored else 365
        overall = feedback_figures(scope, ws, (), stores=store)
    nps = plain({k: overall.iloc[0][k] for k in ("n", "value", "lower", "upper")}) if len(overall) else None
    return OverviewOut(customers=customers, clv_total=total, horizon_days=horizon,
                       top_decile_share=None if math.isnan(top) else top, nps=nps,
                       open_cases=len(open_cases(scope, ctx.store, stores=store)))
