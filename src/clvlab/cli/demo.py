"""``clvlab demo``: the whole CLV engine on the bundled CDNOW data, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from clvlab.cli._common import (
    console,
    emit_json,
    json_text,
    print_p_alive_note,
    progress_bar,
    state,
    styled,
    user_errors,
)
from clvlab.cli.churn_cmds import print_watchlist
from clvlab.cli.data_cmds import Freq, FreqOpt, freq_value
from clvlab.cli.economics_cmds import print_channel_economics
from clvlab.cli.leads_cmds import print_leads_record
from clvlab.cli.model_cmds import print_summary

if TYPE_CHECKING:
    import pandas as pd


@user_errors
def demo(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Demo workspace file.")] = Path("clvlab-demo.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Folder for scores.csv and diagnostics.json.")] = Path("clvlab-demo"),
    freq: FreqOpt = Freq.W,
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="CLV horizon in days.")] = 365,
) -> None:
    """Load CDNOW into a DuckDB workspace, fit and compare the models, score every customer."""
    from clvlab.data.workspace import connect
    from clvlab.experiments.demo import demo_experiment
    from clvlab.pipeline import run_demo
    from clvlab.report import write_report
    from clvlab.settings import get_settings
    from clvlab.store import open_app_store

    with connect(workspace) as ws:
        store = open_app_store(workspace=workspace)
        try:
            with progress_bar() as on_progress:
                result = run_demo(ws, store, freq=freq_value(freq), horizon=horizon_days, on_progress=on_progress)
            out.mkdir(parents=True, exist_ok=True)
            page = write_report(ws, out / "report.html", currency="USD", app_store=store)  # CDNOW is in dollars
        finally:
            store.close()
        on_progress("simulated experiment (A/A): assigning", 0, 1)
        experiment = demo_experiment(ws)
    run = result.clv
    report, feedback_report = result.loads[:2]  # run_demo loads the transactions, then the feedback
    alerts, voc = result.alerts, result.voc
    assert alerts is not None  # run_demo runs with an app store
    run.scores.to_csv(out / "scores.csv")
    (out / "diagnostics.json").write_text(json_text({**run.diagnostics(), "run_id": result.run_id}),
                                         encoding="utf-8")

    if state.json:
        emit_json({"load": report.to_dict(), **run.diagnostics(), "run_id": result.run_id,
                   "total_clv": float(run.scores["clv"].sum()), "scores": str(out / "scores.csv"),
                   "feedback_load": feedback_report.to_dict(),
                   "voc": {name: frame.reset_index().to_dict(orient="records") for name, frame in voc.items()},
                   "alerts": {"responses": alerts.responses, "matched": alerts.matched, "by_rule": alerts.by_rule,
                              "opened": len(alerts.opened.opened), "already_open": alerts.opened.already_open},
                   "cases": result.cases.to_dict(orient="records"), "lifecycle": result.lifecycle,
                   "leads": result.leads, "churn": result.churn, "report": str(page),
                   "experiment": experiment.to_dict()})
        return
    as_of = str(run.settings["observation_end"])[:10]
    clv_unit = f"USD, next {horizon_days} days from {as_of}"
    console.print(f"Demo data: CDNOW, the CD purchases of {len(run.scores):,} customers (amounts in US dollars), scored as of "
                  f"{as_of}; the feedback, channels, spend and events beside them are made up for the demo.",
                  highlight=False)
    console.print(str(report), highlight=False)
    _print_comparison(run.comparison, run.best)
    print_summary(run.model)
    if run.spend_model is not None:
        print_summary(run.spend_model)
    _print_segments(run.scores, clv_unit)
    print_p_alive_note(run.model, run.scores)
    _print_top(run.scores, clv_unit)
    _print_lifecycle(result.lifecycle, as_of)
    _print_churn(result.churn)
    print_leads_record(result.leads)
    console.print(str(feedback_report), highlight=False)
    _print_voc(voc)
    console.print(f"\nAlerts: {alerts}", highlight=False)
    console.print(_table("Open cases by owner (priority from CLV; SLA from the rules)", result.cases,
                         {"P1": "{:,}", "P2": "{:,}", "P3": "{:,}", "overdue": "{:,}"}))
    print_channel_economics(workspace)
    d = experiment.definition
    console.print(f"\nExperiment {d.experiment_id}: {d.name}; {d.customers:,} customers assigned {d.assigned_at:%Y-%m-%d}, "
                  f"{d.control_share:.0%} in control (seed {d.seed})", highlight=False)
    console.print(
        styled("\n", (f"{len(run.scores):,} customers scored", "bold"), f", expected {horizon_days}-day CLV "
        f"USD {run.scores['clv'].sum():,.0f} in total.\n"
        f"Scores: {out / 'scores.csv'} and table 'scores' in {workspace}; fits: {out / 'diagnostics.json'}.\n"
        f"Report: open {page} in a browser; in Chinese: clvlab report -w {workspace} -o report-zh.html --lang zh "
        f"--currency USD --app-store {get_settings().app_store_url(workspace)}\n"
        f"Next: clvlab economics -w {workspace} --by channel --by cohort\n"
        f"      clvlab cohorts -w {workspace} --period month\n"
        f"      clvlab lifecycle -w {workspace} --by month; clvlab health -w {workspace} --backtest\n"
        f"      clvlab churn watchlist -w {workspace} --top 200; clvlab churn evaluate -w {workspace}\n"
        f"      clvlab leads -w {workspace} --top 20 --evaluate\n"
        f"      clvlab voc metrics -w {workspace} --by store --by month\n"
        f"      clvlab voc text -w {workspace} --by touchpoint\n"
        f"      clvlab experiment analyze {d.experiment_id} -w {workspace}\n"
        f"      clvlab cases list --app-store {get_settings().app_store_url(workspace)} --owner O01\n"
        f"      clvlab serve -w {workspace} --dev      (the REST API and pages on http://127.0.0.1:8000)\n"
        f"      clvlab fit bgnbd -w {workspace} --freq W      (and clvlab --help)")
    )


def _print_voc(voc: dict[str, pd.DataFrame]) -> None:
    import pandas as pd

    overall = voc["nps"].iloc[0]
    console.print(styled("\n", (f"NPS {overall['value']:+.1f}", "bold"), f" (95% interval {overall['lower']:+.1f} to "
                  f"{overall['upper']:+.1f}, n={int(overall['n']):,})"))
    stores = voc["nps_by_store"].sort_values("value")
    table = pd.DataFrame({
        "store": stores["store_id"].astype(str), "n": stores["n"].astype(int), "NPS": stores["value"],
        "interval": [f"{lo:+.0f} to {hi:+.0f}" for lo, hi in zip(stores["lower"], stores["upper"], strict=True)],
        "small": ["yes" if v else "" for v in stores["small_sample"]],
    })
    console.print(_table("NPS by store (lowest first)", table, {"n": "{:,}", "NPS": "{:+.1f}"}))
    value = voc["value_by_nps_class"].reset_index()
    first = value.columns[0]
    vt = pd.DataFrame({
        "class": value[first].astype(str), "customers": [f"{n:,.0f}" if pd.notna(n) else "" for n in value["n"]],
        "mean CLV": value["clv"],
        "CLV interval": [f"{lo:,.1f} to {hi:,.1f}" for lo, hi in zip(value["clv_lower"], value["clv_upper"], strict=True)],
        "P(alive)": value["p_alive"],
    })
    console.print(_table("What a promoter is worth (latest NPS answer per customer)", vt,
                         {"mean CLV": "{:,.1f}", "P(alive)": "{:.2f}"}))


def _print_lifecycle(record: dict[str, Any], as_of: str) -> None:
    """Customers per lifecycle stage and per health band (clvlab lifecycle / health for more)."""
    import pandas as pd

    stages = record.get("stages") or {}
    if not stages:
        return
    sizes = pd.DataFrame({"stage": list(stages), "customers": [int(n) for n in stages.values()]})
    console.print(_table(f"Lifecycle stages as of {as_of} (P(alive): {record.get('p_alive_model') or 'cadence only'})",
                         sizes, {"customers": "{:,}"}))
    bands = record.get("bands") or {}
    if bands:
        order = [b for b in ("red", "yellow", "green") if b in bands]
        console.print("Health: " + ", ".join(f"{b} {int(bands[b]):,}" for b in order)
                      + "  (clvlab health -w ... --backtest shows how the bands separate churn)", highlight=False)
    elif record.get("health_error"):
        console.print(f"Health: not computed ({record['health_error']})", highlight=False)


def _print_churn(record: dict[str, Any]) -> None:
    """The head of the churn watchlist (clvlab churn watchlist for more)."""
    import pandas as pd

    if record.get("error"):
        console.print(f"Churn watchlist: not computed ({record['error']})", highlight=False)
        return
    rows = record.get("watchlist") or []
    if not rows:
        return
    frame = pd.DataFrame(rows).set_index("customer_id")
    print_watchlist(frame, f"Churn watchlist: the {len(frame)} customers with the most CLV at risk (churn = no "
                           f"purchase in the next {record['window_days']} days)", console)
    console.print(f"CLV at risk USD {record['clv_at_risk']:,.0f} of {record['clv']:,.0f} in all "
                  f"({record['customers']:,} customers; table 'churn')", highlight=False)


def _table(title: str, frame: pd.DataFrame, formats: dict[str, str]) -> RichTable:
    import pandas as pd

    table = RichTable(title=title)
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_fmt(v, formats.get(c, "{:,.2f}")) for c, v in zip(frame.columns, row, strict=True)))
    return table


def _fmt(value: Any, fmt: str) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return fmt.format(value)
    return str(value)


def _print_comparison(comparison: pd.DataFrame, best: str) -> None:
    import pandas as pd

    frame = comparison.reset_index()
    table = pd.DataFrame({
        "model": [f"{m} *" if m == best else m for m in frame["model"]],
        "LL": frame.get("log_likelihood"), "BIC": frame.get("bic"), "MAE": frame.get("holdout_mae"),
        "predicted": frame.get("predicted_total"), "actual": frame.get("actual_total"),
    })
    console.print(_table("Models fitted on weeks 1-39, judged on weeks 40-78 (* = chosen)", table,
                         {"LL": "{:,.1f}", "BIC": "{:,.1f}", "MAE": "{:.4f}", "predicted": "{:,.0f}",
                          "actual": "{:,.0f}"}))


def _print_segments(scores: pd.DataFrame, unit: str) -> None:
    if "segment" not in scores:
        return
    by = (scores.groupby("segment", observed=True)
          .agg(customers=("clv", "size"), p_alive=("p_alive", "mean"), clv_mean=("clv", "mean"), clv_total=("clv", "sum"))
          .sort_values("clv_total", ascending=False).reset_index())
    by["segment"] = by["segment"].astype(str)
    console.print(_table(f"CLV by RFM segment ({unit})", by, {"customers": "{:,}", "p_alive": "{:.2f}"}))


def _print_top(scores: pd.DataFrame, unit: str) -> None:
    import pandas as pd

    top = scores.nlargest(10, "clv")
    table = pd.DataFrame({
        "customer": top.index.astype(str),
        "repeat": top["frequency"].astype(int),
        "P(alive)": top["p_alive"],
        "exp. buys": top["expected_purchases"],
        "exp. spend": top["expected_spend"],
        "CLV": top["clv"],
        "90% interval": [f"{lo:,.0f}-{hi:,.0f}" for lo, hi in zip(top["clv_lower"], top["clv_upper"], strict=True)],
    })
    console.print(_table(f"Top 10 customers by CLV ({unit})", table,
                         {"repeat": "{:d}", "P(alive)": "{:.2f}", "exp. buys": "{:.1f}", "exp. spend": "{:,.2f}",
                          "CLV": "{:,.0f}"}))
