"""``/responses``: the survey responses collected by this server (the application store), newest
first, of the user's stores only (:meth:`clvlab.server.scope.Scope.responses`); ``?survey=`` and
``?store=`` filter, ``?csv=responses-1`` downloads every matching one (audited)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import func, select

from clvlab.report.charts import Table
from clvlab.report.context import Section
from clvlab.server.pages.common import PageCtx, sections_page
from clvlab.store import SurveyResponse

router = APIRouter(include_in_schema=False)
#: responses listed on the page (the CSV has every matching one)
SHOWN = 200


@router.get("/responses")
def responses(p: PageCtx) -> Response:
    """The latest survey responses of the user's stores (``?csv=responses-1``: all of them)."""
    t = p.t
    params = p.request.query_params
    stores = [s for s in params.getlist("store") if s]
    query = p.scope.responses(stores=stores)
    if params.get("survey"):
        query = query.where(SurveyResponse.survey_id == params["survey"])
    everything = params.get("csv") == "responses-1"
    with p.ctx.store.session() as s:
        total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = s.scalars(query.order_by(SurveyResponse.id.desc()).limit(None if everything else SHOWN)).all()
        cells = [[str(r.id), r.survey_id, f"{r.submitted_at:%Y-%m-%d %H:%M}", r.customer_id, r.store_id or "–",
                  r.channel, r.metric or "–", "–" if r.score is None else f"{r.score:g}", r.comment or ""]
                 for r in rows]
    section = Section("responses", t["responses"], t["responses_shown"].format(shown=len(cells), total=total))
    section.tables.append(Table(t["responses"], [t["response"], t["survey"], t["submitted"], t["customer"], t["store"],
                                                 t["channel"], t["metric"], t["score"], t["comment"]], cells,
                                [True, False, False, False, False, False, False, True, False]))
    return sections_page(p, "responses", t["responses"], t["responses_intro"].format(who=p.who()), [section])
