"""Request dependencies: the server's context, who is asking (session cookie or bearer token),
CSRF protection of cookie-authenticated writes, and the user's :class:`~clvlab.server.scope.Scope`.

CSRF: a *signed double-submit token*.  Logging in sets the HttpOnly session cookie and a readable
``clvlab_csrf`` cookie whose value is HMAC-SHA256(secret key, session id) (also returned in the
login answer).  A cookie-authenticated POST/PUT/PATCH/DELETE must echo it in the ``X-CSRF-Token``
header; the server recomputes it from the session cookie, so a value set by another site is
useless.  A request whose ``Origin`` header names another host is refused too.  Bearer-token
requests carry no ambient credential and need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from clvlab.errors import ClvlabError
from clvlab.server.auth.accounts import Accounts, AuthError, Principal
from clvlab.server.scope import ForbiddenError, Scope
from clvlab.server.workspace import SnapshotReader, WorkspaceUnavailable
from clvlab.settings import Settings
from clvlab.store import AppStore

SESSION_COOKIE = "clvlab_session"
CSRF_COOKIE = "clvlab_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ServerContext:
    """What every request shares: settings, the app store, accounts, the workspace snapshot."""

    settings: Settings
    store: AppStore
    accounts: Accounts
    secret: bytes
    reader: SnapshotReader | None

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token bound to a session id."""
        return hmac.new(self.secret, session_id.encode(), hashlib.sha256).hexdigest()


def context(request: Request) -> ServerContext:
    """The server's context (set by :func:`clvlab.server.app.create_app`)."""
    ctx: ServerContext = request.app.state.clvlab
    return ctx


def client_ip(request: Request) -> str | None:
    """The caller's address (behind a proxy: as the proxy reports it, with ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else None


def check_origin(request: Request) -> None:
    """:class:`ForbiddenError` when the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1].rstrip("/") != request.headers.get("host", ""):
        msg = f"cross-site request refused (Origin {origin!r} is not this server)"
        raise ForbiddenError(msg)


def _check_csrf(request: Request, ctx: ServerContext, session_id: str) -> None:
    check_origin(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent, ctx.csrf_token(session_id)):
        msg = f"missing or wrong CSRF token: send the {CSRF_HEADER} header with the value of the {CSRF_COOKIE} cookie"
        raise ForbiddenError(msg)


class InvalidInputError(ClvlabError):
    """A request the server refuses to read (HTTP 422)."""


#: text without NUL characters: PostgreSQL text cannot hold them and DuckDB's SQL parser stops at
#: them, so every string the API takes is declared with this pattern (a NUL is a 422, not a crash)
NO_NUL = r"^[^\x00]*$"
#: a string field or parameter of the API (no NUL character)
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]


class StrictModel(BaseModel):
    """A request body: unknown fields are refused (the schema says so too)."""

    model_config = ConfigDict(extra="forbid")


async def reject_nul(request: Request) -> None:
    """Refuse NUL characters in the path or the query (422), declared parameter or not."""
    if "\x00" in request.url.path or "\x00" in unquote_plus(request.url.query):
        msg = "the request's path or query contains a NUL character"
        raise InvalidInputError(msg)


def current_user(request: Request, ctx: Annotated[ServerContext, Depends(context)]) -> Principal:
    """The requesting user: ``Authorization: Bearer <token>``, else the session cookie (with CSRF
    checked on unsafe methods); :class:`AuthError` (401) when neither is valid."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "the Authorization header must be 'Bearer <token>'"
            raise AuthError(msg)
        return ctx.accounts.token_user(token.strip())
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        msg = "not logged in: log in (POST /api/v1/auth/login) or send 'Authorization: Bearer <token>'"
        raise AuthError(msg)
    user = ctx.accounts.session_user(session_id)
    if request.method not in _SAFE:
        _check_csrf(request, ctx, session_id)
    return user


def scope(user: Annotated[Principal, Depends(current_user)]) -> Scope:
    """The requesting user's scope: every query of store data goes through it."""
    return Scope(user)


def reader(ctx: Annotated[ServerContext, Depends(context)]) -> SnapshotReader:
    """The workspace snapshot reader; 503 when the server runs without a workspace."""
    if ctx.reader is None:
        msg = "this server runs without an analytics workspace"
        raise WorkspaceUnavailable(msg, hint="start it with clvlab serve -w WORKSPACE")
    return ctx.reader


Ctx = Annotated[ServerContext, Depends(context)]
User = Annotated[Principal, Depends(current_user)]
UserScope = Annotated[Scope, Depends(scope)]
Reader = Annotated[SnapshotReader, Depends(reader)]


class ErrorOut(BaseModel):
    """The one error shape (the CLI's ``--json`` one): message, located issues, hints, HTTP status."""

    ok: bool = False
    error: str
    errors: list[dict[str, Any]]
    hints: list[dict[str, Any]]
    status: int


#: the error answers every router documents (OpenAPI), all in the shape of :class:`ErrorOut`
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in (
        (401, "not logged in, or an unknown/revoked token"), (403, "role, grants or CSRF refuse it"),
        (404, "no such object the user may see"), (409, "the change is not possible in this state"),
        (422, "invalid request"), (429, "too many failed logins (Retry-After)"),
        (503, "the workspace snapshot is not available (Retry-After)"))}
