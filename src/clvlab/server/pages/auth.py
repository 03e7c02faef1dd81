"""``/login`` (a form posting to the same session login as ``POST /api/v1/auth/login``: throttled,
audited), ``/logout`` and ``/`` (to the overview)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clvlab.server.api.auth import LoginIn
from clvlab.server.api.auth import login as session_login
from clvlab.server.auth.accounts import AuthError, ThrottledError
from clvlab.server.deps import CSRF_COOKIE, SESSION_COOKIE, Ctx, client_ip
from clvlab.server.pages.common import LANG_COOKIE, Form, PageCtx, _env, check_form, pick_lang
from clvlab.server.pages.labels import page_labels

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only a path of this server (no ``//host`` or scheme: no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/overview"


def _login_form(request: Request, status: int = 200, error: str = "", name: str = "") -> HTMLResponse:
    lang = pick_lang(request)
    html = _env().get_template("login.html.j2").render(
        t=page_labels(lang), html_lang="zh-CN" if lang == "zh" else "en", error=error, name=name,
        next=_safe_next(request.query_params.get("next")), other="zh" if lang == "en" else "en")
    answer = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") == lang:
        answer.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return answer


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _login_form(request)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, ctx: Ctx, form: Form) -> Response:
    """Check the password (throttled like the API's login), open the session, go to ``next``."""
    name, password = form.get("name", "").strip(), form.get("password", "")
    target = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    try:
        body = LoginIn(name=name, password=password)
    except ValueError:
        return _login_form(request, 422, page_labels(pick_lang(request))["login_title"], name)
    try:
        session_login(body, request, target, ctx)
    except ThrottledError as exc:
        answer = _login_form(request, 429, str(exc), name)
        answer.headers["Retry-After"] = str(getattr(exc, "retry_after", 900))
        return answer
    except AuthError as exc:
        return _login_form(request, 401, str(exc), name)
    return target


@router.post("/logout", response_class=RedirectResponse)
def logout(p: PageCtx, form: Form) -> RedirectResponse:
    """End the session (the form carries the CSRF token)."""
    check_form(p, form)
    p.ctx.accounts.close_session(p.session_id, actor=p.user.name, ip=client_ip(p.request))
    out = RedirectResponse("/login", status_code=303)
    out.delete_cookie(SESSION_COOKIE, path="/")
    out.delete_cookie(CSRF_COOKIE, path="/")
    return out
