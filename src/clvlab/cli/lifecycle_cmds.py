"""``clvlab lifecycle`` and ``clvlab health``: stage sizes, transitions, onboarding, health score."""

from __future__ import annotations

import datetime as dt
import itertools
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    out,
    state,
    user_errors,
)


def _show(table: Any) -> None:
    """Print ``table`` whole: wider than the terminal if need be, never cut with ellipses."""
    from rich.console import Console
    from rich.measure import Measurement

    need = Measurement.get(out, out.options.update(width=10_000), table).maximum
    wide = Console(width=need, markup=False, highlight=False, emoji=False)  # user ids: never markup
    (out if need <= out.width else wide).print(table)

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Date the figures hold as of \\[default: the "
                                             "last purchase day]; from the first purchase day to today (days "
                                             "after the last purchase count as days without one).")]
ModelOpt = Annotated[str, typer.Option("--model", help="P(alive) model: ModifiedBetaGeo or ParetoNBD "
                                       "(BG/NBD is refused: P(alive) = 1 for every one-time buyer).")]
ThresholdsOpt = Annotated[Path | None, typer.Option("--thresholds", help="YAML/TOML file of lifecycle "
                                                    "thresholds (see docs/lifecycle.md).")]


class By(StrEnum):
    """Series of stage sizes."""

    month = "month"


def _thresholds(path: Path | None) -> Any:
    from clvlab.lifecycle.thresholds import LifecycleThresholds

    return LifecycleThresholds.from_file(path) if path is not None else None


def _matrix_table(matrix: Any, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("from \\ to")
    for col in matrix.columns:
        table.add_column(str(col), justify="right")
    for name, row in matrix.iterrows():
        if row.sum() or name != "(none)":
            table.add_row(str(name), *(f"{int(v):,}" for v in row))
    return table


def _matrix_json(matrix: Any) -> dict[str, Any]:
    return {"start": matrix.attrs["start"], "end": matrix.attrs["end"],
            "matrix": {str(i): {str(c): int(v) for c, v in r.items()} for i, r in matrix.iterrows()}}


@user_errors
def lifecycle(
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    by: Annotated[By | None, typer.Option("--by", help="month: stage sizes at every month end.")] = None,
    months: Annotated[int, typer.Option("--months", min=2, help="With --by month: the last N month ends.")] = 12,
    onboarding: Annotated[bool, typer.Option("--onboarding", help="Also the onboarding figures by "
                                             "acquisition cohort.")] = False,
    model: ModelOpt = "ModifiedBetaGeo",
    thresholds: ThresholdsOpt = None,
) -> None:
    """Customers per lifecycle stage and the month-over-month transition matrix."""
    from rich.table import Table

    from clvlab.lifecycle._features import data_range, purchase_days
    from clvlab.lifecycle.stages import (
        STAGES,
        month_ends,
        onboarding_summary,
        stage_sizes,
        stages_over_time,
    )
    from clvlab.lifecycle.stages import transition_matrix as matrix_of

    th = _thresholds(thresholds)
    with connect_workspace(workspace, read_only=True) as ws:
        ends = month_ends(ws, as_of)
        dates = ends[-months:] if by is By.month else ends[-2:]
        frames = stages_over_time(ws, dates, model=model, thresholds=th)
        onboard = onboarding_summary(ws, as_of=dates[-1]) if onboarding else None
        data_end = data_range(purchase_days(ws, "lifecycle"))[1]
    keys = list(frames)
    after = (dt.date.fromisoformat(keys[-1]) - data_end).days
    note = (f"as of {keys[-1]}, {after:,} days after the last transaction in the data ({data_end}): the stages "
            f"reflect no data after {data_end}, so customers read as declining or churned") if after > 0 else None
    sizes = {k: stage_sizes(f) for k, f in frames.items()}
    last = frames[keys[-1]]
    matrix = matrix_of(frames[keys[-2]], last) if len(keys) > 1 else None
    if state.json:
        emit_json({
            "as_of": keys[-1], "data_end": str(data_end), "days_after_data": max(after, 0), "note": note,
            "model": model, "thresholds": last.attrs["thresholds"],
            "stages": {k: s.to_dict() for k, s in sizes.items()},
            "transitions": None if matrix is None else _matrix_json(matrix),
            "transitions_by_month": [_matrix_json(matrix_of(frames[a], frames[b]))
                                     for a, b in itertools.pairwise(keys)] if by is By.month else None,
            "onboarding": None if onboard is None else onboard.reset_index().astype(object)
            .where(onboard.reset_index().notna(), None).to_dict(orient="records"),
        })
        return
    shown = keys if by is By.month else keys[-1:]
    table = Table(title=f"Customers by lifecycle stage (P(alive): {model})")
    table.add_column("as of")
    for stage in STAGES:
        table.add_column(stage, justify="right")
    for k in shown:
        table.add_row(k, *(f"{int(v):,}" for v in sizes[k]))
    _show(table)
    if matrix is not None:
        _show(_matrix_table(matrix, f"Transitions {keys[-2]} -> {keys[-1]} (rows sum to the stage sizes "
                                        "at the start; (none): not yet a customer)"))
    if onboard is not None:
        t = Table(title=f"Onboarding by acquisition cohort (second purchase within "
                        f"{onboard.attrs['onboarding_days']} days)")
        for col in ("cohort", "customers", "second buyers", "median days", "eligible", "within", "share %"):
            t.add_column(col, justify="right")
        for cohort, r in onboard.iterrows():
            t.add_row(str(cohort)[:10], f"{int(r.customers):,}",
                      f"{int(r.second_buyers):,}", f"{r.median_days_to_second:.0f}", f"{int(r.eligible):,}",
                      f"{int(r.within):,}", "" if r.share_within != r.share_within else f"{r.share_within:.1f}")
        _show(t)
    res = last.attrs["thresholds"]
    console.print(f"cadence {res['cadence_days']:.0f} days (median); declining from {res['decline_ratio']:.2f}x "
                  f"the own cadence, churned from {res['churn_ratio']:.2f}x; mature from "
                  f"{res['mature_purchases']} purchases", highlight=False)
    if note:
        console.print(f"Note: {note}", style="bold yellow", highlight=False, markup=False)


@user_errors
def health(
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many red customers to list (most "
                                     "spend first).")] = 20,
    backtest: Annotated[bool, typer.Option("--backtest", help="Also the out-of-time churn rate per band.")] = False,
    model: ModelOpt = "ModifiedBetaGeo",
    thresholds: ThresholdsOpt = None,
    app_store: Annotated[str | None, typer.Option("--app-store", help="Application store URL: open cases "
                                                  "become a component (without it, that one is unused).")] = None,
) -> None:
    """Health score 0-100 per customer: bands, fitted weights, the reddest customers with their points."""
    from contextlib import nullcontext

    from rich.table import Table

    from clvlab.lifecycle.health import COMPONENTS, health_backtest, health_scores
    from clvlab.store import open_app_store

    th = _thresholds(thresholds)
    with connect_workspace(workspace, read_only=True) as ws, \
            (open_app_store(app_store) if app_store else nullcontext()) as store:
        scores = health_scores(ws, as_of=as_of, model=model, thresholds=th, app_store=store)
        bt = health_backtest(ws, as_of=as_of, model=model, thresholds=th) if backtest else None
    red = scores[scores["band"] == "red"].sort_values("spend", ascending=False, kind="stable").head(top)
    bands = scores["band"].value_counts().reindex(["red", "yellow", "green"], fill_value=0)
    weights = scores.attrs["weights"]
    if state.json:
        emit_json({
            "as_of": scores.attrs["as_of"], "bands": {k: int(v) for k, v in bands.items()}, "weights": weights,
            "top_red": red.reset_index().astype(object).where(red.reset_index().notna(), None)
            .to_dict(orient="records"),
            "backtest": None if bt is None else {
                "scored_as_of": bt.attrs["scored_as_of"], "churn_until": bt.attrs["churn_until"],
                "auc": bt.attrs["auc"], "bands": bt.reset_index().astype(object).where(bt.reset_index().notna(), None)
                .to_dict(orient="records")},
        })
        return
    console.print(f"health as of {scores.attrs['as_of']}: " + ", ".join(f"{k} {v:,}" for k, v in bands.items())
                  + f"; weights fitted on {weights['features_as_of']} -> {weights['label_end']}", highlight=False)
    table = Table(title=f"The {len(red)} red customers who spent most (points per component)")
    table.add_column("customer")
    table.add_column("health", justify="right")
    table.add_column("stage")
    table.add_column("spend", justify="right")
    used = [c for c in COMPONENTS if weights["weights"][c] > 0]
    for c in used:
        table.add_column(c, justify="right")
    for cid, r in red.iterrows():
        table.add_row(str(cid), f"{r.health:.0f}", str(r.stage), f"{r.spend:,.2f}", *(f"{r[f'points_{c}']:.1f}" for c in used))
    _show(table)
    unused = [c for c in COMPONENTS if c not in used]
    if unused:
        console.print(f"components with no weight (no data or no signal): {', '.join(unused)}", highlight=False)
    if bt is not None:
        t = Table(title=f"Backtest: scored {bt.attrs['scored_as_of']}, churn = no purchase until "
                        f"{bt.attrs['churn_until']} (AUC {bt.attrs['auc']:.3f})")
        for col in ("band", "customers", "churned", "churn rate %", "predicted %"):
            t.add_column(col, justify="right")
        for band, r in bt.iterrows():
            t.add_row(str(band), f"{int(r.customers):,}", f"{int(r.churned):,}",
                      f"{r.churn_rate:.1f}", f"{r.mean_churn_probability:.1f}")
        _show(t)
