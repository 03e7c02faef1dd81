"""``clvlab leads``: prospects ranked by lead score, with their drivers and the out-of-time evaluation."""

from __future__ import annotations

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
    state,
    styled,
    user_errors,
)


def evaluation_line(ev: dict[str, Any] | None) -> str:
    """One line: the model's out-of-time AUC and top-decile conversion against the baseline."""
    if not ev:
        return "Lead score evaluation: not run."
    if "error" in ev:
        return f"Lead score evaluation: {ev['error']}."
    return (f"Lead score, out of time (trained on prospects as of {ev['trained_on']}, judged on the "
            f"{ev['n_test']:,} as of {ev['evaluated_on']}): AUC {ev['auc']:.3f} vs {ev['baseline_auc']:.3f} for "
            f"{ev['baseline']}; top decile converts {ev['top_decile_rate']:.1%} vs base rate {ev['base_rate']:.1%} "
            f"(lift {ev['lift']:.2f}; baseline {ev['baseline_lift']:.2f}).")


def print_leads_record(record: dict[str, Any]) -> None:
    """The demo's lines on prospects (a :class:`clvlab.pipeline.PipelineRun` ``leads`` record)."""
    if not record:
        return
    if "error" in record:
        console.print(f"Lead score: not computed ({record['error']})", highlight=False, markup=False)
        return
    console.print(styled(("Prospects: ", "bold"), f"{record['n_prospects']:,} scored as of {record['as_of']}, "
                         "the last first purchase (the latest day with conversions to learn from), "
                         f"for their chance of a first purchase within {record['window_days']} days; table 'leads'"))
    console.print(evaluation_line(record.get("evaluation")), highlight=False, markup=False)
    for note in record.get("notes", ()):
        console.print(f"Note: {note}", style="bold yellow", highlight=False, markup=False)


def _evaluation_table(ev: dict[str, Any]) -> Any:
    table = new_table(f"Out-of-time evaluation: features as of {ev['evaluated_on']}, first purchase by "
                      f"{ev['label_end']} (model trained as of {ev['trained_on']})",
                      ["ranking", ("AUC", "right"), ("top-decile conversion", "right"), ("lift", "right")])
    table.add_row("lead score", f"{ev['auc']:.3f}", f"{ev['top_decile_rate']:.1%}", f"{ev['lift']:.2f}")
    table.add_row(f"baseline: {ev['baseline']}", f"{ev['baseline_auc']:.3f}",
                  f"{ev['baseline_top_decile_rate']:.1%}", f"{ev['baseline_lift']:.2f}")
    table.add_row("base rate (everyone)", "0.500", f"{ev['base_rate']:.1%}", "1.00")
    return table


@user_errors
def leads(
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Show the N most likely prospects.")] = 20,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Scoring date \\[default: the last first "
                                              "purchase, the latest date with conversions to learn from].")] = None,
    window: Annotated[int, typer.Option("--window", min=1, help="Days in which a first purchase counts "
                                        "as a conversion.")] = 30,
    evaluate: Annotated[bool, typer.Option("--evaluate", help="Also print the out-of-time evaluation "
                                           "table (AUC, top-decile conversion, lift vs a baseline).")] = False,
) -> None:
    """Prospects (people in events or customers without a purchase) ranked by lead score: the
    probability of a first purchase within --window days, with the features that drive it."""
    from clvlab.lifecycle.leads import lead_scores

    with connect_workspace(workspace, read_only=True) as ws:
        frame = lead_scores(ws, as_of=as_of, window=window, evaluate=True)
    attrs = frame.attrs
    shown = frame.head(top)
    if state.json:
        emit_json({**attrs, "n_prospects": len(frame),
                   "prospects": shown.reset_index().to_dict(orient="records")})
        return
    table = new_table(f"Top {len(shown):,} of {len(frame):,} prospects as of {attrs['as_of']}: chance of a first "
                      f"purchase within {attrs['window_days']} days",
                      ["#", "prospect", ("lead score", "right"), ("days since event", "right"),
                       (f"events {30}d", "right"), "top drivers (log-odds)"])
    for cid, row in shown.iterrows():
        table.add_row(str(row["rank"]), str(cid), f"{row['lead_score']:.1%}",
                      fmt_number(row["days_since_last_event"], ",.0f"), fmt_number(row["events_30d"]),
                      str(row["drivers"]))
    out.print(table)
    console.print(styled("Trained on ", (f"{attrs['n_train']:,}", "bold"), f" prospects as of {attrs['trained_on']}, "
                         f"{attrs['base_rate']:.1%} of whom bought within {attrs['window_days']} days; "
                         f"model: {attrs['model']}."))
    ev = attrs["evaluation"]
    if evaluate and ev and "error" not in ev:
        out.print(_evaluation_table(ev))
    console.print(evaluation_line(ev), highlight=False, markup=False)
    for note in attrs.get("notes", ()):
        console.print(f"Note: {note}", style="bold yellow", highlight=False, markup=False)
