"""``/voc`` (NPS and CSAT by store and by month with intervals, top keywords, themes, sentiment and
the drivers of NPS of the comments) and ``/lifecycle``
(stages, health bands and NPS by stage of the user's customers)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import Response

from clvlab.report import charts
from clvlab.report.charts import BAND_COLOURS, STAGE_COLOURS, Chart, Table
from clvlab.report.context import Section, num
from clvlab.server.deps import Reader
from clvlab.server.pages.common import PageCtx, guarded, sections_page
from clvlab.server.pages.overview import interval_chart
from clvlab.server.reads import (
    MIN_N,
    as_of,
    comment_analysis,
    feedback_figures,
    group_sizes,
    keywords,
    latest_comments,
)

router = APIRouter(include_in_schema=False)
#: bar colours of the sentiment labels
SENTIMENT_COLOURS = {"positive": BAND_COLOURS["green"], "neutral": "#9aa7b4", "negative": BAND_COLOURS["red"]}


def metric_section(p: PageCtx, ws: Any, metric: str) -> Section | None:
    t, name = p.t, metric.upper()
    by_store = feedback_figures(p.scope, ws, ("store_id",), metric=metric)
    if by_store.empty:
        return None
    section = Section(f"voc_{metric}", name)
    section.charts.append(interval_chart(p, f"chart-{metric}-store", t["by_store"].format(metric=name), by_store,
                                         "store_id", t["store"], metric=name))
    by_month = feedback_figures(p.scope, ws, ("month",), metric=metric)
    months = [str(pd.Timestamp(m).strftime("%Y-%m")) for m in by_month["month"]]
    section.charts.append(interval_chart(p, f"chart-{metric}-month", t["by_month"].format(metric=name), by_month,
                                         "month", t["month"], months, metric=name))
    if by_store["small_sample"].any() or by_month["small_sample"].any():
        section.remarks.append("* " + t["small_sample"].format(min_n=by_store.attrs.get("min_n", 30)))
    return section


def keywords_section(p: PageCtx, comments: pd.DataFrame) -> Section:
    t = p.t
    section = Section("keywords", t["keywords"])
    words = keywords(comments)
    if words.empty:
        section.note = t["no_feedback"]
        return section
    names = words["word"].astype(str).tolist()
    section.charts.append(Chart(
        "chart-keywords", t["keywords"], charts.horizontal_bars(names, [int(c) for c in words["comments"]],
                                                                x_name=t["mentions"]),
        Table(t["keywords"], [t["keyword"], t["mentions"]], [[w, f"{int(c):,}"] for w, c in
                                                             zip(names, words["comments"], strict=True)]),
        height=max(280, 22 * len(names) + 80)))
    section.charts[0].option["series"][0]["itemStyle"] = {"color": STAGE_COLOURS["growth"]}
    return section


def theme_label(p: PageCtx, theme: str, label: str) -> str:
    """A curated theme's label in the page's language (a discovered one's keywords otherwise)."""
    from clvlab.text.themes import THEMES

    named = {t.id: t for t in THEMES}.get(theme)
    return label if named is None else named.label_zh if p.lang == "zh" else named.label_en


def comment_sections(p: PageCtx, comments: pd.DataFrame) -> list[Section]:
    """Themes, sentiment and NPS drivers of the user's latest comments."""
    t = p.t
    found = comment_analysis(comments)
    themes, sentiment, drivers = Section("themes", t["themes"]), Section("sentiment", t["sentiment"]), \
        Section("drivers", t["drivers"])
    if found["themes"].empty:
        themes.note = sentiment.note = t["no_feedback"]
    else:
        frame = found["themes"]
        names = [theme_label(p, th, lab) for th, lab in zip(frame["theme"], frame["label"], strict=True)]
        themes.charts.append(Chart(
            "chart-themes", t["themes"], charts.horizontal_bars(names, [int(n) for n in frame["n"]], x_name=t["mentions"]),
            Table(t["themes"], [t["theme"], t["mentions"], t["share"], t["keyword"]],
                  [[n, f"{int(c):,}", num(100 * s, ".0f") + "%", ", ".join(map(str, k[:6]))]
                   for n, c, s, k in zip(names, frame["n"], frame["share"], frame["keywords"], strict=True)],
                  [False, True, True, False]),
            height=max(280, 22 * len(names) + 80)))
        frame = found["sentiment"]
        names = [t[f"sentiment_{s}"] for s in frame["sentiment"]]
        sentiment.charts.append(Chart(
            "chart-sentiment", t["sentiment"],
            charts.bars(names, [int(c) for c in frame["comments"]], y_name=t["mentions"],
                        colours=[SENTIMENT_COLOURS[s] for s in frame["sentiment"]],
                        labels=[num(100 * s, ".0f") + "%" for s in frame["share"]]),
            Table(t["sentiment"], [t["sentiment"], t["mentions"], t["share"]],
                  [[n, f"{int(c):,}", num(100 * s, ".0f") + "%"]
                   for n, c, s in zip(names, frame["comments"], frame["share"], strict=True)])))
    frame = found["drivers"]
    if frame.empty or "level" not in frame.columns or frame["level"].isna().all():
        drivers.note = t["no_drivers"]
        return [themes, sentiment, drivers]
    answers, frame = int(frame.attrs.get("n", 0)), frame[frame["level"].notna()]
    names = [theme_label(p, str(lev), str(lev)) if str(d).startswith("themes") else f"{d}: {lev}"
             for d, lev in zip(frame["driver"], frame["level"], strict=True)]
    drivers.charts.append(Chart(
        "chart-drivers", t["drivers_chart"], charts.horizontal_bars(names, [float(g) for g in frame["gap"]],
                                                                     x_name=t["nps_gap"]),
        Table(t["drivers_chart"], [t["driver"], t["importance"], "n", "NPS", t["nps_gap"], t["interval"]],
              [[n + (" *" if small else ""), num(imp, ".0f") + "%", f"{int(c):,}", num(v, ".1f"), num(g, "+.1f"),
                f"{num(lo, '+.1f')} – {num(hi, '+.1f')}"]
               for n, imp, c, v, g, lo, hi, small in zip(names, frame["importance_pct"], frame["n"], frame["nps"],
                                                         frame["gap"], frame["gap_lower"], frame["gap_upper"],
                                                         frame["small_sample"], strict=True)]),
        height=max(280, 22 * len(names) + 80)))
    drivers.remarks.append(t["drivers_note"].format(n=f"{answers:,}"))
    if frame["small_sample"].any():
        drivers.remarks.append("* " + t["small_sample"].format(min_n=MIN_N))
    return [themes, sentiment, drivers]


@router.get("/voc")
def voc(p: PageCtx, reader: Reader) -> Response:
    """VoC metrics of the user's stores (``?csv=<table>``: one of its tables)."""
    t = p.t
    with reader.open() as ws:
        if "feedback" not in ws.tables():
            sections = [Section("voc_nps", "NPS", note=t["no_feedback"])]
        else:
            sections = [s for m in ("nps", "csat", "ces") if (s := metric_section(p, ws, m)) is not None]
            comments = latest_comments(p.scope, ws)  # read once for the keywords and the analysis
            sections.append(guarded("keywords", t["keywords"], keywords_section, p, comments))
            sections += comment_sections(p, comments)
    return sections_page(p, "voc", t["voc"], t["voc_intro"], sections)


def counts(p: PageCtx, ws: Any, name: str, column: str, order: tuple[str, ...], colours: dict[str, str],
           title: str, label: str, mean: str | None = None) -> Chart | None:
    """Customers per value of ``column`` of a customer table, in the user's stores."""
    frame = group_sizes(p.scope, ws, name, column, order, mean)
    if frame.empty:
        return None
    keys = list(frame.index)
    names = [p.t.get(f"{'stage' if name == 'stages' else 'band'}_{k}", str(k)) for k in keys]
    sizes: list[float | None] = [int(n) for n in frame["n"]]
    rows = [[n, f"{s:,}", *([num(frame.at[k, "mean"], ".1f")] if mean else [])] for n, s, k in zip(names, sizes, keys,
                                                                                                   strict=True)]
    return Chart(f"chart-{name}", title, charts.bars(names, sizes, y_name=p.t["customers"],
                                                     colours=[colours.get(k, "#7f7f7f") for k in keys],
                                                     labels=[f"{s:,}" for s in sizes]),
                 Table(title, [label, p.t["customers"], *([p.t["mean_health"]] if mean else [])], rows))


def lifecycle_section(p: PageCtx, ws: Any) -> Section:
    from clvlab.lifecycle.health import BANDS
    from clvlab.lifecycle.stages import STAGES

    t = p.t
    section = Section("lifecycle", t["stages"])
    made = [counts(p, ws, "stages", "stage", tuple(STAGES), STAGE_COLOURS,
                   t["stage_sizes"].format(as_of=as_of(ws, "stages") or "–"), t["stage"]) if "stages" in ws.tables() else None,
            counts(p, ws, "health", "band", tuple(BANDS), BAND_COLOURS, t["health_bands"], t["band"], mean="health")
            if "health" in ws.tables() else None]
    section.charts += [c for c in made if c is not None]
    frame = feedback_figures(p.scope, ws, ("stage",)) if "stages" in ws.tables() else pd.DataFrame()
    if len(frame):
        names = [p.t.get(f"stage_{s}", str(s)) for s in frame["stage"]]
        section.charts.append(interval_chart(p, "chart-nps-stage", t["nps_chart"], frame, "stage", t["stage"], names))
    if not section.charts:
        section.note = t["no_customers_here"]
    return section


@router.get("/lifecycle")
def lifecycle(p: PageCtx, reader: Reader) -> Response:
    """Stages, health and NPS by stage of the user's customers (``?csv=<table>``: one of its tables)."""
    t = p.t
    with reader.open() as ws:
        sections = [guarded("lifecycle", t["stages"], lifecycle_section, p, ws)]
    return sections_page(p, "lifecycle", t["lifecycle"], "", sections)
