"""``/overview``: CLV total and distribution, top-decile share, NPS by month with intervals, the
customers at risk and the open cases, all of the user's stores (through the scope)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import Response

from clvlab.report import charts
from clvlab.report.charts import Chart, Table
from clvlab.report.context import Context, Section, pct
from clvlab.server.deps import Reader
from clvlab.server.pages.common import PageCtx, demo_stores, guarded, sections_page
from clvlab.server.reads import clv_headline, feedback_figures, open_cases

router = APIRouter(include_in_schema=False)
#: rows of the at-risk and open-case tables
TOP = 15


def scoped_context(p: PageCtx, ws: Any) -> Context:
    """The report's :class:`Context` whose CLV column holds the user's customers only."""
    ctx = Context(ws, p.t)
    ctx.__dict__["scores"] = p.scope.scores(ws).select("clv").execute() if "scores" in ws.tables() \
        else pd.DataFrame({"clv": []})
    return ctx


def interval_chart(p: PageCtx, chart_id: str, title: str, frame: pd.DataFrame, column: str, label: str,
                   names: list[str] | None = None, metric: str = "NPS") -> Chart:
    """Points with 95% intervals per row of a :func:`~clvlab.server.reads.feedback_figures` frame, with its table."""
    t = p.t
    names = names or [str(v) for v in frame[column]]
    values, lower, upper = ([round(float(v), 1) for v in frame[c]] for c in ("value", "lower", "upper"))
    sign = "+" if metric == "NPS" else ""
    rows = [[n + (" *" if small else ""), f"{int(k):,}", f"{v:{sign}.1f}", f"{lo:{sign}.1f} … {hi:{sign}.1f}"]
            for n, small, k, v, lo, hi in zip(names, frame["small_sample"], frame["n"], values, lower, upper,
                                              strict=True)]
    option = charts.with_intervals(names, values, lower, upper, y_name=metric)
    if len(names) > 8:  # many months: slanted names, values in the table and the tooltip only
        option["xAxis"]["axisLabel"]["rotate"] = 40
        option["grid"]["bottom"] = 80
        option["series"][1]["label"]["show"] = False
    return Chart(chart_id, title, option, Table(title, [label, t["answers"], metric, t["interval"]], rows))


def summary(p: PageCtx, ws: Any, ctx: Context) -> Section:
    t = p.t
    customers, total, top = clv_headline(ctx.scores["clv"])
    section = Section("summary", t["summary"], t["overview_intro"].format(who=p.who()))
    section.tiles += [(f"{customers:,}", t["tile_customers"]), (f"{total:,.0f}", t["tile_total_clv"].format(
        horizon=int(ctx.settings.get("horizon_days", 365)) if "scores" in ws.tables() else 365)),
        (pct(top), t["tile_top_decile"])]
    overall = feedback_figures(p.scope, ws, ())
    if len(overall):
        row = overall.iloc[0]
        section.tiles.append((f"{row['value']:+.1f}", t["tile_nps"].format(
            lower=f"{row['lower']:+.1f}", upper=f"{row['upper']:+.1f}", n=f"{int(row['n']):,}")))
    section.tiles.append((f"{len(open_cases(p.scope, p.ctx.store)):,}", t["tile_open_cases"]))
    if demo_stores(ws):
        section.remarks.append(t["demo_stores"])
    return section


def trend(p: PageCtx, ws: Any) -> Section:
    t = p.t
    section = Section("nps_trend", t["nps_trend"], t["nps_trend_intro"])
    frame = feedback_figures(p.scope, ws, ("month",))
    if frame.empty:
        section.note = t["no_feedback"]
        return section
    months = [str(pd.Timestamp(m).strftime("%Y-%m")) for m in frame["month"]]
    section.charts.append(interval_chart(p, "chart-nps-month", t["nps_trend_chart"], frame, "month", t["month"],
                                         months))
    if frame["small_sample"].any():
        section.remarks.append("* " + t["small_sample"].format(min_n=frame.attrs.get("min_n", 30)))
    return section


def at_risk(p: PageCtx, ws: Any, ctx: Context) -> Section:
    t = p.t
    section = Section("at_risk", t["at_risk"], t["at_risk_intro"])
    if "churn" not in ws.tables():
        section.note = t["watchlist_missing"]
        return section
    churn = p.scope.table(ws, "churn")
    top = churn.order_by([churn.clv_at_risk.desc(), churn.customer_id]).limit(TOP).execute()
    if top.empty:
        section.note = t["no_customers_here"]
        return section
    reasons = [c for c in ("reason_1", "reason_2", "reason_3") if c in top.columns]
    rows = [[str(r["customer_id"]), str(r.get("store_id") or "–"), pct(100 * float(r["p_churn"])),
             ctx.money(r["clv"]), ctx.money(r["clv_at_risk"]),
             "; ".join(str(r[c]) for c in reasons if r.get(c) is not None and not pd.isna(r[c]))]
            for r in top.to_dict("records")]
    ids = [r[0] for r in rows]
    title = t["watchlist_chart"].format(n=len(rows))
    section.charts.append(Chart(
        "chart-at-risk", title, charts.horizontal_bars(ids, [round(float(v), 2) for v in top["clv_at_risk"]],
                                                       x_name=t["clv_at_risk"]),
        Table(title, [t["customer"], t["store"], t["p_churn"], t["clv_axis"], t["clv_at_risk"], t["reasons"]], rows,
              [False, False, True, True, True, False]),
        height=max(280, 24 * len(rows) + 80)))
    return section


def cases_section(p: PageCtx) -> Section:
    t = p.t
    section = Section("open_cases", t["open_cases"], t["open_cases_intro"])
    views = open_cases(p.scope, p.ctx.store)
    rows = [[str(v.id), str(v.customer_id or "–"), str(v.store_id or "–"), t.get(f"state_{v.state}", v.state),
             str(v.priority), str(v.owner_id or "–"), t.get(f"sla_{v.sla_state}", v.sla_state),
             f"{v.due_at:%Y-%m-%d %H:%M}"] for v in views[:TOP]]
    section.tables.append(Table(t["open_cases"], [t["case"], t["customer"], t["store"], t["state"], t["priority"],
                                                  t["owner"], t["sla"], t["due"]], rows, [True] + [False] * 7))
    return section


@router.get("/overview")
def overview(p: PageCtx, reader: Reader) -> Response:
    """The overview of the user's stores (``?csv=<table>``: one of its tables)."""
    from clvlab.report.sections import clv

    t = p.t
    with reader.open() as ws:
        ctx = scoped_context(p, ws)
        sections = [summary(p, ws, ctx)]
        if len(ctx.scores):
            sections.append(guarded("clv", t["clv"], clv, ctx))
        else:
            sections.append(Section("clv", t["clv"], note=t["no_scores" if "scores" not in ws.tables()
                                                            else "no_customers_here"]))
        sections += [guarded("nps_trend", t["nps_trend"], trend, p, ws),
                     guarded("at_risk", t["at_risk"], at_risk, p, ws, ctx), cases_section(p)]
    return sections_page(p, "overview", t["overview"], "", sections)
