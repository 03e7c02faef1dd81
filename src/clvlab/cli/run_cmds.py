"""``clvlab run``: the whole pipeline on a workspace whose data is already loaded.

Fits and chooses the CLV model, scores every customer and writes the derived tables
(``scores``, ``stages``, ``health``, ``cohorts``, ``economics``, and ``leads`` with events or
customers) under one run id; with an
application store configured (``--app-store`` or ``$CLVLAB_APP_STORE``) the alert rules open
cases too. The work is :func:`clvlab.pipeline.run_pipeline`; this module checks the dates,
draws the progress bar and prints the summary.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    parse_mapping,
    progress_bar,
    state,
    styled,
    user_errors,
)
from clvlab.cli.data_cmds import Freq, FreqOpt, MapOpt, freq_value
from clvlab.cli.model_cmds import PenalizerOpt
from clvlab.errors import DataValidationError, Hint, ParameterError

if TYPE_CHECKING:
    import datetime as dt

class Engine(StrEnum):
    """Where ``clvlab run --engine`` runs the CLV part."""

    spark = "spark"


#: the tables every run writes, all with the run's id
DERIVED_TABLES = ("scores", "stages", "health", "churn", "cohorts", "economics")


def _day(value: str, flag: str) -> dt.date:
    import pandas as pd

    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        msg = f"{flag} expects a date such as 2024-12-31. Got {value!r} instead."
        raise ParameterError(msg) from exc


def _data_range(ws: Any, workspace: Any, table_name: str | None = None,
                mapping: dict[str, str] | None = None) -> tuple[dt.date, dt.date]:
    """First and last transaction day; a workspace without transactions says what to load
    (``table_name``, ``mapping``: the engine's table a run at scale reads instead)."""
    import pandas as pd

    if table_name is not None:
        from clvlab.scale import engine_table

        table = engine_table(ws, table_name, mapping)
    elif "transactions" not in ws.tables():
        where = f" -w {workspace}" if workspace is not None else ""
        msg = f"workspace {ws.url!r} has no table 'transactions'"
        raise DataValidationError(msg, hint=f"load it first: clvlab load transactions FILE{where}")
    else:
        table = ws.table("transactions")
    first, last = (table.ordered_at.min().execute(), table.ordered_at.max().execute())
    if first is None or pd.isna(first):
        msg = f"workspace {ws.url!r}: table 'transactions' is empty"
        raise DataValidationError(msg, hint="load transactions first: clvlab load transactions FILE")
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def check_dates(first: dt.date, last: dt.date, as_of: str | None, calibration_end: str | None) -> tuple[str, str | None]:
    """``as_of`` (default: the last transaction day) and ``calibration_end`` checked against the data."""
    span = f"the transactions run from {first} to {last}"
    day = last if as_of is None else _day(as_of, "--as-of")
    if not first <= day <= last:
        msg = f"--as-of {day} lies outside the data: {span}"
        raise DataValidationError(msg, hint=Hint(f"a day from {first} to {last}, or drop --as-of (default {last})"))
    if calibration_end is None:
        return str(day), None
    cal = _day(calibration_end, "--calibration-end")
    if not first <= cal < day:
        msg = f"--calibration-end {cal} must lie on or after {first} and before the as-of day {day} ({span})"
        raise DataValidationError(msg, hint="drop --calibration-end (default: the last third of the period is the holdout)")
    return str(day), str(cal)


def _publish_if_served(ws: Any) -> Path | None:
    """A served workspace (one with a serving snapshot) gets a new snapshot: the server shows this run."""
    from clvlab.data.snapshot import publish_snapshot, snapshot_path

    if ws.path is None or not ws.is_duckdb or not snapshot_path(ws.path).exists():
        return None
    return publish_snapshot(ws)


@user_errors
def run(
    workspace: WorkspaceOpt = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Observation end (YYYY-MM-DD) \\[default: the latest transaction day].")] = None,
    calibration_end: Annotated[str | None, typer.Option(
        "--calibration-end", help="Last day the models are fitted on to be compared \\[default: leaves the last "
        "third of the period as holdout].")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="CLV horizon in days.")] = 365,
    freq: FreqOpt = Freq.W,
    penalizer: PenalizerOpt = 0.0,
    app_store: Annotated[str | None, typer.Option(
        "--app-store", help="App store URL where cases are opened \\[default: $CLVLAB_APP_STORE; none: no cases].")] = None,
    engine: Annotated[Engine | None, typer.Option(
        "--engine", help="Run the CLV part where the data is (spark: the environment's SparkSession or "
        "--spark-master); loading stays on DuckDB, see docs/scale.md.")] = None,
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", help="Spark master URL for --engine spark, e.g. spark://host:7077, yarn, local[2].")] = None,
    table: Annotated[str, typer.Option(
        "--table", help="With --engine: the transactions table (customer_id, ordered_at, amount), e.g. warehouse.orders.")
    ] = "transactions",
    scores_table: Annotated[str, typer.Option(
        "--scores-table", help="With --engine: the table the scores are written to.")] = "scores",
    covariate: Annotated[list[str] | None, typer.Option(
        "--covariate", help="Also fit the chosen purchase model with this VoC covariate from the feedback "
        "(nps_class: first NPS answer; negative_share: share of negative comments; repeat for both) and "
        "report how each changes the purchase and dropout rates, and the holdout error with and without "
        "them; the scores stay the chosen model's. See docs/covariates.md.")] = None,
    mapping: MapOpt = None,
) -> None:
    """Run the whole pipeline on the loaded data: fit, score, write every derived table, open cases."""
    from clvlab.pipeline import run_pipeline
    from clvlab.settings import get_settings
    from clvlab.store import open_app_store
    from clvlab.value.economics import NO_CAC

    if engine is not None or spark_master is not None:
        if workspace is not None or app_store is not None or covariate:
            msg = ("--engine spark reads --table from Spark and opens no cases: --workspace, --app-store and "
                   "--covariate belong to runs on a DuckDB or PostgreSQL workspace; drop them, or drop --engine")
            raise ParameterError(msg)
        _run_at_scale(spark_master, table, scores_table, as_of=as_of, calibration_end=calibration_end,
                      horizon_days=horizon_days, freq=freq_value(freq), penalizer=penalizer,
                      mapping=parse_mapping(mapping))
        return
    if mapping:
        msg = ("--map belongs to --engine runs (the columns of --table); a workspace's transactions were "
               "mapped when loaded: clvlab load transactions FILE --map CANONICAL=COLUMN")
        raise ParameterError(msg)
    store_url = app_store or get_settings().app_store
    with connect_workspace(workspace) as ws:
        first, last = _data_range(ws, workspace)
        observation_end, cal_end = check_dates(first, last, as_of, calibration_end)
        store = open_app_store(store_url) if store_url else None
        try:
            with progress_bar() as on_progress:
                result = run_pipeline(ws, app_store=store, on_progress=on_progress, freq=freq_value(freq),
                                      observation_end=observation_end, calibration_end=cal_end,
                                      horizon=horizon_days, penalizer=penalizer, covariates=tuple(covariate or ()))
        finally:
            if store is not None:
                store.close()
        tables_after = ws.tables()
        tables = [t for t in DERIVED_TABLES if t in tables_after]
        tables += ["leads"] if result.leads.get("n_prospects") else []  # with events or customers
        served = _publish_if_served(ws)
    scores = result.clv.scores
    opened = len(result.alerts.opened.opened) if result.alerts is not None else 0
    has_feedback = "feedback" in tables_after  # survey answers of the app store may have made it
    summary = {
        "run_id": result.run_id, "as_of": observation_end,
        "calibration_end": result.clv.settings["calibration_end"], "model": result.clv.best,
        "n_customers": len(scores), "total_clv": float(scores["clv"].sum()), "horizon_days": horizon_days,
        "tables": tables, "cases_opened": opened if store_url else None, "leads": result.leads or None,
        "snapshot": None if served is None else str(served), "cac": result.economics.get("cac"),
        "voc_model": result.clv.voc_model,
    }
    if state.json:
        emit_json(summary)
        return
    if not store_url:
        cases = "no app store configured (--app-store or $CLVLAB_APP_STORE): no cases opened"
    elif not has_feedback:
        cases = "no feedback loaded (clvlab load feedback FILE): no cases opened"
    else:
        cases = f"{opened:,} cases opened"
    console.print(styled(
        ("run ", "bold"), (result.run_id, "bold"), f" as of {observation_end}: model {result.clv.best} "
        f"(compared on the holdout after {summary['calibration_end']}), ",
        (f"{len(scores):,} customers scored", "bold"), f", expected {horizon_days}-day CLV "
        f"{summary['total_clv']:,.0f} in total.\n"
        f"Tables written: {', '.join(tables)}; {cases}."), soft_wrap=True)
    if summary["cac"] == NO_CAC:
        console.print(f"Economics without CAC: LTV, cohorts and retention are written; LTV:CAC and payback: {NO_CAC}.",
                      highlight=False, markup=False)
    from clvlab.cli.leads_cmds import print_leads_record

    print_leads_record(result.leads)
    if result.clv.voc_model is not None:
        _print_voc_model(result.clv.voc_model)


def _print_voc_model(record: dict[str, Any]) -> None:
    """What customers say, inside the purchase model: holdout errors and rate ratios."""
    console.print(styled(("What customers say, in the purchase model", "bold"),
                         f" ({record['model']}, covariates {', '.join(record['covariates'])}):"), soft_wrap=True)
    for line in filter(None, (record.get("family_note"), record.get("note"))):
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if "holdout_mae" in record:
        with_, without = record["holdout_mae"], record.get("holdout_mae_without")
        verdict = "" if without is None else (
            f"predicts the holdout {'better' if with_ < without else 'no better'} with them: error per customer "
            f"{with_:.4f} vs {without:.4f} without; ")
        console.print(f"  {record['model']} {verdict}the scores come from {record['scores_from']}. The ratios "
                      "are associations (answers measured in the same period), not effects:",
                      highlight=False, markup=False, soft_wrap=True)
        if record.get("status_message"):
            console.print(styled(("  warning:", "yellow"), f" {record['status_message']}"), soft_wrap=True)
        for ratio in record["rate_ratios"]:
            console.print(f"  {ratio['text']}", highlight=False, markup=False, soft_wrap=True)
    if record.get("dropped"):
        console.print(f"  left out (the same for every customer): {', '.join(record['dropped'])}",
                      highlight=False, markup=False, soft_wrap=True)


def _run_at_scale(master: str | None, table: str, scores_table: str, *, as_of: str | None,
                  calibration_end: str | None, horizon_days: int, freq: Any, penalizer: float,
                  mapping: dict[str, str]) -> None:
    """``clvlab run --engine spark``: the CLV part in the engine (:mod:`clvlab.scale`), and what did not run."""
    import clvlab
    from clvlab.scale import run_clv_at_scale

    ws = clvlab.connect(master or "spark")
    first, last = _data_range(ws, None, table, mapping)
    observation_end, cal_end = check_dates(first, last, as_of, calibration_end)
    with progress_bar() as on_progress:
        result = run_clv_at_scale(ws, table=table, scores_table=scores_table, mapping=mapping,
                                  on_progress=on_progress, freq=freq,
                                  observation_end=observation_end, calibration_end=cal_end,
                                  horizon=horizon_days, penalizer=penalizer)
    ran = ["RFM", "model comparison on the holdout", f"fit {result.best}",
           f"Gamma-Gamma spend on {result.settings['spend_fit']}",
           f"scores (P(alive), expected purchases, spend, revenue, CLV) written to {scores_table}"]
    summary = {
        "run_id": result.run_id, "engine": ws.url, "table": table, "as_of": observation_end,
        "calibration_end": result.settings["calibration_end"], "model": result.best,
        "n_customers": result.n_customers, "total_clv": result.total_clv, "horizon_days": horizon_days,
        "scores_table": scores_table, "rows_collected": result.rows_collected, "ran": ran,
        "not_run": list(result.skipped),
    }
    if state.json:
        emit_json(summary)
        return
    console.print(styled(
        ("run ", "bold"), (result.run_id, "bold"), f" on {ws.url} ({table}) as of {observation_end}: model "
        f"{result.best} (compared on the holdout after {summary['calibration_end']}), ",
        (f"{result.n_customers:,} customers scored", "bold"), f" in the engine, expected {horizon_days}-day CLV "
        f"{result.total_clv:,.0f} in total, written to {scores_table}.\n"
        f"Rows brought to Python for fitting: {', '.join(f'{k} {v:,}' for k, v in result.rows_collected.items())}.\n"
        f"Ran: {'; '.join(ran)}.\nNot run on this engine: " + "; ".join(result.skipped) + "."), soft_wrap=True)
