"""``/api/v1/lifecycle``: what the ``/lifecycle`` page shows of the user's customers: customers per
lifecycle stage, per health band (with the mean health score) and NPS by stage with 95% intervals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, Text, UserScope

router = APIRouter(tags=["lifecycle"], responses=ERRORS)


class LifecycleOut(BaseModel):
    """``stages``: ``stage``, ``customers`` (lifecycle order); ``bands``: ``band``, ``customers``,
    ``mean_health``; ``nps_by_stage``: ``stage`` (``(unscored)`` for answers of unstaged customers),
    ``n``, ``value``, ``lower``, ``upper``, class counts, ``small_sample``; ``as_of``: the stages' date.
    Empty lists where the workspace has no such table."""

    as_of: str | None
    stages: list[dict[str, Any]]
    bands: list[dict[str, Any]]
    nps_by_stage: list[dict[str, Any]]


@router.get("/lifecycle", response_model=LifecycleOut)
def lifecycle(scope: UserScope, reader: Reader,
              store: Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")] = None,
              min_n: Annotated[int, Query(ge=0, le=1_000_000)] = 30) -> LifecycleOut:
    """Stage sizes, health bands and NPS by stage; a store manager's figures cover their stores only."""
    from clvlab.cli._common import plain
    from clvlab.lifecycle.health import BANDS
    from clvlab.lifecycle.stages import STAGES
    from clvlab.server.reads import as_of, feedback_figures, group_sizes

    scope.check_stores(store or ())  # 403 even when the workspace has no such table
    with reader.open() as ws:
        tables = ws.tables()
        stages = bands = frame = None
        if "stages" in tables:
            stages = group_sizes(scope, ws, "stages", "stage", tuple(STAGES), stores=store)
            frame = feedback_figures(scope, ws, ("stage",), min_n=min_n, stores=store)
        if "health" in tables:
            bands = group_sizes(scope, ws, "health", "band", tuple(BANDS), mean="health", stores=store)
        day = as_of(ws, "stages") if "stages" in tables else None
    return LifecycleOut(
        as_of=day,
        stages=[] if stages is None else plain([{"stage": k, "customers": n} for k, n in stages["n"].items()]),
        bands=[] if bands is None else plain([{"band": k, "customers": r["n"], "mean_health": r["mean"]}
                                              for k, r in bands.iterrows()]),
        nps_by_stage=[] if frame is None else plain(frame.to_dict("records")))
