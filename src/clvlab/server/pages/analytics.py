"""The company-wide pages, for roles that see every store (a store manager gets 403: no store's
rows can be cut out of a model fit or of acquisition spend): ``/models`` (the fit diagnostics and
the holdout tracking plot of the last run) and ``/economics`` (CAC, AOV, LTV:CAC and payback by
channel, cohort retention).  The sections are the report's (:mod:`clvlab.report.sections`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import Response

from clvlab.report.context import Context, Section
from clvlab.server.deps import Reader
from clvlab.server.pages.common import PageCtx, guarded, sections_page

router = APIRouter(include_in_schema=False)


def company_page(p: PageCtx, reader: Reader, name: str, title: str,
                 parts: tuple[tuple[str, Callable[[Context], Section]], ...]) -> Response:
    """A page of the report's sections ``parts`` (key, builder) over the whole workspace, refused
    (403) to users who do not see every store; ``title`` and ``<title>_intro`` are label keys."""
    t = p.t
    p.scope.require_every_store(t[title].lower())
    with reader.open() as ws:
        ctx = Context(ws, t)
        sections = [guarded(key, t[key], build, ctx) for key, build in parts]
    return sections_page(p, name, t[title], t[f"{title}_intro"], sections)


@router.get("/models")
def models(p: PageCtx, reader: Reader) -> Response:
    """The last run's model comparison, parameters and holdout tracking (``?csv=<table>``)."""
    from clvlab.report.sections import model, tracking

    return company_page(p, reader, "models", "models", (("model", model), ("tracking", tracking)))


@router.get("/economics")
def economics(p: PageCtx, reader: Reader) -> Response:
    """CAC, AOV, LTV:CAC and payback by acquisition channel, and cohort retention (``?csv=<table>``)."""
    from clvlab.report.sections import cohorts
    from clvlab.report.sections import economics as by_channel

    return company_page(p, reader, "economics", "unit_economics", (("economics", by_channel), ("cohorts", cohorts)))
