"""The HTML report: one self-contained file (charts by Apache ECharts, embedded; nothing is
fetched), in English or Chinese, from the derived tables a run wrote to the workspace.

Sections, in page order (each defined in docs/report.md): headline figures, CLV distribution,
lifecycle stages and flows, health bands with their backtest, the churn watchlist, NPS by stage,
cohort retention, LTV:CAC by channel, model diagnostics and holdout tracking. Every chart has its
numbers in a table beside it; a section whose table is missing says so and how to get it.

>>> import clvlab
>>> with clvlab.connect("shop.duckdb") as ws:                      # doctest: +SKIP
...     clvlab.write_report(ws, "report.html", lang="zh")
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clvlab.errors import check_param
from clvlab.report.labels import LANGS, labels

if TYPE_CHECKING:
    from clvlab.report.sections import Section

__all__ = ["Rendered", "build_report", "render_report", "write_report"]

ECHARTS_VERSION = "5.6.0"


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become null, NumPy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _script_json(option: dict[str, Any]) -> str:
    """``option`` as JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(_clean(option), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass
class Rendered:
    """A rendered report: the page and its sections (each with its ``note`` when not shown)."""

    html: str
    sections: list[Section]


def build_report(workspace: Any, lang: str = "en", *, currency: str = "", app_store: Any = None,
                 top: int = 20) -> str:
    """The report on ``workspace`` as one HTML page (a string).

    Parameters
    ----------
    workspace
        An open :class:`clvlab.Workspace` on which ``clvlab run`` (or ``clvlab.run``) has
        written the derived tables.
    lang
        ``"en"`` or ``"zh"``.
    currency
        Unit printed with amounts (e.g. ``"USD"``); by default amounts are said to be in the
        currency of the transactions.
    app_store
        An open application store: the headline then counts the open cases.
    top
        Customers on the churn watchlist.
    """
    return render_report(workspace, lang, currency=currency, app_store=app_store, top=top).html


def render_report(workspace: Any, lang: str = "en", *, currency: str = "", app_store: Any = None,
                  top: int = 20) -> Rendered:
    """:func:`build_report`, with the sections it shows (or notes as missing)."""
    import jinja2
    from markupsafe import Markup

    import clvlab
    from clvlab.report.sections import Context, build_sections

    where = "render_report"
    check_param(lang in LANGS, "lang", where, f"one of {list(LANGS)}", lang)
    check_param(isinstance(top, int) and top >= 1, "top", where, "an int >= 1", top)
    t = labels(lang)
    ctx = Context(workspace, t, currency=currency, app_store=app_store, top=top, lang=lang)
    sections = build_sections(ctx)
    subtitle = ""
    if "scores" in ctx.tables:
        subtitle = t["subtitle"].format(customers=f"{len(ctx.scores):,}", as_of=ctx.as_of,
                                        run_id=ctx.first("run_id") or "–", model=ctx.first("model") or "–")
    env = jinja2.Environment(loader=jinja2.PackageLoader("clvlab.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), keep_trailing_newline=True)
    static = resources.files("clvlab.report").joinpath("static")
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    html = env.get_template("report.html.j2").render(
        t=t, html_lang="zh-CN" if lang == "zh" else "en", version=clvlab.__version__, sections=sections,
        subtitle=subtitle,
        amounts=t["amounts_in"].format(currency=currency) if currency else t["amounts_plain"],
        options={c.id: Markup(_script_json(c.option))
                 for s in sections for c in s.charts},
        generated=t["generated"].format(now=now, version=clvlab.__version__,
                                        workspace=getattr(workspace, "url", "") or "–"),
        echarts=Markup(static.joinpath("echarts.min.js").read_text(encoding="utf-8")),
        charts_js=Markup(static.joinpath("charts.js").read_text(encoding="utf-8")),
        echarts_version=ECHARTS_VERSION,
    )
    return Rendered(html, sections)


def write_report(workspace: Any, path: str | Path, lang: str = "en", **options: Any) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) and return the path; ``options`` as there."""
    target = Path(path)
    target.write_text(build_report(workspace, lang, **options), encoding="utf-8")
    return target
