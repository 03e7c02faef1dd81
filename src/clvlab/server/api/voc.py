"""``/api/v1/voc/nps`` and ``/api/v1/voc/metrics``: NPS (or CSAT, CES) with its interval by store
(or month, product, touchpoint, channel), and ``/api/v1/voc/text``: the keywords, themes, sentiment and NPS drivers of the comments, as
the ``/voc`` page shows them, over the feedback the user may see."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, Text, UserScope
from clvlab.server.scope import Scope
from clvlab.server.workspace import SnapshotReader

router = APIRouter(tags=["voc"], responses=ERRORS)


class By(StrEnum):
    """What to group NPS by."""

    store = "store"
    month = "month"
    product = "product"
    touchpoint = "touchpoint"
    channel = "channel"
    none = "none"


class Metric(StrEnum):
    """A feedback metric."""

    nps = "nps"
    csat = "csat"
    ces = "ces"


class NpsOut(BaseModel):
    """Metric rows: the group column(s), ``n``, ``value``, ``lower``, ``upper``, class counts
    (NPS: promoters, passives, detractors; CSAT/CES: satisfied/easy ...), ``small_sample``."""

    by: list[str]
    level: float
    rows: list[dict[str, Any]]


StoreQ = Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")]
MinN = Annotated[int, Query(ge=0, le=1_000_000, description="answers below which a row is flagged small_sample")]


def _figures(scope: Scope, reader: SnapshotReader, metric: Metric, by: By, store: list[str] | None, min_n: int) -> NpsOut:
    from clvlab.cli._common import plain
    from clvlab.server.reads import feedback_figures

    scope.check_stores(store or ())  # 403 even when the workspace has no such table
    dims: tuple[str, ...] = () if by is By.none else (by.value,)
    with reader.open() as ws:
        frame = feedback_figures(scope, ws, dims, metric=metric.value, min_n=min_n, stores=store)
    if frame.empty:
        return NpsOut(by=list(dims), level=0.95, rows=[])
    return NpsOut(by=list(frame.attrs.get("by", dims)), level=float(frame.attrs.get("level", 0.95)),
                  rows=plain(frame.to_dict("records")))


@router.get("/voc/nps", response_model=NpsOut)
def nps(scope: UserScope, reader: Reader, by: By = By.store, store: StoreQ = None, min_n: MinN = 30) -> NpsOut:
    """NPS by ``by`` with 95% intervals; a store manager's rows cover their stores only."""
    return _figures(scope, reader, Metric.nps, by, store, min_n)


@router.get("/voc/metrics", response_model=NpsOut)
def metrics(scope: UserScope, reader: Reader, metric: Metric = Metric.nps, by: By = By.store, store: StoreQ = None,
            min_n: MinN = 30) -> NpsOut:
    """NPS, CSAT or CES by ``by`` with 95% intervals (the ``/voc`` page's charts: by store and by
    month); a store manager's rows cover their stores only."""
    return _figures(scope, reader, metric, by, store, min_n)


class TextOut(BaseModel):
    """Over the latest 2,000 comments (the ``/voc`` page's keywords, themes, sentiment and drivers):
    ``keywords``: ``word``, ``comments`` (answers holding it), ``count``, ``share``, by comments then
    word; ``themes``: ``theme``, ``label``, ``source``, ``keywords``, ``n``, ``share`` of the
    comments; ``sentiment``: ``sentiment``, ``comments``, ``share``; ``drivers``: which touchpoints
    and themes move NPS, ``driver``, ``level``, ``importance_pct`` (% of R^2), ``n``, ``nps``,
    ``gap`` (vs the rest) with ``gap_lower``, ``gap_upper``, ``p_value``, ``small_sample``."""

    keywords: list[dict[str, Any]]
    themes: list[dict[str, Any]]
    sentiment: list[dict[str, Any]]
    drivers: list[dict[str, Any]]


@router.get("/voc/text", response_model=TextOut)
def text(scope: UserScope, reader: Reader, store: StoreQ = None, min_n: MinN = 30) -> TextOut:
    """The top keywords, themes, sentiment and NPS drivers of the comments the user may see."""
    from clvlab.cli._common import plain
    from clvlab.server.reads import comment_analysis, keywords, latest_comments

    scope.check_stores(store or ())
    with reader.open() as ws:
        comments = latest_comments(scope, ws, stores=store)  # read once for both
    words, found = keywords(comments), comment_analysis(comments, min_n=min_n)
    return TextOut(keywords=plain(words.to_dict("records")),
                   **{k: plain(v.drop(columns=["importance"], errors="ignore").to_dict("records")) for k, v in found.items()})
