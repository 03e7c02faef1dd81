"""What every page shares: the logged-in user (session cookie; a page without one redirects to the
login), the language (``?lang=`` sets the ``clvlab_lang`` cookie), CSRF of forms, rendering with the
shared layout, and the CSV download of any table a page shows (scoped like the page, audited).

Forms post ``application/x-www-form-urlencoded`` bodies (read here with the standard library) with
a hidden ``csrf_token``: the same signed token the API takes in ``X-CSRF-Token``, checked with the
``Origin`` rule of :func:`clvlab.server.deps.check_origin`.
"""

from __future__ import annotations

import csv
import hmac
import io
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from clvlab.errors import ClvlabError
from clvlab.report import ECHARTS_VERSION, _script_json
from clvlab.report.charts import Table
from clvlab.report.context import Section
from clvlab.report.labels import LANGS
from clvlab.server.auth.accounts import AuthError, Principal
from clvlab.server.deps import SESSION_COOKIE, Ctx, ServerContext, check_origin, client_ip
from clvlab.server.pages.labels import page_labels
from clvlab.server.scope import ForbiddenError, NotFoundError, Scope

LANG_COOKIE = "clvlab_lang"
#: the largest form body a page reads
MAX_FORM_BYTES = 64_000
#: the navigation: (path, label key, shown only to roles that see every store)
NAV = (("/overview", "nav_overview", False), ("/customers", "nav_customers", False), ("/cases", "nav_cases", False),
       ("/voc", "nav_voc", False), ("/responses", "nav_responses", False),
       ("/journey", "nav_journey", False), ("/lifecycle", "nav_lifecycle", False), ("/economics", "nav_economics", True),
       ("/models", "nav_models", True), ("/experiments", "nav_experiments", True))


#: the bundled demo's customers file, whose home stores are made up (scripts/make_demo_economics.py)
DEMO_CUSTOMERS = "demo_customers.csv.gz"


def demo_stores(ws: Any) -> bool:
    """Whether customers are placed in stores by the bundled demo's made-up customers file."""
    if "customers" not in ws.tables():
        return False
    table = ws.table("customers")
    if "_source" not in table.columns or "store_id" not in table.columns:
        return False
    return int(table.filter(table._source == DEMO_CUSTOMERS).count().execute()) > 0


class LoginRequired(ClvlabError):
    """A page asked for without a valid session: the answer redirects to the login page."""


@cache
def _env() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("clvlab.server.pages", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"]))


def pick_lang(request: Request) -> str:
    """``?lang=`` when given, else the ``clvlab_lang`` cookie, else English."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return str(value)
    return "en"


@dataclass
class Page:
    """One page request: who asks, their scope, the language and its labels."""

    request: Request
    ctx: ServerContext
    user: Principal
    session_id: str
    lang: str
    t: dict[str, str] = field(repr=False)

    @property
    def scope(self) -> Scope:
        return Scope(self.user)

    @property
    def csrf(self) -> str:
        return self.ctx.csrf_token(self.session_id)

    def who(self) -> str:
        stores = self.scope.stores
        return self.t["every_store"] if stores is None else self.t["your_stores"].format(stores=", ".join(sorted(stores)))

    def audit(self, action: str, target: str, detail: dict[str, Any]) -> None:
        with self.ctx.store.session() as s:
            self.ctx.accounts.audit(s, self.user.name, action, target, detail, ip=client_ip(self.request))


def page(request: Request, ctx: Ctx) -> Page:
    """The page's request: a :class:`LoginRequired` (redirect to ``/login``) without a valid session."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        msg = "log in first"
        raise LoginRequired(msg)
    try:
        user = ctx.accounts.session_user(session_id)
    except AuthError as exc:
        raise LoginRequired(str(exc)) from None
    lang = pick_lang(request)
    return Page(request, ctx, user, session_id, lang, page_labels(lang))


PageCtx = Annotated[Page, Depends(page)]


async def read_form(request: Request) -> dict[str, str]:
    """The posted form's fields (the last value of a repeated one)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        msg = f"the form is larger than {MAX_FORM_BYTES} bytes"
        raise ForbiddenError(msg)
    text = body.decode("utf-8", errors="replace")
    if "\x00" in text:
        msg = "the form contains a NUL character"
        raise ForbiddenError(msg)
    return dict(parse_qsl(text, keep_blank_values=True))


Form = Annotated[dict[str, str], Depends(read_form)]


def check_form(p: Page, form: dict[str, str]) -> None:
    """:class:`ForbiddenError` unless the form carries the session's CSRF token (and no foreign Origin)."""
    check_origin(p.request)
    if not hmac.compare_digest(form.get("csrf_token", ""), p.csrf):
        msg = "missing or wrong CSRF token in the form: reload the page and try again"
        raise ForbiddenError(msg)


def render(p: Page, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """The page ``template`` in the shared layout (sets the language cookie when ``?lang=`` chose it)."""
    import clvlab

    here = p.request.url.path
    query = [(k, v) for k, v in p.request.query_params.multi_items() if k not in {"lang", "csv"}]
    other = "zh" if p.lang == "en" else "en"
    html = _env().get_template(template).render(
        t=p.t, p=p, user=p.user, stores=p.scope.stores, nav=NAV, here=here, version=clvlab.__version__,
        echarts_version=ECHARTS_VERSION, html_lang="zh-CN" if p.lang == "zh" else "en", lang_url=f"{here}?{urlencode([*query, ('lang', other)])}",
        query=query, csv_url=lambda table_id: f"{here}?{urlencode([*query, ('csv', table_id)])}", **values)
    answer = HTMLResponse(html, status_code=status)
    if p.request.query_params.get("lang") in LANGS:
        answer.set_cookie(LANG_COOKIE, p.lang, max_age=365 * 86400, samesite="lax", path="/")
    return answer


def tables_of(sections: list[Section]) -> dict[str, Table]:
    """Every table of the sections by its download id: a chart's id, or ``<section>-<n>``."""
    out: dict[str, Table] = {}
    for s in sections:
        out.update({c.id: c.table for c in s.charts})
        out.update({f"{s.key}-{i}": table for i, table in enumerate(s.tables, start=1)})
    return out


_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def csv_answer(p: Page, name: str, table: Table) -> Response:
    """``table`` as a CSV download (numbers without thousands separators), audited as an export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([cell.replace(",", "") if _GROUPED.match(cell) else cell for cell in row])
    filename = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".csv"
    p.audit("export", filename, {"rows": len(table.rows), "query": str(p.request.url.query)})
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def sections_page(p: Page, name: str, title: str, intro: str, sections: list[Section],
                  template: str = "sections.html.j2", **values: Any) -> Response:
    """A page of report-like sections, or one of its tables as CSV with ``?csv=<table id>``."""
    wanted = p.request.query_params.get("csv")
    tables = tables_of(sections)
    if wanted is not None:
        if wanted not in tables:
            msg = f"no table '{wanted}' on this page"
            raise NotFoundError(msg)
        return csv_answer(p, f"{name}-{wanted}", tables[wanted])
    options = {c.id: Markup(_script_json(c.option)) for s in sections for c in s.charts}
    return render(p, template, title=title, intro=intro, sections=sections, options=options, **values)


def guarded(key: str, title: str, build: Any, *args: Any) -> Section:
    """``build(*args)``, or a section with the located note when its data is missing."""
    try:
        section: Section = build(*args)
    except ForbiddenError:
        raise
    except ClvlabError as exc:
        return Section(key, title, note=str(exc))
    return section


def error_page(request: Request, exc: ClvlabError) -> Response:
    """An error of a page as an HTML page with the status the API would answer."""
    from clvlab.server.app import _status

    status = _status(exc)
    lang = pick_lang(request)
    t = page_labels(lang)
    html = _env().get_template("error.html.j2").render(t=t, html_lang="zh-CN" if lang == "zh" else "en",
                                                       status=status, message=str(exc))
    headers = {"Retry-After": str(getattr(exc, "retry_after", 30))} if status in {429, 503} else None
    return HTMLResponse(html, status_code=status, headers=headers)
