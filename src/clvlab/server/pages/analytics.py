"""The company-wide pages, for roles that see every store (a store manager gets 403: no store's
rows can be cut out of a model fit or of acquisition spend): ``/models`` (the fit diagnostics and
the holdout tracking plot of the last run) and ``/economics`` (CAC, AOV, LTV:CAC and payback by
channel, cohort retention).  The sections are the report's (:mod:`clvlab.report.sections`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from clvlab.report.context import Context
from clvlab.server.deps import Reader
from clvlab.server.pages.common import PageCtx, guarded, sections_page

router = APIRouter(include_in_schema=False)


@router.get("/models")
def models(p: PageCtx, reader: Reader) -> Response:
    """The last run's model comparison, parameters and holdout tracking (``?csv=<table>``)."""
    from clvlab.report.sections import model, tracking

    t = p.t
    p.scope.require_every_store(t["models"].lower())
    with reader.open() as ws:
        ctx = Context(ws, t)
        sections = [guarded("model", t["model"], model, ctx), guarded("tracking", t["tracking"], tracking, ctx)]
    return sections_page(p, "models", t["models"], t["models_intro"], sections)
