"""``/api/v1/surveys``: survey definitions for admins and analysts, responses for every role
(a store manager's cover their stores only, through the scope; the CSV export is audited), webhook
subscribers for admins, and the public JSON endpoint apps and gateways answer a link through
(``/api/v1/surveys/respond/{token}``: no login, the signed token is the permission)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from clvlab.server.deps import ERRORS, Ctx, ServerContext, StrictModel, Text, UserScope, client_ip
from clvlab.store import SurveyResponse
from clvlab.surveys.definition import LANGUAGES, Survey, pick
from clvlab.surveys.responses import Collector, RateLimit

router = APIRouter(tags=["surveys"], responses={**ERRORS, 410: {"model": ERRORS[404]["model"],
                                                              "description": "the survey link has expired"}})
Token = Annotated[str, Path(max_length=80, pattern=r"^[0-9]{1,12}\.[0-9a-z]{1,8}\.[A-Za-z0-9_-]{1,43}$")]
SurveyId = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


def collector(ctx: ServerContext, request: Request) -> Collector:
    """The worker's :class:`Collector` (made on first use; CLV for priority from the snapshot)."""
    found: Collector | None = getattr(request.app.state, "surveys", None)
    if found is None:
        from clvlab.surveys.tokens import link_key

        settings = ctx.settings
        key = link_key(settings) if settings.link_secret is not None else ctx.secret
        found = Collector(ctx.store, key, clv=lambda: _clv(ctx), timezone=settings.timezone,
                          limits={"survey.token": RateLimit(settings.survey_rate_token, 3600),
                                  "survey.ip": RateLimit(settings.survey_rate_ip, 60)})
        request.app.state.surveys = found
    return found


def _clv(ctx: ServerContext) -> pd.Series | None:
    """CLV per customer from the snapshot's ``scores`` (None without a snapshot): case priority."""
    from clvlab.cases.alerts import read_clv
    from clvlab.errors import ClvlabError

    if ctx.reader is None:
        return None
    try:
        with ctx.reader.open() as ws:
            return read_clv(ws)
    except ClvlabError:
        return None


def deliver(ctx: ServerContext) -> None:
    """Post the due survey webhooks (after the reply; failures stay in the outbox for retry).
    Answers schedule it only when they queued an event."""
    from clvlab.cases.notify import flush_outbox
    from clvlab.surveys.webhooks import SignedWebhookNotifier

    flush_outbox(ctx.store, [SignedWebhookNotifier(ctx.store, retries=2, timeout=5.0)])


def survey_view(survey: Survey, language: str) -> dict[str, Any]:
    """The survey in one language, as the page and apps show it."""
    return {"id": survey.id, "language": language, "title": pick(survey.title, language),
            "intro": pick(survey.intro, language) if survey.intro else None,
            "questions": [{"id": q.id, "type": q.type, "text": pick(q.text, language), "required": q.required,
                           "scale": q.scale, "max_length": q.max_length if q.type == "text" else None,
                           "max_choices": q.max_choices,
                           "labels": {k: pick(v, language) for k, v in q.labels.items()},
                           "options": [{"id": o.id, "text": pick(o.text, language)} for o in q.options]}
                          for q in survey.questions]}


class AnswerIn(StrictModel):
    """Answers by question id (a number, a text, an option id or a list of option ids)."""

    answers: dict[str, int | float | Text | list[Text] | None] = Field(max_length=100)  # keys: checked by the survey
    language: Annotated[str | None, Field(pattern=r"^(zh|en)$")] = None


class SubmitOut(BaseModel):
    """The stored response: its id, whether it is new, its revision, cases the answer opened."""

    response_id: int
    created: bool
    revision: int
    cases: list[int]


@router.get("/surveys/respond/{token}")
def respond_form(ctx: Ctx, request: Request, token: Token,
                 lang: Annotated[str | None, Query(pattern=r"^(zh|en)$")] = None) -> dict[str, Any]:
    """The survey of a personal link, in its language (``?lang=`` to switch), and the answers so far."""
    found = collector(ctx, request).open(token)
    language = lang if lang in LANGUAGES else found.survey.language
    return {"survey": survey_view(found.survey, language), "answers": found.answers,
            "expires_at": found.expires_at}


@router.post("/surveys/respond/{token}", response_model=SubmitOut, status_code=201,
             responses={200: {"model": SubmitOut, "description": "an earlier answer of this link, updated"}})
def respond(ctx: Ctx, request: Request, response: Response, background: BackgroundTasks, token: Token,
            body: AnswerIn) -> Any:
    """Answer a personal link: 201 for the first answer, 200 when it updates the link's answer.

    The response is committed before this returns; alert rules run on it in the same transaction.
    """
    result = collector(ctx, request).submit(token, dict(body.answers), ip=client_ip(request), language=body.language)
    if result.webhooks:
        background.add_task(deliver, ctx)
    if not result.created:
        response.status_code = 200
    return result.to_dict()


class SurveySummary(BaseModel):
    """A stored survey with its counts."""

    survey_id: str
    title: str
    language: str
    questions: int
    types: list[str]
    invites: int
    responses: int
    updated_at: datetime


@router.get("/surveys", response_model=list[SurveySummary])
def surveys(ctx: Ctx, scope: UserScope) -> list[Any]:
    """Every survey in the app store (admins and analysts)."""
    from clvlab.surveys.registry import list_surveys

    scope.require_role("admin", "analyst")
    return list_surveys(ctx.store)


Lang = Annotated[str, Field(pattern=r"^(zh|en)$")]
Texts = Annotated[Text, Field(min_length=1, max_length=2000)] | Annotated[dict[Lang, Text], Field(min_length=1)]
Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class OptionIn(StrictModel):
    """A choice of a single/multi question."""

    id: Annotated[Text, Field(min_length=1, max_length=64)]
    text: Texts


class QuestionIn(StrictModel):
    """A question (docs/surveys.md lists the types and their rules)."""

    id: Ident
    type: Literal["nps", "csat", "ces", "acsi", "rating", "text", "single", "multi"]
    text: Texts
    required: bool | None = None
    options: Annotated[list[OptionIn], Field(max_length=50, default_factory=list)]
    min: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    max: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 1000
    max_choices: Annotated[int, Field(ge=1, le=50)] | None = None
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
    labels: Annotated[dict[Literal["low", "high"], Texts], Field(default_factory=dict)]


class SurveyIn(StrictModel):
    """A survey definition: the YAML file's content as JSON."""

    id: Ident
    language: Lang = "zh"
    title: Texts | None = None
    intro: Texts | None = None
    thanks: Texts | None = None
    questions: Annotated[list[QuestionIn], Field(min_length=1, max_length=100)]


@router.post("/surveys", status_code=201)
def create(ctx: Ctx, scope: UserScope, request: Request, body: SurveyIn) -> dict[str, Any]:
    """Create or replace a survey from its definition (the YAML file's content as JSON).

    Rules the schema cannot state answer 422 with the place: choice questions need two options,
    the ACSI needs its three questions, question ids are unique, a rating's min is below its max.
    """
    from clvlab.surveys.definition import parse_survey
    from clvlab.surveys.registry import save_survey

    scope.require_role("admin", "analyst")
    survey = parse_survey(body.model_dump(exclude_none=True))
    with ctx.store.session() as session:
        created = save_survey(session, survey)
        ctx.accounts.audit(session, scope.user.name, "survey.save", survey.id, {"created": created},
                           ip=client_ip(request))
    return {"survey_id": survey.id, "created": created}


@router.get("/surveys/{survey_id}")
def survey(ctx: Ctx, scope: UserScope, survey_id: SurveyId) -> dict[str, Any]:
    """One survey's definition (every language)."""
    from clvlab.surveys.registry import get_survey

    scope.require_role("admin", "analyst")
    with ctx.store.session() as session:
        return get_survey(session, survey_id).to_dict()


class ResponseOut(BaseModel):
    """One stored response."""

    response_id: int
    survey_id: str
    customer_id: str
    channel: str
    language: str
    answers: dict[str, Any]
    hidden: dict[str, Any]
    metric: str | None
    score: float | None
    comment: str | None
    store_id: str | None
    submitted_at: datetime
    updated_at: datetime
    revisions: int


class ResponsePage(BaseModel):
    """A page of responses."""

    items: list[ResponseOut]
    total: int
    page: int
    per_page: int


def response_row(r: SurveyResponse) -> dict[str, Any]:
    """A stored response as the API shows it (answers and hidden fields as objects)."""
    return {"response_id": r.id, "survey_id": r.survey_id, "customer_id": r.customer_id, "channel": r.channel,
            "language": r.language, "answers": json.loads(r.answers), "hidden": json.loads(r.hidden or "{}"),
            "metric": r.metric, "score": r.score, "comment": r.comment, "store_id": r.store_id,
            "submitted_at": r.submitted_at, "updated_at": r.updated_at, "revisions": r.revisions}


StoreFilter = Annotated[list[Text] | None, Query(description="only these stores (within the user's grants)")]


@router.get("/surveys/{survey_id}/responses", response_model=ResponsePage)
def responses(ctx: Ctx, scope: UserScope, survey_id: SurveyId, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
              per_page: Annotated[int, Query(ge=1, le=200)] = 50, store: StoreFilter = None) -> dict[str, Any]:
    """A survey's responses, newest first; a store manager's cover their stores only."""
    query = scope.responses(select(SurveyResponse).where(SurveyResponse.survey_id == survey_id), stores=store)
    with ctx.store.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(SurveyResponse.id.desc()).offset((page - 1) * per_page)
                               .limit(per_page)).all()
        items = [response_row(r) for r in rows]
    return {"items": items, "total": int(total), "page": page, "per_page": per_page}


@router.get("/surveys/{survey_id}/responses/export.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the responses as CSV"}})
def export_responses(ctx: Ctx, scope: UserScope, request: Request, survey_id: SurveyId,
                     store: StoreFilter = None) -> Response:
    """Every response of the survey the user may see, newest first, as CSV (audited as an export)."""
    import csv
    import io

    query = scope.responses(select(SurveyResponse).where(SurveyResponse.survey_id == survey_id), stores=store)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["response_id", "survey_id", "customer_id", "store_id", "channel", "language", "metric", "score",
               "comment", "answers", "hidden", "submitted_at", "updated_at", "revisions"]
    writer.writerow(columns)
    with ctx.store.session() as session:
        rows = [response_row(r) for r in session.scalars(query.order_by(SurveyResponse.id.desc()))]
        for row in rows:
            writer.writerow([json.dumps(row[c], ensure_ascii=False) if c in ("answers", "hidden") else row[c]
                             for c in columns])
        ctx.accounts.audit(session, scope.user.name, "export", f"responses-{survey_id}.csv",
                           {"rows": len(rows), "stores": sorted(store or [])}, ip=client_ip(request))
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="responses-{survey_id}.csv"'})


class InviteeIn(StrictModel):
    """One customer to invite, with the hidden fields carried into the response."""

    customer_id: Annotated[Text, Field(min_length=1, max_length=128)]
    store_id: Annotated[Text, Field(max_length=64)] | None = None
    touchpoint: Annotated[Text, Field(max_length=64)] | None = None
    order_id: Annotated[Text, Field(max_length=128)] | None = None
    product_id: Annotated[Text, Field(max_length=64)] | None = None


class InvitesIn(StrictModel):
    """Customers to invite on one channel (e.g. the POS after a first purchase)."""

    channel: Literal["web", "app", "wechat", "sms", "email"]
    customers: Annotated[list[InviteeIn], Field(min_length=1, max_length=10_000)]
    valid_days: Annotated[float, Field(gt=0, le=365)] | None = None
    min_days: Annotated[float, Field(ge=0, le=3650)] | None = None


@router.post("/surveys/{survey_id}/invites", status_code=201)
def invite(ctx: Ctx, scope: UserScope, request: Request, survey_id: SurveyId, body: InvitesIn) -> dict[str, Any]:
    """Personal links for these customers (admins and analysts), skipping anyone asked within the
    contact window: ``{created, skipped_recent, skipped_duplicate, links: [{customer_id, link, ...}]}``."""
    from clvlab.surveys.invites import create_invites, link_base

    scope.require_role("admin", "analyst")
    settings = ctx.settings
    frame = pd.DataFrame([c.model_dump() for c in body.customers])
    batch = create_invites(ctx.store, survey_id, frame, channel=body.channel, key=collector(ctx, request).key,
                           base_url=settings.survey_link_base() or link_base(str(request.base_url)),
                           valid_days=body.valid_days or settings.survey_link_days,
                           min_days=settings.survey_contact_days if body.min_days is None else body.min_days)
    with ctx.store.session() as session:
        ctx.accounts.audit(session, scope.user.name, "survey.invite", survey_id,
                           {**batch.to_dict(), "channel": body.channel}, ip=client_ip(request))
    links = batch.links.astype(object).where(batch.links.notna(), None).to_dict("records")
    return {**batch.to_dict(), "links": links}


class WebhookIn(StrictModel):
    """A receiver of survey events."""

    url: Annotated[str, Field(pattern=r"^https?://[^\x00-\x20]+$", max_length=2000)]


@router.post("/survey-webhooks", status_code=201)
def add_webhook(ctx: Ctx, scope: UserScope, request: Request, body: WebhookIn) -> dict[str, Any]:
    """Subscribe a URL to survey events (admins); the signing secret is returned once."""
    from clvlab.surveys.webhooks import add_subscriber

    scope.require_role("admin")
    sub_id, secret = add_subscriber(ctx.store, body.url)
    with ctx.store.session() as session:
        ctx.accounts.audit(session, scope.user.name, "webhook.add", body.url[:200], ip=client_ip(request))
    return {"id": sub_id, "url": body.url, "secret": secret}


@router.get("/survey-webhooks")
def webhooks(ctx: Ctx, scope: UserScope) -> list[dict[str, Any]]:
    """Subscribers, without their secrets (admins)."""
    from clvlab.surveys.webhooks import list_subscribers

    scope.require_role("admin")
    return list_subscribers(ctx.store)

