"""``/api/v1/auth/login``, ``/api/v1/auth/logout`` and ``/api/v1/me``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from clvlab.server.deps import (
    CSRF_COOKIE,
    ERRORS,
    NO_NUL,
    SESSION_COOKIE,
    Ctx,
    StrictModel,
    User,
    check_origin,
    client_ip,
)

router = APIRouter(tags=["auth"], responses=ERRORS)


class LoginIn(StrictModel):
    """A name and a password."""

    name: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024, pattern=NO_NUL)


class Me(BaseModel):
    """The logged-in user."""

    name: str
    role: str
    stores: list[str] | None = Field(description="granted stores; null: every store (admin, analyst)")
    via: str


class LoginOut(BaseModel):
    """The session's user and the CSRF token to send as ``X-CSRF-Token`` on writes."""

    user: Me
    csrf_token: str


def _me(user: User) -> Me:
    every = user.role in {"admin", "analyst"}
    return Me(name=user.name, role=user.role, stores=None if every else list(user.stores), via=user.via)


@router.post("/auth/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, ctx: Ctx) -> LoginOut:
    """Log in: sets the session cookie (HttpOnly) and the CSRF cookie; 401 on a wrong password,
    429 after too many failures."""
    check_origin(request)  # no login from another site's form (login CSRF)
    ip = client_ip(request)
    user = ctx.accounts.authenticate(body.name, body.password, ip=ip)
    session_id = ctx.accounts.open_session(user, ip=ip)
    secure = request.url.scheme == "https"
    max_age = int(ctx.settings.session_hours * 3600)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure, path="/")
    csrf = ctx.csrf_token(session_id)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/")
    return LoginOut(user=_me(user), csrf_token=csrf)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, ctx: Ctx, user: User) -> Response:
    """End the session (cookie sessions; a token stays valid until revoked)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        ctx.accounts.close_session(session_id, actor=user.name, ip=client_ip(request))
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    out.delete_cookie(CSRF_COOKIE, path="/")
    return out


@router.get("/me", response_model=Me)
def me(user: User) -> Me:
    """Who is logged in, with role and stores."""
    return _me(user)
