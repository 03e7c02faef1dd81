"""``clvlab experiment design|assign|analyze|list|stop``: control-group experiments."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    fmt_label,
    fmt_number,
    new_table,
    out,
    state,
    styled,
    user_errors,
)

experiment_app = typer.Typer(help="Control-group experiments: design, assign, analyze, list.", no_args_is_help=True)


class Metric(StrEnum):
    """Metrics of an experiment (docs/experiments.md)."""

    retention = "retention"
    repurchase = "repurchase"
    spend = "spend"
    clv = "clv"
    p_alive = "p_alive"
    nps = "nps"


class Adjust(StrEnum):
    """The primary analysis."""

    cuped = "cuped"
    regression = "regression"
    none = "none"


class Correction(StrEnum):
    """Multiple-metric adjustment."""

    holm = "holm"
    bh = "bh"


IdArg = Annotated[str, typer.Argument(help="The experiment id, e.g. winback-q1.")]


@experiment_app.command("design")
@user_errors
def design(
    metric: Annotated[Metric, typer.Option("--metric", help="The primary metric.")] = Metric.repurchase,
    baseline: Annotated[float, typer.Option("--baseline", help="Control rate (proportions) or mean.")] = 0.22,
    mde: Annotated[float, typer.Option("--mde", help="Minimum detectable effect, absolute (0.03 = 3 points).")] = 0.03,
    sd: Annotated[float | None, typer.Option("--sd", help="Standard deviation per customer (means).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Two-sided significance level.")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Power.")] = 0.8,
    control: Annotated[float, typer.Option("--control", help="Share of the control arm.")] = 0.5,
    cuped_r2: Annotated[float, typer.Option("--cuped-r2", help="Variance share CUPED removes (r^2 with the pre-period value).")] = 0.0,
    inflow: Annotated[float | None, typer.Option("--inflow-per-week", help="Eligible customers per week.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Sample size per arm and duration for a minimum detectable effect."""
    from clvlab.experiments.design import design_experiment

    kwargs: dict[str, Any] = {"baseline": baseline, "mde": mde, "sd": sd, "alpha": alpha, "power": power,
                              "control": control, "cuped_r2": cuped_r2, "inflow_per_week": inflow}
    if workspace is not None:
        with connect_workspace(workspace, read_only=True) as ws:
            result = design_experiment(metric.value, workspace=ws, **kwargs)
    else:
        result = design_experiment(metric.value, **kwargs)
    if state.json:
        emit_json(result.to_dict())
        return
    table = new_table(f"Design: {result.metric} ({result.method})", ["", ("value", "right")])
    for label, value in (("baseline", result.baseline), ("minimum detectable effect", result.mde),
                         ("alpha (two-sided)", result.alpha), ("power", result.power),
                         ("control share", result.control), ("CUPED r^2", result.cuped_r2),
                         ("control customers", result.n_control), ("treatment customers", result.n_treatment),
                         ("total customers", result.n_total), ("total without CUPED", result.n_without_cuped),
                         ("eligible inflow per week", result.inflow_per_week), ("weeks", result.weeks)):
        table.add_row(label, fmt_number(value, ",.4g"))
    out.print(table)
    for note in result.notes:
        console.print(styled(("note:", "yellow"), " ", note), soft_wrap=True)


@experiment_app.command("assign")
@user_errors
def assign_cmd(
    experiment_id: IdArg,
    workspace: WorkspaceOpt = None,
    segment: Annotated[list[str] | None, typer.Option("--segment", help="RFM segment(s) eligible (repeatable).")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Lifecycle stage(s) eligible (repeatable).")] = None,
    control: Annotated[float, typer.Option("--control", help="Share of the control arm.")] = 0.2,
    stratify_by: Annotated[str, typer.Option("--stratify-by", help="stage, segment, a customers column, or none.")] = "stage",
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed \\[default: a new one, stored].")] = None,
    allow_overlap: Annotated[bool, typer.Option("--allow-overlap", help="Let customers treated by a running experiment enter.")] = False,
    holdout: Annotated[float | None, typer.Option("--holdout", help="Set the workspace's global holdout share (0.01-0.10).")] = None,
    assigned_at: Annotated[str | None, typer.Option("--assigned-at", help="Assignment time \\[default: now]; a past day replays a campaign.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A title for the experiment.")] = None,
    arms: Annotated[str | None, typer.Option("--arms", help="More arms: control:0.2,email:0.4,sms:0.4 (replaces --control).")] = None,
) -> None:
    """Assign eligible customers to control and treatment(s): stratified, seeded, stored; re-running is a no-op."""
    from clvlab.experiments.assignment import assign

    with connect_workspace(workspace) as ws:
        result = assign(ws, experiment_id, segment=segment or None, stage=stage or None, control=control,
                        stratify_by=None if stratify_by.lower() == "none" else stratify_by, seed=seed,
                        allow_overlap=allow_overlap, holdout=holdout, assigned_at=assigned_at, name=name, arms=arms)
    if state.json:
        emit_json(result.to_dict())
        return
    d = result.definition
    names = [c for c in result.strata.columns if c != "control_share"]
    table = new_table(f"Experiment {d.experiment_id}: {d.customers:,} customers (seed {d.seed})",
                      ["stratum", *((a, "right") for a in names), ("control share", "right")])
    for stratum, row in result.strata.iterrows():
        table.add_row(str(stratum) or "(all)", *(fmt_number(int(row[a])) for a in names),
                      f"{row['control_share']:.1%}")
    out.print(table)
    verb = "assigned" if result.created else "already assigned (nothing re-drawn)"
    console.print(f"{d.experiment_id} {verb} at {fmt_label(d.assigned_at)}; planned control share "
                  f"{d.control_share:.0%}; left out: {result.excluded_holdout:,} in the global holdout "
                  f"({d.holdout_share:.0%}), {result.excluded_overlap:,} treated by running experiments", soft_wrap=True)
    for note in result.notes:
        console.print(styled(("note:", "yellow"), " ", note), soft_wrap=True)


@experiment_app.command("analyze")
@user_errors
def analyze(
    experiment_id: IdArg,
    workspace: WorkspaceOpt = None,
    metric: Annotated[list[Metric] | None, typer.Option("--metric", help="Metric(s) (repeatable) \\[default: the experiment's].")] = None,
    pre_period: Annotated[str | None, typer.Option("--pre-period", help="FIRST:LAST days of the pre period.")] = None,
    post_period: Annotated[str | None, typer.Option("--post-period", help="FIRST:LAST days of the post period.")] = None,
    adjust: Annotated[Adjust, typer.Option("--adjust", help="Primary analysis.")] = Adjust.cuped,
    correction: Annotated[Correction, typer.Option("--correction", help="Multiple-metric adjustment.")] = Correction.holm,
    winsorize: Annotated[float, typer.Option("--winsorize", help="Percentile capping money metrics (100: none).")] = 99.0,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for money metrics (0: none).")] = 2000,
    control: Annotated[float | None, typer.Option("--control", help="Planned control share for the SRM check \\[default: the experiment's].")] = None,
) -> None:
    """Effect of the treatment on each metric, with 95% intervals, CUPED, SRM check and Holm/BH."""
    from clvlab.experiments.analyze import analyze_experiment

    with connect_workspace(workspace, read_only=True) as ws:
        result = analyze_experiment(
            ws, experiment_id, metrics=[m.value for m in metric] if metric else None,
            pre_period=_period(pre_period, "--pre-period"), post_period=_period(post_period, "--post-period"),
            adjust=adjust.value, correction=correction.value, winsorize=None if winsorize >= 100 else winsorize,
            bootstrap=bootstrap, control=control)
    if state.json:
        emit_json(result.to_dict())
        return
    srm = result.srm
    if result.name != experiment_id:
        console.print(styled((f"{experiment_id}: {result.name}", "bold")), soft_wrap=True)
    console.print(styled((srm["text"], "bold red" if srm["flagged"] else "green")), soft_wrap=True)
    table = new_table(
        f"Experiment {experiment_id}: {result.n_control:,} control, {result.n_treatment:,} treatment; post "
        f"{result.post_period[0]} to {result.post_period[1]}, pre {result.pre_period[0]} to {result.pre_period[1]}",
        ["metric", ("n C / T", "right"), ("control", "right"), ("treatment", "right"), ("effect", "right"),
         ("95% CI", "right"), ("relative", "right"), ("raw CI", "right"), ("narrowed", "right"),
         ("p adj", "right"), ("bootstrap CI", "right")])
    for name, r in result.metrics.iterrows():
        boot = "" if r["bootstrap_lower"] is None or r["bootstrap_lower"] != r["bootstrap_lower"] else \
            f"{r['bootstrap_lower']:,.3g} to {r['bootstrap_upper']:,.3g}"
        table.add_row(str(name), f"{r['n_control']:,} / {r['n_treatment']:,}", f"{r['mean_control']:,.4g}",
                      f"{r['mean_treatment']:,.4g}", f"{r['effect']:,.3g}", f"{r['lower']:,.3g} to {r['upper']:,.3g}",
                      fmt_number(r["relative"], "+.1%"), f"{r['raw_lower']:,.3g} to {r['raw_upper']:,.3g}",
                      fmt_number(r["narrowing"], ".0%"), fmt_number(r["p_adjusted"], ".3g"), boot)
    out.print(table)
    from clvlab.experiments.analyze import CORRECTION_NAMES

    over = (f"{len(result.metrics)} metrics" if len(result.arms) <= 2 else
            f"{len(result.arms) - 1} arms x {len(result.metrics) // (len(result.arms) - 1)} metrics, each arm against control")
    console.print(f"Primary analysis: {result.adjust}; p-values {CORRECTION_NAMES[result.correction]}-adjusted "
                  f"over {over}; money metrics winsorized at the "
                  f"{result.winsor_percentile or 100:g}th percentile (pooled arms).", soft_wrap=True)
    for line in result.summaries:
        console.print(f"- {line}", soft_wrap=True)
    for note in result.notes:
        console.print(styled(("note:", "yellow"), " ", note), soft_wrap=True)


def _period(text: str | None, flag: str) -> tuple[str, str] | None:
    from clvlab.errors import ParameterError

    if text is None:
        return None
    first, sep, last = text.partition(":")
    if not sep or not first or not last:
        msg = f"{flag} expects FIRST:LAST (e.g. {flag} 1998-01-01:1998-06-30). Got {text!r} instead."
        raise ParameterError(msg)
    return first.strip(), last.strip()


@experiment_app.command("list")
@user_errors
def list_cmd(workspace: WorkspaceOpt = None) -> None:
    """Experiments of the workspace with their arms, status and seed."""
    from clvlab.experiments.definitions import global_holdout, list_experiments

    with connect_workspace(workspace, read_only=True) as ws:
        frame = list_experiments(ws)
        holdout = global_holdout(ws)
    if state.json:
        emit_json({"global_holdout": holdout, "experiments": frame.to_dict(orient="records")})
        return
    table = new_table(f"Experiments (global holdout {holdout:.0%})", ["id", "status", ("control", "right"),
                      ("treatment", "right"), "assigned at", ("control share", "right"), "stratified by", ("seed", "right")])
    for _, r in frame.iterrows():
        table.add_row(str(r["experiment_id"]), str(r["status"]), fmt_number(int(r["control"])),
                      fmt_number(int(r["treatment"])), fmt_label(r["assigned_at"]),
                      fmt_number(r["control_share"], ".0%"), fmt_label(r["stratify_by"]), fmt_label(r["seed"]))
    out.print(table)


@experiment_app.command("stop")
@user_errors
def stop(experiment_id: IdArg, workspace: WorkspaceOpt = None) -> None:
    """Mark an experiment stopped: its treated customers may enter new experiments."""
    from clvlab.experiments.definitions import stop_experiment

    with connect_workspace(workspace) as ws:
        d = stop_experiment(ws, experiment_id)
    if state.json:
        emit_json(d.to_dict())
        return
    console.print(f"{experiment_id} stopped")
