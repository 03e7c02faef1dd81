"""``/journey`` (seed 003): the feedback touchpoints in journey order with their volume and NPS,
CSAT and CES with 95% intervals, and where customers drop away on the path to a repeat purchase
(:mod:`clvlab.voc.journey`), over the user's stores: the feedback, events and purchases come
through the scope.  What the data cannot say (the order of the touchpoints, events of customers
placed in no store) is said on the page."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import Response

from clvlab.report import charts
from clvlab.report.charts import STAGE_COLOURS, Chart, Table
from clvlab.report.context import Section, num
from clvlab.server.deps import Reader
from clvlab.server.pages.common import PageCtx, sections_page
from clvlab.server.reads import MIN_N, journey_data

router = APIRouter(include_in_schema=False)


def _interval(row: Any, metric: str, sign: str) -> str:
    if metric not in row or pd.isna(row[metric]):
        return "–"
    small = " *" if row[f"{metric}_n"] < MIN_N else ""
    return f"{row[metric]:{sign}.1f} ({row[f'{metric}_lower']:{sign}.1f} … {row[f'{metric}_upper']:{sign}.1f}){small}"


def touchpoints_section(p: PageCtx, frame: pd.DataFrame) -> Section:
    t = p.t
    from clvlab.voc.journey import JOURNEY_ORDER

    section = Section("touchpoints", t["touchpoints"], t["touchpoints_intro"])
    section.remarks.append(t["order_assumed"].format(order=" → ".join(t.get(f"tp_{n}", n) for n in JOURNEY_ORDER)))
    if frame.empty:
        section.note = t["no_touchpoints"]
        return section
    names = [t.get(f"tp_{n}", str(n)) for n in frame["touchpoint"]]
    metrics = [m for m in ("nps", "csat", "ces") if m in frame.columns]
    rows = [[n, f"{int(r['answers']):,}", f"{int(r['customers']):,}",
             *(_interval(r, m, "+" if m == "nps" else "") for m in metrics)]
            for n, r in zip(names, frame.to_dict("records"), strict=True)]
    title = t["touchpoint_volume"]
    section.charts.append(Chart("chart-touchpoints", title, charts.bars(
        names, [int(v) for v in frame["answers"]], y_name=t["answers"], labels=[f"{int(v):,}" for v in frame["answers"]]),
        Table(title, [t["touchpoint"], t["answers"], t["customers"],
                      *(f"{m.upper()} ({t['interval']})" for m in metrics)], rows)))
    if "nps" in frame.columns:
        scored = frame[frame["nps"].notna()]
        nps_names = [t.get(f"tp_{n}", str(n)) for n in scored["touchpoint"]]
        values, lower, upper = ([round(float(v), 1) for v in scored[c]] for c in ("nps", "nps_lower", "nps_upper"))
        title = t["touchpoint_nps"]
        section.charts.append(Chart("chart-touchpoint-nps", title, charts.with_intervals(
            nps_names, values, lower, upper, y_name="NPS"), Table(title, [t["touchpoint"], t["answers"], "NPS",
                                                                         t["interval"]],
                                                                   [[n, f"{int(k):,}", f"{v:+.1f}", f"{lo:+.1f} … {hi:+.1f}"]
                                                                    for n, k, v, lo, hi in zip(nps_names, scored["nps_n"],
                                                                                               values, lower, upper,
                                                                                               strict=True)])))
    min_n = frame.attrs.get("min_n", 30)
    if any((frame[f"{m}_n"] < min_n).any() for m in metrics):
        section.remarks.append("* " + t["small_sample"].format(min_n=min_n))
    return section


def funnel_section(p: PageCtx, frame: pd.DataFrame, notes: list[str]) -> Section:
    t = p.t
    section = Section("drop_away", t["drop_away"], t["drop_away_intro"])
    section.remarks += [t["funnel_skips"], *(t[key] for key in notes)]
    if "demo_events" in notes:
        section.badges.append(t["demo_assumption"])
    if frame.empty:
        section.note = t["no_funnel"]
        return section
    names = [t.get(f"step_{s}", str(s)) for s in frame["step"]]
    rows = [[n, f"{int(r['customers']):,}", "–" if pd.isna(r["from_previous"]) else f"{int(r['from_previous']):,}",
             "–" if pd.isna(r["conversion"]) else num(100 * r["conversion"], ".1f") + "%",
             "–" if pd.isna(r["dropped"]) else f"{int(r['dropped']):,}"]
            for n, r in zip(names, frame.to_dict("records"), strict=True)]
    title = t["funnel_chart"]
    option = charts.bars(names, [int(v) for v in frame["customers"]], y_name=t["customers"],
                         labels=[f"{int(v):,}" for v in frame["customers"]])
    option["series"][0]["itemStyle"] = {"color": STAGE_COLOURS["growth"]}
    section.charts.append(Chart("chart-funnel", title, option, Table(
        title, [t["step"], t["customers"], t["from_previous"], t["conversion"], t["dropped"]], rows)))
    return section


@router.get("/journey")
def journey(p: PageCtx, reader: Reader) -> Response:
    """Touchpoints and drop-away of the user's stores (``?csv=<table>``: one of its tables)."""
    t = p.t
    with reader.open() as ws:
        data = journey_data(p.scope, ws)
    sections = [touchpoints_section(p, data["touchpoints"]), funnel_section(p, data["funnel"], data["notes"])]
    return sections_page(p, "journey", t["journey"], t["journey_intro"].format(who=p.who()), sections)
