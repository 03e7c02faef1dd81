"""``/experiments`` (every experiment of the workspace) and ``/experiments/{id}`` (one experiment's
analysis: per metric the effect with its 95% interval, the arms' sizes and means, the sample-ratio
check and each result in plain words, from :func:`clvlab.experiments.analyze_experiment`).
Experiments are company-wide decisions over customers of every store: a store manager gets 403."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter
from fastapi.responses import Response

from clvlab.experiments.analyze import plain_words
from clvlab.experiments.metrics import MONEY
from clvlab.report import charts
from clvlab.report.charts import Chart, Table
from clvlab.report.context import Section
from clvlab.report.labels import sentence
from clvlab.server.deps import Reader
from clvlab.server.pages.common import PageCtx, sections_page
from clvlab.server.reads import ExperimentId, analysis, experiment_list

router = APIRouter(include_in_schema=False)


def _day(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


@router.get("/experiments")
def experiments(p: PageCtx, reader: Reader) -> Response:
    """Every experiment, with its arms (``?csv=experiments-1``)."""
    t = p.t
    p.scope.require_every_store(t["experiments"].lower())
    with reader.open() as ws:
        frame = experiment_list(ws)
    section = Section("experiments", t["experiments"])
    if frame.empty:
        section.note = t["no_experiments"]
    else:
        section.tables.append(Table(t["experiments"], [t["experiment"], t["name"], t["exp_status"], t["arm_control"],
                                                        t["arm_treatment"], t["control_share"], t["assigned"]],
                                    [[str(r["experiment_id"]), str(r["name"]), str(r["status"]),
                                      f"{int(r['control']):,}", f"{int(r['treatment']):,}",
                                      "–" if pd.isna(r["control_share"]) else f"{float(r['control_share']):.0%}",
                                      _day(r["assigned_at"])] for r in frame.to_dict("records")],
                                    [False, False, False, True, True, True, False]))
    return sections_page(p, "experiments", t["experiments"], t["experiments_intro"], [section])


def _effect(value: float, kind: str, metric: str) -> str:
    if kind == "proportion":
        return f"{value * 100:+.1f} pp"
    return f"{value:+,.2f}" if metric in MONEY else f"{value:+.3f}"


def _mean(value: float, kind: str, metric: str) -> str:
    return f"{value:.1%}" if kind == "proportion" else f"{value:,.2f}" if metric in MONEY else f"{value:.3f}"


@router.get("/experiments/{experiment_id}")
def experiment(p: PageCtx, reader: Reader, experiment_id: ExperimentId) -> Response:
    """One experiment's analysis (``?csv=<table id>``)."""
    t = p.t
    p.scope.require_every_store(t["experiments"].lower())
    with reader.open() as ws:
        result = analysis(ws, experiment_id)
    m = result.metrics
    names = [t.get(f"metric_{k}", str(k)) for k in m.index]
    head = Section("design", t["experiment_design"], t["experiment_design_intro"].format(
        pre=f"{result.pre_period[0]} – {result.pre_period[1]}", post=f"{result.post_period[0]} – {result.post_period[1]}"))
    head.tiles += [(f"{result.n_control:,}", t["arm_control"]), (f"{result.n_treatment:,}", t["arm_treatment"]),
                   (t["srm_flagged"] if result.srm["flagged"] else t["srm_ok"], t["srm"])]
    head.remarks += [sentence(str(text), p.lang) for text in (result.srm["text"], *result.notes)]
    if result.srm["flagged"]:
        head.badges.append(t["srm_flagged"])
    level = round(result.level * 100)
    rel = [[round(100 * float(r[c]), 1) for c in ("relative", "relative_lower", "relative_upper")]
           for _, r in m.iterrows()]
    title = t["effects_chart"].format(level=level)
    effects = Section("effects", t["effects"], t["effects_intro"].format(level=level))
    rows = [[n, f"{int(r['n_control']):,}", f"{int(r['n_treatment']):,}", _mean(r["mean_control"], r["kind"], str(k)),
             _mean(r["mean_treatment"], r["kind"], str(k)), _effect(r["effect"], r["kind"], str(k)),
             f"{_effect(r['lower'], r['kind'], str(k))} … {_effect(r['upper'], r['kind'], str(k))}",
             f"{v:+.1f}% ({lo:+.1f} … {hi:+.1f})",
             "–" if not np.isfinite(r["p_adjusted"]) else f"{float(r['p_adjusted']):.2g}"]
            for n, (k, r), (v, lo, hi) in zip(names, m.iterrows(), rel, strict=True)]
    option = charts.with_intervals(names, *(list(col) for col in zip(*rel, strict=True)), y_name=t["relative_effect"])
    option["series"][1]["markLine"] = {"symbol": "none", "silent": True, "label": {"show": False},
                                       "lineStyle": {"type": "dashed", "color": "#555"},
                                       "data": [{"yAxis": 0}]}
    effects.charts.append(Chart("chart-effects", title, option, Table(
        title, [t["metric"], t["arm_control"] + " n", t["arm_treatment"] + " n", t["mean_control"], t["mean_treatment"],
                t["effect"], t["interval_level"].format(level=level), t["relative_effect"], t["p_adjusted"]], rows)))
    words = Section("plain_words", t["plain_words"])
    words.tables.append(Table(t["plain_words"], [t["metric"], t["finding"]],
                              [[n, plain_words(str(r["base_metric"]), r, result, p.lang)]
                               for n, (_, r) in zip(names, m.iterrows(), strict=True)], [False, False]))
    return sections_page(p, f"experiment-{experiment_id}", t["experiment_title"].format(name=result.name),
                         t["experiment_intro"].format(id=experiment_id), [head, effects, words])
