"""``/api/v1/journey``: the customer journey of the user's stores (seed 003): touchpoints in
journey order with volume and NPS, CSAT and CES with 95% intervals, and the drop-away funnel
(:mod:`clvlab.voc.journey`), with notes on what the data cannot say."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, Text, UserScope

router = APIRouter(tags=["voc"], responses=ERRORS)


class JourneyOut(BaseModel):
    """``touchpoints``: ``touchpoint``, ``answers``, ``customers``, and per metric ``nps``,
    ``nps_lower``, ``nps_upper``, ``nps_n`` (likewise ``csat``, ``ces``); ``funnel``: ``step``,
    ``customers``, ``from_previous``, ``conversion``, ``dropped``; ``notes``: assumptions and gaps."""

    touchpoints: list[dict[str, Any]]
    funnel: list[dict[str, Any]]
    notes: list[str]


@router.get("/journey", response_model=JourneyOut)
def journey(scope: UserScope, reader: Reader,
            store: Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")] = None
            ) -> JourneyOut:
    """The journey over the feedback, events and purchases the user may see."""
    from clvlab.cli._common import plain
    from clvlab.server.pages.labels import page_labels
    from clvlab.server.reads import journey_data
    from clvlab.voc.journey import JOURNEY_ORDER

    scope.check_stores(store or ())  # 403 even when the workspace has no such table
    with reader.open() as ws:
        data = journey_data(scope, ws, stores=store)
    t = page_labels("en")
    notes = [t["order_assumed"].format(order=" → ".join(JOURNEY_ORDER)), t["funnel_skips"],
             *(t[key] for key in data["notes"])]
    return JourneyOut(touchpoints=plain(data["touchpoints"].to_dict("records")),
                      funnel=plain(data["funnel"].to_dict("records")), notes=notes)
