"""The server's pages (server-rendered Jinja2): login, overview, customers, cases, VoC, survey
responses, journey, lifecycle, economics, models, experiments.  One router module per page group, listed in :data:`PAGES`;
:func:`install` mounts them, the static files (the report's vendored ECharts and chart script, the pages' style sheet) and the
pages' error answers (HTML; a page without a session redirects to ``/login``).  Every store-scoped
read goes through :class:`clvlab.server.scope.Scope`; the charts, tables and labels are the report's
(:mod:`clvlab.report`)."""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any
from urllib.parse import quote

#: modules of clvlab.server.pages whose ``router`` is mounted at the root, in this order
PAGES = ("auth", "overview", "insights", "responses", "journey", "analytics", "experiments", "customers", "cases")


def install(app: Any) -> None:
    """Mount the pages, their static files and their HTML error answers on ``app``."""
    from fastapi import Request
    from fastapi.responses import RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    from clvlab.errors import ClvlabError
    from clvlab.server.pages.common import LoginRequired, error_page

    app.mount("/static/report", StaticFiles(directory=str(resources.files("clvlab.report").joinpath("static"))),
              name="report-static")
    app.mount("/static/pages", StaticFiles(directory=str(resources.files("clvlab.server.pages").joinpath("static"))),
              name="pages-static")
    for name in PAGES:
        module: Any = importlib.import_module(f"clvlab.server.pages.{name}")
        app.include_router(module.router)
    api_answer = app.exception_handlers[ClvlabError]

    async def answer(request: Request, exc: ClvlabError) -> Response:
        if request.url.path.startswith("/api/"):
            return await api_answer(request, exc)
        if isinstance(exc, LoginRequired):
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
        return error_page(request, exc)

    app.add_exception_handler(ClvlabError, answer)
