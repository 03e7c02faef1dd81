"""The application factory: ``create_app(settings)`` builds the FastAPI app of ``clvlab serve``.

Start-up refuses (a :class:`~clvlab.errors.ClvlabError` naming the fix) a default or missing
secret key outside development, and an application store whose schema is behind the code
(``clvlab db upgrade``): the server never migrates by itself.  Every error, whatever raised it,
answers the one JSON shape the CLI's ``--json`` prints (:func:`clvlab.errors.error_payload`).
Routers are modules in :mod:`clvlab.server.api` listed in :data:`ROUTERS`; a new capability
(surveys, dashboards) adds its module there.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clvlab.cases.model import CaseError, CaseNotFoundError
from clvlab.errors import ClvlabError, error_payload
from clvlab.server.auth.accounts import AccessError, Accounts, AuthError
from clvlab.server.deps import ServerContext, reject_nul
from clvlab.server.scope import ForbiddenError, NotFoundError
from clvlab.server.workspace import SnapshotReader, WorkspaceUnavailable
from clvlab.settings import Settings, get_settings
from clvlab.store import StoreBehindError, check_current, open_app_store

log = logging.getLogger("clvlab.server")

#: modules of clvlab.server.api whose ``router`` is mounted under /api/v1, in this order
ROUTERS = ("auth", "cases", "customers", "voc", "value", "admin", "surveys", "analytics", "journey", "lifecycle",
           "overview")
#: modules whose ``router`` is mounted at the root (public pages)
PAGES = ("clvlab.server.survey_page",)
#: the secret key of development servers (refused outside --dev)
DEV_SECRET = "clvlab-dev-insecure-secret-key"
#: secrets refused outside --dev: the development one and placeholders people paste
DEFAULT_SECRETS = frozenset({DEV_SECRET, "changeme", "change-me", "secret", "dev", "test", "password"})
MIN_SECRET_LENGTH = 16


class StartupError(ClvlabError):
    """The server cannot start with these settings (no usable secret key)."""


def secret_key(settings: Settings) -> bytes:
    """The server's secret key; a :class:`StartupError` for a missing, default or short one unless ``dev``."""
    value = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    if settings.dev:
        return (value or DEV_SECRET).encode()
    if value is None or value in DEFAULT_SECRETS or len(value) < MIN_SECRET_LENGTH:
        what = "no secret key is set" if value is None else "the secret key is a default or shorter than 16 characters"
        msg = f"clvlab serve refuses to start: {what}"
        raise StartupError(msg, hint="set CLVLAB_SECRET_KEY to a random value, e.g. the output of "
                             "python -c 'import secrets; print(secrets.token_urlsafe(32))' (or use --dev "
                             "on your own machine)")
    return value.encode()


def _status(exc: ClvlabError) -> int:
    declared = getattr(exc, "http_status", None)  # an error that names its own status (surveys, 429)
    if isinstance(declared, int):
        return declared
    for kind, code in ((AuthError, 401), (ForbiddenError, 403), (CaseNotFoundError, 404),
                       (NotFoundError, 404), (WorkspaceUnavailable, 503), (StoreBehindError, 503),
                       (CaseError, 409), (AccessError, 409)):
        if isinstance(exc, kind):
            return code
    return 422


def _answer(exc: BaseException, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    from clvlab.cli._common import plain

    return JSONResponse(plain(error_payload(exc, status)), status_code=status, headers=headers)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ClvlabError)
    async def clvlab_error(request: Request, exc: ClvlabError) -> JSONResponse:
        status = _status(exc)
        headers = {"Retry-After": str(getattr(exc, "retry_after", 30))} if status in {429, 503} else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return _answer(exc, status, headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _answer(ClvlabError(str(exc.detail)), exc.status_code, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        error = ClvlabError(f"invalid request: {where}: {first.get('msg', 'invalid value')}")
        body = error_payload(error, 422)
        body["errors"] = [{"row": None, "column": ".".join(str(p) for p in e.get("loc", ())), "value": None,
                           "message": e.get("msg")} for e in errors]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _answer(ClvlabError("internal server error (logged on the server)"), 500)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The clvlab server as a FastAPI application.

    Parameters
    ----------
    settings
        Where the workspace and the application store are, the secret key, session length,
        login throttle and ``dev`` (:class:`clvlab.settings.Settings`); default: the environment.

    Raises
    ------
    StartupError
        No usable secret key outside ``dev``.
    StoreBehindError
        The application store is behind the code (run ``clvlab db upgrade``).
    """
    import importlib

    settings = settings or get_settings()
    secret = secret_key(settings)
    store = open_app_store(settings.app_store_url(), migrate=False)
    try:
        check_current(store)
    except ClvlabError:
        store.close()
        raise
    workspace = settings.workspace
    reader = SnapshotReader(workspace) if workspace and "://" not in workspace and workspace != ":memory:" else None
    accounts = Accounts(store, session_hours=settings.session_hours, max_failures=settings.login_max_failures)
    ctx = ServerContext(settings=settings, store=store, accounts=accounts, secret=secret, reader=reader)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if reader is not None:
            reader.close()
        store.close()

    from clvlab import __version__

    app = FastAPI(title="clvlab", version=__version__, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=lifespan, dependencies=[Depends(reject_nul)],
                  description="Customer lifetime value and voice of the customer: the REST API.")
    app.state.clvlab = ctx
    _handlers(app)
    for name in ROUTERS:
        module: Any = importlib.import_module(f"clvlab.server.api.{name}")
        app.include_router(module.router, prefix="/api/v1")
    for name in PAGES:
        app.include_router(importlib.import_module(name).router)
    from clvlab.server.pages import install

    install(app)  # the pages (clvlab.server.pages.PAGES), their static files and HTML errors
    return app


def app_from_env() -> FastAPI:
    """The app built from the environment's settings (uvicorn's factory for several workers); the
    worker loads the text analysers of the survey alert rules before it takes requests."""
    from clvlab.surveys.responses import warm_text_rules

    app = create_app(get_settings())
    warm_text_rules()
    return app
