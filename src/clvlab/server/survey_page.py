"""The public survey page ``/s/{token}``: no login, mobile-first, no JavaScript, no external assets.

``GET`` shows the survey of a personal link in its language (``?lang=en|zh`` switches; a
resubmission is prefilled), ``POST`` (a plain urlencoded form, so it works in the WeChat in-app
browser with scripts off) records the answer through the same :class:`~clvlab.surveys.responses.Collector`
as the JSON endpoint: committed before the reply, alert rules run, webhooks queued.  A tampered
link answers 403, an expired one 410, an unknown one 404, a flood 429, invalid answers 422 (the
form again, with the problems beside the questions): each as a page, never a JSON body.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import HTMLResponse

from clvlab.errors import ClvlabError
from clvlab.server.api.surveys import collector, deliver, survey_view
from clvlab.server.deps import Ctx, client_ip
from clvlab.surveys.definition import LANGUAGES, SurveyError
from clvlab.surveys.followup import answer_followup, followup_survey, is_followup

router = APIRouter(tags=["survey page"], include_in_schema=False)
Token = Annotated[str, Path(max_length=120)]
MAX_FORM_BYTES = 64_000

UI = {
    "zh": {"submit": "提交", "switch": "English", "required": "必答", "answered": "您已回答过此问卷，再次提交将更新您的回答。",
           "fix": "请检查标出的问题。", "answer_required": "请回答此题", "thanks_title": "提交成功",
           "error_title": "无法打开问卷", "busy": "提交过于频繁，请稍后再试。", "already": "您已回答过，感谢您的反馈！"},
    "en": {"submit": "Submit", "switch": "中文", "required": "required",
           "answered": "You have answered this survey; sending it again updates your answer.",
           "fix": "Please check the questions marked below.", "answer_required": "Please answer this question",
           "thanks_title": "Thank you", "error_title": "This survey cannot be opened",
           "busy": "Too many submissions; please try again later.",
           "already": "You have answered already. Thank you!"},
}
ERROR_TEXT = {
    403: {"zh": "此链接无效：可能被修改或复制不完整。请使用您收到的完整链接。",
          "en": "This link is not valid: it was altered or copied incompletely. Open it exactly as you received it."},
    404: {"zh": "找不到此问卷链接（邀请已撤回）。", "en": "This survey link is not known here (the invitation was withdrawn)."},
    410: {"zh": "此问卷链接已过期，感谢您的关注。", "en": "This survey link has expired. Thank you all the same."},
}


@lru_cache(maxsize=1)
def _template() -> Any:
    from importlib.resources import files

    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    return env.from_string(files("clvlab.surveys").joinpath("page/survey.html").read_text(encoding="utf-8"))


def _page(status: int, lang: str, **values: Any) -> HTMLResponse:
    values.setdefault("errors", {})
    values.setdefault("answers", {})
    html = _template().render(lang=lang, other_lang="en" if lang == "zh" else "zh", ui=UI[lang], **values)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                          "frame-ancestors 'none'; base-uri 'none'"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _error(exc: ClvlabError, lang: str) -> HTMLResponse:
    status = int(getattr(exc, "http_status", 422))
    headers = {}
    if status == 429:
        message = UI[lang]["busy"]
        headers["Retry-After"] = str(getattr(exc, "retry_after", 60))
    else:
        message = ERROR_TEXT.get(status, {}).get(lang, str(exc))
    page = _page(status, lang, title=UI[lang]["error_title"], message=message)
    page.headers.update(headers)
    return page


def _lang(value: str | None) -> str:
    return value if value in LANGUAGES else "zh"


@router.get("/s/{token}", response_class=HTMLResponse)
def show(ctx: Ctx, request: Request, token: Token,
         lang: Annotated[str | None, Query(max_length=8)] = None) -> HTMLResponse:
    """The survey form of a personal link (or of a case's re-survey link)."""
    if is_followup(token):
        return _followup(ctx, request, token, _lang(lang), None)
    try:
        found = collector(ctx, request).open(token)
    except ClvlabError as exc:
        return _error(exc, _lang(lang))
    language = lang if lang in LANGUAGES else found.survey.language
    view = survey_view(found.survey, language)
    return _page(200, language, title=view["title"], survey=view, answers=found.answers or {},
                 answered=found.answers is not None)


@router.post("/s/{token}", response_class=HTMLResponse)
async def submit(ctx: Ctx, request: Request, background: BackgroundTasks, token: Token,
                 lang: Annotated[str | None, Query(max_length=8)] = None) -> HTMLResponse:
    """Record the form's answers (a resubmit updates them) and thank the customer."""
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    form = parse_qs(raw[:MAX_FORM_BYTES].decode("utf-8", errors="replace"), keep_blank_values=True)
    language = _lang(lang or (form.get("_lang") or [""])[0])
    answers: dict[str, Any] = {k: (v if len(v) > 1 else v[0]) for k, v in form.items() if not k.startswith("_")}
    if is_followup(token):
        return await run_in_threadpool(_followup, ctx, request, token, language, answers)
    coll = collector(ctx, request)
    try:
        found = await run_in_threadpool(coll.open, token)
        language = lang if lang in LANGUAGES else _lang((form.get("_lang") or [found.survey.language])[0])
        multi = {q.id for q in found.survey.questions if q.type == "multi"}
        answers = {k: ([v] if k in multi and isinstance(v, str) else v) for k, v in answers.items()}
        result = await run_in_threadpool(lambda: coll.submit(token, answers, ip=client_ip(request), language=language))
    except SurveyError as exc:
        view = survey_view(found.survey, language)
        errors = {i.column: (UI[language]["answer_required"] if i.message == "an answer is required" else i.message)
                  for i in getattr(exc, "issues", ()) if i.column}
        return _page(422, language, title=view["title"], survey=view, answers=answers, errors=errors)
    except ClvlabError as exc:
        return _error(exc, language)
    if result.webhooks:
        background.add_task(deliver, ctx)
    thanks = found.survey.thanks.get(language) or UI[language]["thanks_title"]
    return _page(200, language, title=UI[language]["thanks_title"], message=thanks)


def _followup(ctx: Any, request: Request, token: str, language: str, answers: dict[str, Any] | None) -> HTMLResponse:
    """A case's re-survey: the metric asked once more; ``answers`` None shows the form."""
    from clvlab.cases.model import CaseError

    try:
        if answers is not None:
            ip = client_ip(request)
            if ip:
                collector(ctx, request).limiter.hit("survey.ip", ip)
        survey, answered = followup_survey(ctx.store, token[:64], language)
        view = survey_view(survey, language)
        if answered:
            return _page(200, language, title=view["title"], message=UI[language]["already"])
        if answers is None:
            return _page(200, language, title=view["title"], survey=view)
        try:
            score = survey.validate(answers)["score"]
        except SurveyError:
            return _page(422, language, title=view["title"], survey=view, answers=answers,
                         errors={"score": UI[language]["answer_required"]})
        answer_followup(ctx.store, token, score)
    except CaseError:
        return _page(409, language, title=UI[language]["thanks_title"], message=UI[language]["already"])
    except ClvlabError as exc:
        return _error(exc, language)
    return _page(200, language, title=UI[language]["thanks_title"], message=survey.thanks[language])
