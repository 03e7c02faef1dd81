"""The report's sections: each reads its tables from the workspace and returns a :class:`Section`.

A section that lacks its data (no such table, too little history) becomes a note saying what
is missing and how to get it; only :class:`clvlab.errors.ClvlabError` is turned into a note,
anything else is a bug and propagates.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clvlab.derived import DERIVED, read_derived
from clvlab.errors import ClvlabError, DataValidationError
from clvlab.report import charts
from clvlab.report.charts import BAND_COLOURS, STAGE_COLOURS, Chart, Table
from clvlab.report.context import WHERE, Context, Section, num, pct, plain, rounded

MAX_COHORTS, MAX_AGES = 24, 24

# ---- headline ---------------------------------------------------------------------------------


def summary(ctx: Context) -> Section:
    t, scores = ctx.t, ctx.scores
    s = ctx.settings
    horizon = int(s.get("horizon_days", 365))
    section = Section("summary", t["summary"], t["summary_intro"].format(
        horizon=horizon, discount=float(s.get("discount_rate", 0.1)), margin=float(s.get("margin", 1.0))))
    clv = np.sort(scores["clv"].to_numpy(np.float64))[::-1]
    total = float(clv.sum())
    top = clv[: max(1, math.ceil(len(clv) / 10))].sum() / total * 100 if total > 0 else float("nan")
    section.tiles += [(f"{len(clv):,}", t["tile_customers"]),
                      (f"{total:,.0f}", t["tile_total_clv"].format(horizon=horizon)
                       + (f" ({ctx.currency})" if ctx.currency else "")),
                      (pct(top), t["tile_top_decile"])]
    if "feedback" in ctx.tables:
        from clvlab.voc.metrics import feedback_metrics

        row = feedback_metrics(ctx.ws, metric="nps", by=()).iloc[0]
        section.tiles.append((f"{row['value']:+.1f}", t["tile_nps"].format(
            lower=f"{row['lower']:+.1f}", upper=f"{row['upper']:+.1f}", n=f"{int(row['n']):,}")))
    else:
        section.tiles.append(("–", t["tile_no_nps"]))
    if ctx.app_store is not None:
        from clvlab.cases.service import CaseService

        n_open = len(CaseService(ctx.app_store).list_cases(state=["open", "in_progress"]))
        section.tiles.append((f"{n_open:,}", t["tile_open_cases"]))
    return section


# ---- CLV distribution -------------------------------------------------------------------------


def _nice_edges(values: np.ndarray) -> list[float]:
    """Bin edges on the 1-2-5 ladder from the 5th percentile to the maximum (CLV is skewed: equal
    widths would put nearly everyone in the first bin)."""
    low, top = float(np.quantile(values, 0.05)), float(values.max())
    ladder = [m * 10.0 ** e for e in range(-2, 13) for m in (1, 2, 5)]
    inner = [v for v in ladder if low < v < top]
    return [min(0.0, float(values.min())), *inner, top]


def _short(value: float) -> str:
    """An edge of the 1-2-5 ladder: ``0``, ``0.5``, ``20``, ``1,000``."""
    return f"{value:,.0f}" if value == 0 or abs(value) >= 10 else f"{value:g}"


def _bin_label(lo: float, hi: float, last: bool, money: Callable[[float], str]) -> str:
    return f"≥ {money(lo)}" if last else f"{money(lo)}–{money(hi)}"


def clv(ctx: Context) -> Section:
    t = ctx.t
    section = Section("clv", t["clv"], t["clv_intro"])
    values = ctx.scores["clv"].to_numpy(np.float64)
    edges = _nice_edges(values) if len(values) and values.max() > 0 else [0.0, 1.0]
    if len(edges) > 2:  # the last ladder step and above in one bar
        edges = [*edges[:-1], np.inf]
    counts, _ = np.histogram(values, bins=np.array(edges))
    names = [_bin_label(a, b, not np.isfinite(b), _short) for a, b in itertools.pairwise(edges)]
    unit = f" ({ctx.currency})" if ctx.currency else ""
    section.charts.append(Chart(
        "chart-clv-hist", t["clv_hist"],
        charts.bars(names, [int(c) for c in counts], x_name=t["clv_axis"] + unit, y_name=t["customers"], rotate=30,
                    labels=[f"{int(c):,}" for c in counts]),
        Table(t["clv_hist"], [t["clv_range"] + unit, t["customers"]],
              [[n, f"{int(c):,}"] for n, c in zip(names, counts, strict=True)])))
    ranked = np.sort(values)[::-1]
    total = ranked.sum()
    parts = np.array_split(ranked, 10)
    shares = [float(p.sum() / total * 100) if total > 0 else 0.0 for p in parts]
    deciles = [str(i) for i in range(1, 11)]
    section.charts.append(Chart(
        "chart-clv-deciles", t["clv_deciles"],
        charts.bars(deciles, [round(s, 2) for s in shares], x_name=t["decile"], y_name=t["share_pct"],
                    percent=True, labels=[f"{s:.1f}%" for s in shares]),
        Table(t["clv_deciles"], [t["decile"], t["customers"], t["clv_range"], t["clv_total"], t["share_pct"]],
              [[d, f"{len(p):,}", f"{ctx.money(p.min())} – {ctx.money(p.max())}" if len(p) else "–",
                ctx.money(p.sum(), 0), f"{s:.1f}"] for d, p, s in zip(deciles, parts, shares, strict=True)])))
    return section


# ---- lifecycle --------------------------------------------------------------------------------


def stages(ctx: Context) -> Section:
    from clvlab.lifecycle.stages import STAGES, lifecycle_stages, month_ends, transition_matrix

    t = ctx.t
    table = read_derived(ctx.ws, "stages", columns=("stage", "as_of"), where=WHERE)
    frame = table.group_by("stage").aggregate(n=table.count(), as_of=table.as_of.max()).execute()
    as_of = str(pd.Timestamp(frame["as_of"].max()).date()) if len(frame) else ctx.as_of
    sizes = frame.set_index("stage")["n"].reindex(list(STAGES), fill_value=0)
    shown = [s for s in STAGES if sizes[s] > 0 or s != "prospect"]
    ends = month_ends(ctx.ws, as_of)
    start = str(ends[-4] if len(ends) >= 4 else ends[0])
    section = Section("stages", t["stages"], t["stages_intro"].format(as_of=as_of, start=start, model=ctx.alive_model))
    title = t["stage_sizes"].format(as_of=as_of)
    section.charts.append(Chart(
        "chart-stage-sizes", title,
        charts.bars([ctx.stage(s) for s in shown], [int(sizes[s]) for s in shown], y_name=t["customers"],
                    colours=[STAGE_COLOURS[s] for s in shown], labels=[f"{int(sizes[s]):,}" for s in shown],
                    rotate=30),  # seven names side by side ran into each other ("prospectonboarding")
        Table(title, [t["stage"], t["customers"]], [[ctx.stage(s), f"{int(sizes[s]):,}"] for s in shown])))
    if start == as_of:
        return section
    # the stored stages are the end; the start's are computed the way the run computed them
    now = table.select("customer_id", "stage").execute().set_index("customer_id")
    now.attrs["as_of"] = as_of
    then = lifecycle_stages(ctx.ws, as_of=start, model=ctx.alive_model)
    matrix = transition_matrix(then, now)
    rows = [r for r in matrix.index if matrix.loc[r].sum() > 0]
    cols = [c for c in matrix.columns if matrix[c].sum() > 0]
    cells: list[list[float]] = matrix.loc[rows, cols].to_numpy(np.float64).tolist()
    shares = [[100 * v / sum(row) for v in row] for row in cells]
    title = t["stage_flows"].format(start=start, as_of=as_of)
    section.charts.append(Chart(
        "chart-stage-flows", title,
        charts.heatmap([ctx.stage(c) for c in cols], [ctx.stage(r) for r in rows], cells, colour=shares,
                       high=100.0, legend=("0%", t["row_share"])),
        Table(title, [t["from"], *(ctx.stage(c) for c in cols)],
              [[ctx.stage(r), *(f"{int(v):,}" for v in row)] for r, row in zip(rows, cells, strict=True)]),
        height=360))
    return section


def health(ctx: Context) -> Section:
    from clvlab.lifecycle.health import BANDS, health_backtest

    t = ctx.t
    table = read_derived(ctx.ws, "health", columns=("band", "health", "as_of"), where=WHERE)
    frame = table.group_by("band").aggregate(size=table.count(), mean=table.health.mean(),
                                             as_of=table.as_of.max()).execute()
    as_of = str(pd.Timestamp(frame["as_of"].max()).date()) if len(frame) else ctx.as_of
    by = frame.set_index("band")[["size", "mean"]].reindex(list(BANDS))
    counts = by["size"].fillna(0).astype(int)
    section = Section("health", t["health"])
    section.charts.append(Chart(
        "chart-health-bands", t["health_bands"],
        charts.bars([ctx.band(b) for b in BANDS], [int(counts[b]) for b in BANDS], y_name=t["customers"],
                    colours=[BAND_COLOURS[b] for b in BANDS], labels=[f"{int(counts[b]):,}" for b in BANDS]),
        Table(t["health_bands"], [t["band"], t["customers"], t["mean_health"]],
              [[ctx.band(b), f"{int(counts[b]):,}", num(by.at[b, "mean"], ".1f")] for b in BANDS])))
    try:
        bt = health_backtest(ctx.ws, as_of=as_of, model=ctx.alive_model)
    except ClvlabError as exc:
        section.intro = t["health_intro"].format(scored="–", until=as_of)
        section.remarks.append(f"{t['backtest_missing']}: {exc}")
        return section
    scored, until, auc = bt.attrs["scored_as_of"], bt.attrs["churn_until"], bt.attrs["auc"]
    section.intro = t["health_intro"].format(scored=scored, until=until)
    title = t["health_backtest"].format(scored=scored, until=until, auc=num(auc, ".3f"))
    section.charts.append(Chart(
        "chart-health-backtest", title,
        charts.grouped_bars([ctx.band(b) for b in BANDS],
                            {t["churn_rate"]: [rounded(bt.at[b, "churn_rate"]) for b in BANDS],
                             t["predicted_rate"]: [rounded(bt.at[b, "mean_churn_probability"]) for b in BANDS]},
                            y_name=t["churn_rate"], percent=True, colours=["#c4473a", "#d9a9a3"]),
        Table(title, [t["band"], t["customers"], t["churned"], t["churn_rate"], t["predicted_rate"]],
              [[ctx.band(b), f"{int(n):,}", f"{int(k):,}",
                num(bt.at[b, "churn_rate"], ".1f"), num(bt.at[b, "mean_churn_probability"], ".1f")]
               for b, n, k in zip(BANDS, bt["customers"], bt["churned"], strict=True)])))
    return section


# ---- churn watchlist --------------------------------------------------------------------------


def watchlist(ctx: Context) -> Section:
    from clvlab.lifecycle.churn import MIN_CONTRIBUTION

    t = ctx.t
    section = Section("watchlist", t["watchlist"], t["watchlist_intro"].format(n=ctx.top))
    table = read_derived(ctx.ws, "churn", columns=("clv_at_risk",), where=WHERE, missing_ok=True) \
        if "churn" in DERIVED else None
    if table is None:
        section.note = t["watchlist_missing"]
        return section
    top = table.order_by([table.clv_at_risk.desc(), table.customer_id]).limit(ctx.top).execute()
    reasons = [c for c in ("reason_1", "reason_2", "reason_3") if c in top.columns]
    ids = top["customer_id"].astype(str).tolist()
    unit = f" ({ctx.currency})" if ctx.currency else ""
    title = t["watchlist_chart"].format(n=len(top))
    section.charts.append(Chart(
        "chart-watchlist", title,
        charts.horizontal_bars(ids, [round(float(v), 2) for v in top["clv_at_risk"]], x_name=t["clv_at_risk"] + unit),
        Table(title, [t["customer"], t["clv_at_risk"]], [[i, ctx.money(v)] for i, v in zip(ids, top["clv_at_risk"],
                                                                                                strict=True)]),
        height=max(320, 26 * len(top) + 80)))
    columns = [t["rank"], t["customer"], t["p_churn"], t["clv_axis"], t["clv_at_risk"], t["reasons"]]
    none = t["no_reason"].format(points=100 * MIN_CONTRIBUTION)
    rows = []
    for i, r in enumerate(top.to_dict("records"), start=1):
        why = "; ".join(ctx.say(str(r[c])) for c in reasons if r.get(c) is not None and not pd.isna(r[c]))
        rows.append([str(i), str(r["customer_id"]), pct(plain(r.get("p_churn")) and 100 * float(r["p_churn"])),
                     ctx.money(r.get("clv")), ctx.money(r["clv_at_risk"]), why or none])
    section.tables.append(Table(t["watchlist"], columns, rows, [True, False, True, True, True, False]))
    return section


# ---- voice of the customer --------------------------------------------------------------------


def nps_by_stage(ctx: Context) -> Section:
    from clvlab.errors import DataValidationError
    from clvlab.lifecycle.stages import STAGES
    from clvlab.voc.metrics import feedback_metrics

    t = ctx.t
    section = Section("nps_stage", t["nps_stage"], t["nps_stage_intro"])
    if "feedback" not in ctx.tables:
        msg = f"{WHERE}: the workspace has no table 'feedback'"
        raise DataValidationError(msg, hint="load answers with `clvlab load feedback FILE`, then `clvlab run`")
    frame = feedback_metrics(ctx.ws, metric="nps", by=("stage",))
    order = {s: i for i, s in enumerate(STAGES)}
    frame = frame.assign(_o=frame["stage"].map(order)).sort_values("_o", na_position="last")
    names = [ctx.stage(s) for s in frame["stage"]]
    colours = [STAGE_COLOURS.get(str(s), "#7f7f7f") for s in frame["stage"]]
    section.charts.append(Chart(
        "chart-nps-stage", t["nps_chart"],
        charts.with_intervals(names, [round(float(v), 1) for v in frame["value"]],
                              [round(float(v), 1) for v in frame["lower"]], [round(float(v), 1) for v in frame["upper"]],
                              y_name=t["nps"], colours=colours),
        Table(t["nps_chart"], [t["stage"], t["answers"], t["nps"], t["interval"]],
              [[n + (" *" if small else ""), f"{int(r['n']):,}", f"{r['value']:+.1f}",
                f"{r['lower']:+.1f} … {r['upper']:+.1f}"]
               for n, small, (_, r) in zip(names, frame["small_sample"], frame.iterrows(), strict=True)])))
    if frame["small_sample"].any():
        section.remarks.append("* " + t["small_sample"].format(min_n=frame.attrs.get("min_n", 30)))
    return section


# ---- cohorts and economics --------------------------------------------------------------------


def _period_label(day: Any, period: str) -> str:
    stamp = pd.Timestamp(day)
    return {"month": f"{stamp:%Y-%m}", "quarter": f"{stamp.year}Q{stamp.quarter}",
            "year": f"{stamp.year}"}.get(period, f"{stamp.date()}")


def cohorts(ctx: Context) -> Section:
    t = ctx.t
    frame = read_derived(ctx.ws, "cohorts", columns=("cohort", "age", "retention", "cohort_size", "period"),
                         where=WHERE).execute()
    period = str(frame["period"].iloc[0]) if len(frame) else "month"
    unit = t.get(period, period)
    section = Section("cohorts", t["cohorts"], t["cohorts_intro"].format(period=unit))
    matrix = frame.pivot_table(index="cohort", columns="age", values="retention", aggfunc="first").sort_index()
    sizes = frame.groupby("cohort")["cohort_size"].first()
    cut = len(matrix) > MAX_COHORTS or matrix.shape[1] > MAX_AGES
    matrix = matrix.iloc[-MAX_COHORTS:, :MAX_AGES]
    ages = [str(int(a)) for a in matrix.columns]
    names = [_period_label(c, period) for c in matrix.index]
    cells = [[None if pd.isna(v) else round(100 * float(v), 1) for v in row] for row in matrix.to_numpy()]
    later = [v for row in cells for v in row[1:] if v is not None]
    title = t["cohort_chart"].format(period=unit)
    high = max(later, default=100.0)
    chart = charts.heatmap(ages, names, cells, x_name=t["age"].format(period=unit), high=high,
                           legend=("0%", f"≥ {high:.0f}%"), fmt="{:.1f}%", show_labels=len(ages) * len(names) <= 400)
    section.charts.append(Chart(
        "chart-cohorts", title, chart,
        Table(title, [t["cohort"], t["cohort_size"], *ages],
              [[n, f"{int(sizes[c]):,}", *(pct(v) for v in row)]
               for n, c, row in zip(names, matrix.index, cells, strict=True)]),
        height=max(280, 30 * len(names) + 150)))
    if cut:
        section.remarks.append(t["cohorts_cut"].format(n=len(names), ages=len(ages), period=unit))
    return section


def run_economics(ws: Any, by: Sequence[str] = ("channel",), where: str = WHERE) -> pd.DataFrame:
    """:func:`clvlab.value.economics.unit_economics` by ``by`` as of the day of the run's
    ``economics`` table (margin from the data, and CAC when the data has it, as in the run); a
    located error without that table, or, by channel, when it has no acquisition channel."""
    from clvlab.value.economics import unit_economics

    stored = read_derived(ws, "economics", columns=("customers",), where=where).execute()
    as_of = str(pd.Timestamp(stored["as_of"].iloc[0]).date()) if len(stored) and "as_of" in stored else None
    if "channel" in by and ("channel" not in stored or stored["channel"].isna().all()):
        msg = f"{where}: the economics table has no acquisition channel"
        raise DataValidationError(msg, hint="load customers with an acquisition_channel column "
                                  "(`clvlab load customers FILE`), then `clvlab run`")
    return unit_economics(ws, by=by, as_of=as_of, cac=None)


def economics(ctx: Context) -> Section:
    t = ctx.t
    section = Section("economics", t["economics"], t["economics_intro"])
    frame = run_economics(ctx.ws)
    if "ltv_cac" not in frame:  # a run without spend or acquisition costs: no CAC to chart
        msg = f"{WHERE}: LTV:CAC {frame.attrs['cac']}"
        raise DataValidationError(msg)
    notes = list(frame.attrs.get("notes", []))
    if frame.attrs.get("margin_source"):  # LTV and payback are margin: say where it came from
        notes.append(f"margin {frame.attrs['margin']:.0%}: {frame.attrs['margin_source']}")
    if any(n.startswith("demo assumption") for n in notes):
        section.badges.append(t["demo_assumption"])
    notes = [ctx.say(n) for n in notes]
    channels = [str(c) for c in frame["channel"]]
    ltv = frame["ltv"].where(frame["ltv"].notna(), frame["formula_clv"])
    option = charts.bars(channels, [rounded(v) for v in frame["ltv_cac"]], y_name=t["ltv_cac"],
                         labels=[num(v, ".2f") for v in frame["ltv_cac"]])
    option["series"][0]["markLine"] = {"symbol": "none", "lineStyle": {"type": "dashed", "color": "#555"},
                                       "label": {"formatter": "{b}", "position": "insideEndTop"},
                                       "data": [{"yAxis": 1, "name": t["break_even"]}, {"yAxis": 3, "name": t["target"]}]}
    unit = f" ({ctx.currency})" if ctx.currency else ""
    section.charts.append(Chart(
        "chart-ltv-cac", t["ltv_cac_chart"], option,
        Table(t["ltv_cac_chart"], [t["channel"], t["customers"], t["cac"] + unit, t["aov"] + unit, t["ltv"] + unit,
                                   t["ltv_cac"], t["payback"]],
              [[c, f"{int(r['customers']):,}", ctx.money(r["cac"], 2), ctx.money(r["aov"], 2), ctx.money(v, 2),
                num(r["ltv_cac"], ".2f"),
                num(r["payback_months"], ".0f") if plain(r["payback_months"]) is not None else t["never"]]
               for c, v, (_, r) in zip(channels, ltv, frame.iterrows(), strict=True)])))
    section.remarks += notes
    return section


# ---- model ------------------------------------------------------------------------------------


def _diagnostics(ctx: Context) -> dict[str, Any]:
    diag = ctx.diagnostics
    if diag is None:
        read_derived(ctx.ws, "diagnostics", where=WHERE)  # raises the located error
    assert diag is not None
    return diag


def model(ctx: Context) -> Section:
    t = ctx.t
    diag = _diagnostics(ctx)
    models, params = diag["model"], diag["param"]
    s = ctx.settings
    best = next((str(m) for m, c in zip(models["model"], models["chosen"], strict=True) if c is True), "")
    section = Section("model", t["model"], t["model_intro"].format(
        cal_end=s.get("calibration_end", "–"), as_of=s.get("observation_end", diag["as_of"]), best=best))
    names = [str(m) for m in models["model"]]
    section.charts.append(Chart(
        "chart-model-totals", t["comparison_chart"],
        charts.grouped_bars(names, {t["predicted_total"]: [rounded(v, 0) for v in models["predicted_total"]],
                                    t["actual_total"]: [rounded(v, 0) for v in models["actual_total"]]},
                            y_name=t["purchases"], colours=["#9ec3e4", "#3b6ea8"]),
        Table(t["comparison_chart"], [t["model_name"], t["predicted_total"], t["actual_total"]],
              [[str(r["model"]), num(r["predicted_total"]), num(r["actual_total"])]
               for _, r in models.iterrows()])))
    section.tables.append(Table(
        t["comparison"], [t["model_name"], t["chosen"], t["status"], t["log_likelihood"], t["bic"], t["mae"],
                          t["predicted_total"], t["actual_total"]],
        [[str(r["model"]), "✓" if r["chosen"] is True else "", str(r["status"] or ""),
          num(r["log_likelihood"], ",.1f"), num(r["bic"], ",.1f"), num(r["holdout_mae"], ".4f"),
          num(r["predicted_total"]), num(r["actual_total"])] for _, r in models.iterrows()],
        [False, False, False, True, True, True, True, True]))
    rows = [[str(r["model"]), str(r["name"]), num(r["value"], ".4g"),
             "–" if plain(r["se"]) is None else f"({float(r['se']):.3g})", str(r["status"] or "")]
            for _, r in params.iterrows()]
    section.tables.append(Table(t["params"], [t["model_name"], t["param"], t["estimate"], t["se"], t["status"]], rows,
                                [False, False, True, True, False]))
    section.remarks += sorted({str(m) for m, st in zip(params["text"], params["status"], strict=True)
                               if st != "converged" and m})
    _voc_model(section, t, diag["run"].get("voc_model"))
    return section


def _voc_model(section: Section, t: dict[str, str], record: dict[str, Any] | None) -> None:
    """The run's VoC covariate check (``clvlab run --covariate``): rate ratios and holdout errors."""
    if not record or not record.get("rate_ratios"):
        return
    rows = [[t.get(f"voc_{r['covariate']}", str(r["covariate"])), t[f"voc_{r['process']}"], num(r["ratio"], ".2f"),
             f"{num(r['lower'], '.2f')}–{num(r['upper'], '.2f')}"] for r in record["rate_ratios"]]
    section.tables.append(Table(t["voc_model"].format(model=record["model"]),
                                [t["voc_group"], t["voc_process"], t["voc_ratio"], t["voc_ci"]], rows,
                                [False, False, True, True]))
    with_, without = record["holdout_mae"], record.get("holdout_mae_without")
    verdict = t["voc_better"] if without is not None and with_ < without else t["voc_worse"]
    section.remarks.append(t["voc_model_mae"].format(model=record["model"], verdict=verdict, with_=f"{with_:.4f}",
                                                     without="–" if without is None else f"{without:.4f}",
                                                     family=record["family"]))


def tracking(ctx: Context) -> Section:
    t = ctx.t
    diag = _diagnostics(ctx)
    hold = diag["holdout"]
    s = ctx.settings
    freq = str(s.get("freq", "W"))
    unit = t[{"D": "day", "W": "week", "M": "month"}.get(freq, "week")]
    chosen = str(hold["model"].iloc[0]) if len(hold) else "–"
    section = Section("tracking", t["tracking"], t["tracking_intro"].format(
        unit=unit, cal_end=s.get("calibration_end", "–"), model=chosen))
    if hold.empty:
        section.note = f"{WHERE}: the diagnostics table has no holdout rows (run `clvlab run` again)"
        return section
    days = [str(pd.Timestamp(d).date()) for d in hold["period_start"]]
    pred, act = hold["predicted"].astype(float), hold["actual"].astype(float)
    section.charts.append(Chart(
        "chart-tracking", t["tracking_chart"].format(unit=unit),
        charts.lines(days, {t["predicted"]: [round(v, 1) for v in pred], t["actual"]: [round(v, 1) for v in act]},
                     y_name=t["purchases"]),
        Table(t["tracking_chart"].format(unit=unit), [t["period_start"].format(unit=unit), t["predicted"],
                                                      t["actual"], t["tracking_cumulative"] + " · " + t["predicted"],
                                                      t["tracking_cumulative"] + " · " + t["actual"]],
              [[d, num(p, ",.1f"), num(a), num(cp, ",.1f"), num(ca)]
               for d, p, a, cp, ca in zip(days, pred, act, pred.cumsum(), act.cumsum(), strict=True)])))
    end = pd.Timestamp(s.get("observation_end") or diag["as_of"])
    length = {"D": 1, "W": 7}.get(freq)
    last_days = int((end - pd.Timestamp(hold["period_start"].iloc[-1])).days) + 1
    if length is not None and len(hold) > 1:
        first_days = int((pd.Timestamp(hold["period_start"].iloc[1]) - pd.Timestamp(days[0])).days)
        if first_days > length:
            section.remarks.append(t["tracking_first"].format(start=days[0], n=first_days, extra=first_days - length,
                                                              unit=unit))
    if length is not None and last_days < length:
        section.remarks.append(t["tracking_cut"].format(start=days[-1], end=end.date(), n=last_days, unit=unit))
    section.charts.append(Chart(
        "chart-tracking-cumulative", t["tracking_cumulative"],
        charts.lines(days, {t["predicted"]: [round(v, 1) for v in pred.cumsum()],
                            t["actual"]: [round(v, 1) for v in act.cumsum()]}, y_name=t["purchases"]),
        Table(t["tracking_cumulative"], [t["period_start"].format(unit=unit), t["predicted"], t["actual"]],
              [[d, num(cp, ",.1f"), num(ca)] for d, cp, ca in zip(days, pred.cumsum(), act.cumsum(), strict=True)])))
    return section


#: the sections in page order
SECTIONS: list[tuple[str, Callable[[Context], Section]]] = [
    ("summary", summary), ("clv", clv), ("stages", stages), ("health", health), ("watchlist", watchlist),
    ("nps_stage", nps_by_stage), ("cohorts", cohorts), ("economics", economics), ("model", model),
    ("tracking", tracking),
]


def build_sections(ctx: Context) -> list[Section]:
    """Every section; one whose data is missing becomes a located note."""
    out = []
    for key, builder in SECTIONS:
        try:
            out.append(builder(ctx))
        except ClvlabError as exc:
            out.append(Section(key, ctx.t[key], note=str(exc)))
    return out
