"""``clvlab actions`` (next best action per customer) and ``clvlab promoters`` (promoters and tiers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    fmt_number,
    new_table,
    out,
    read_frame,
    state,
    styled,
    user_errors,
    write_frame,
)

OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the full list to a CSV, Parquet or JSON file.")]


@user_errors
def actions(
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Customers with the most value at stake.")] = 500,
    rules: Annotated[Path | None, typer.Option("--rules", help="YAML/TOML rule table \\[default: the documented one].")] = None,
    app_store: Annotated[str | None, typer.Option("--app-store", help="App store URL whose open cases count (optional).")] = None,
    include_none: Annotated[bool, typer.Option("--all", help="Keep customers no rule applies to.")] = False,
    output: OutputOpt = None,
    experiment: Annotated[str | None, typer.Option("--experiment", help="Make one action the treatment of this experiment.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="The action to experiment on \\[default: the list's only one].")] = None,
    control: Annotated[float, typer.Option("--control", help="Control share of the experiment.")] = 0.2,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed of the assignment \\[default: a new one, stored].")] = None,
) -> None:
    """Next best action per customer, with its reason and the value at stake (docs/experiments.md)."""
    from clvlab.actions.nba import assign_action, next_best_actions

    store: Any = None
    if app_store is not None:
        from clvlab.store import open_app_store

        store = open_app_store(app_store)
    try:
        with connect_workspace(workspace, read_only=experiment is None) as ws:
            frame = next_best_actions(ws, rules=rules, open_cases=store, top=top, include_none=include_none)
            if experiment is not None and action is not None:
                frame = frame[frame["action"] == action]
            assignment = (assign_action(ws, frame, experiment, action=action, control=control, seed=seed)
                          if experiment is not None else None)
    finally:
        if store is not None:
            store.close()
    if output is not None:
        write_frame(frame.set_index("customer_id"), output)
    if state.json:
        emit_json({"actions": frame.to_dict(orient="records"), "rules": frame.attrs.get("rules"),
                   "high_clv_cut": frame.attrs.get("high_clv_cut"), "mean_clv": frame.attrs.get("mean_clv"),
                   "experiment": None if assignment is None else assignment.to_dict()})
        return
    counts = frame.groupby("action")["value_at_stake"].agg(["size", "sum"]).sort_values("sum", ascending=False)
    table = new_table(f"Next best action: {len(frame):,} customers", ["action", ("customers", "right"),
                      ("value at stake", "right"), "estimated as"])
    basis = dict(zip(frame["action"], frame["value_basis"], strict=True))
    for name, row in counts.iterrows():
        table.add_row(str(name), fmt_number(int(row["size"]), ",d"), fmt_number(row["sum"], ",.0f"), str(basis[str(name)]))
    out.print(table)
    shown = new_table(None, ["customer", "action", ("value", "right"), "reason"])
    for rec in frame.head(20).to_dict(orient="records"):
        shown.add_row(str(rec["customer_id"]), rec["action"], fmt_number(rec["value_at_stake"], ",.0f"), rec["reason"])
    out.print(shown)
    if len(frame) > 20:
        console.print(f"(20 of {len(frame):,} shown; -o FILE writes them all)", highlight=False)
    if assignment is not None:
        d = assignment.definition
        verb = "assigned" if assignment.created else "already assigned (nothing re-drawn)"
        console.print(styled((f"experiment {d.experiment_id} {verb}: {d.name}, {d.customers:,} customers, control "
                              f"{d.control_share:.0%} (seed {d.seed}); analyze it with `clvlab experiment analyze "
                              f"{d.experiment_id}`", "green")), soft_wrap=True)
        for note in assignment.notes:
            console.print(styled(("note:", "yellow"), " ", note), soft_wrap=True)


def _cuts(text: str) -> list[float]:
    from clvlab.errors import ParameterError

    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        msg = f"--tiers expects comma-separated quantiles, e.g. 0.5,0.8,0.95. Got {text!r} instead."
        raise ParameterError(msg) from None


@user_errors
def promoters(
    workspace: WorkspaceOpt = None,
    tiers: Annotated[str, typer.Option("--tiers", help="CLV quantile cut points of the loyalty tiers.")] = "0.5,0.8,0.95",
    tier_names: Annotated[str | None, typer.Option("--tier-names", help="Comma-separated tier names, lowest first.")] = None,
    previous: Annotated[Path | None, typer.Option("--previous", help="An earlier run's workspace (or scores CSV/Parquet): tier movement since.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Promoters shown.")] = 20,
    output: OutputOpt = None,
) -> None:
    """Promoters with CLV, tier and referral potential (VIP / co-creation lists); CLV gap to detractors; tiers."""
    from clvlab.actions.promoters import promoter_list
    from clvlab.data.workspace import connect

    names = [n.strip() for n in tier_names.split(",")] if tier_names else None
    with connect_workspace(workspace, read_only=True) as ws:
        if previous is not None and previous.suffix.lower() in {".csv", ".parquet", ".pq"}:
            report = promoter_list(ws, cuts=_cuts(tiers), names=names, previous=read_frame(previous))
        elif previous is not None:
            with connect(previous, read_only=True) as old:
                report = promoter_list(ws, cuts=_cuts(tiers), names=names, previous=old)
        else:
            report = promoter_list(ws, cuts=_cuts(tiers), names=names)
    if output is not None:
        write_frame(report.promoters.set_index("customer_id"), output)
    if state.json:
        emit_json(report.to_dict())
        return
    g = report.gap
    console.print(f"Promoters' mean CLV {g['promoter_clv']:,.2f} (n={g['promoters']:,}) vs detractors' "
                  f"{g['detractor_clv']:,.2f} (n={g['detractors']:,}): gap {fmt_number(g['clv_gap'], ',.2f')}, "
                  f"{g['level']:.0%} CI {fmt_number(g['lower'], ',.2f')} to {fmt_number(g['upper'], ',.2f')} (Welch)", soft_wrap=True, highlight=False)
    pro = report.promoters
    table = new_table(f"Promoters: {len(pro):,} (VIP {pro['lists'].str.contains('vip').sum():,}, co-creation "
                      f"{pro['lists'].str.contains('co-creation').sum():,})",
                      ["customer", ("NPS", "right"), ("CLV", "right"), ("P(alive)", "right"), "tier", "referral", "lists"])
    for r in pro.head(top).to_dict(orient="records"):
        table.add_row(str(r["customer_id"]), f"{r['score']:g}", fmt_number(r["clv"], ",.2f"),
                      fmt_number(r["p_alive"], ".2f"), str(r["tier"]), r["referral_potential"], r["lists"])
    out.print(table)
    tiers_table = new_table("Loyalty tiers (CLV quantiles)", ["tier", ("from quantile", "right"), ("CLV from", "right"),
                            ("customers", "right"), ("mean CLV", "right"), ("share of CLV", "right")])
    for r in report.tiers.to_dict(orient="records"):
        tiers_table.add_row(r["tier"], f"{r['quantile_from']:g}", fmt_number(r["clv_from"], ",.2f"),
                            fmt_number(r["customers"], ",d"), fmt_number(r["mean_clv"], ",.2f"), f"{r['clv_share']:.1%}")
    out.print(tiers_table)
    if report.transitions is not None:
        m = report.transitions
        moves = new_table("Tier movement (rows: previous run, columns: now; cut at the previous run's CLV values)",
                          ["from", *((str(c), "right") for c in m.columns)])
        for name, row in m.iterrows():
            moves.add_row(str(name), *(fmt_number(int(v), ",d") for v in row))
        out.print(moves)
    for note in report.notes:
        console.print(styled(("note:", "yellow"), " ", note), soft_wrap=True)
