"""``clvlab churn watchlist`` and ``clvlab churn evaluate``: the churn early warning."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    user_errors,
    write_frame,
)

if TYPE_CHECKING:
    import pandas as pd

churn_app = typer.Typer(help="Churn early warning: who is about to leave, how much CLV leaves with them, why.",
                        no_args_is_help=True)

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Date the figures hold as of; must lie inside "
                                             "the data.")]
WindowOpt = Annotated[int | None, typer.Option("--window", min=1, help="Churn = no purchase in this many days "
                                               "\\[default: 90, see docs/lifecycle.md].")]
AppStoreOpt = Annotated[str | None, typer.Option("--app-store", help="Application store URL: open cases become "
                                                 "a feature.")]


def _stored(ws: Any, as_of: str | None, window: int | None) -> pd.DataFrame | None:
    """The ``churn`` table of the last run when it holds as of ``as_of`` (and for ``window``)."""
    import pandas as pd

    from clvlab.derived import read_derived

    table = read_derived(ws, "churn", where="clvlab churn watchlist", missing_ok=True)
    if table is None:
        return None
    try:
        asked = None if as_of is None else pd.Timestamp(as_of).date().isoformat()
    except (TypeError, ValueError):
        return None  # computing says what is wrong with the date
    frame = table.execute()
    if frame.empty:
        return None
    stored_as_of = pd.Timestamp(frame["as_of"].iloc[0]).date().isoformat() if "as_of" in frame else None
    if asked is not None and stored_as_of != asked:
        return None
    if window is not None and "window_days" in frame and int(frame["window_days"].iloc[0]) != window:
        return None
    frame = frame.set_index("customer_id").sort_values("rank")
    frame.attrs.update(as_of=stored_as_of, window=int(frame["window_days"].iloc[0]) if "window_days" in frame
                       else None, source="table 'churn' (run " + str(frame["run_id"].iloc[0]) + ")")
    return frame


def _reasons(row: Any, none: str) -> str:
    """The row's reasons; ``none`` (the report's "no single reason stands out") when none was
    strong enough, blank below the ranks whose reasons the ``churn`` table keeps."""
    from clvlab.cli._common import is_missing
    from clvlab.lifecycle.churn_table import REASONS

    why = "; ".join(str(row[c]) for c in ("reason_1", "reason_2", "reason_3") if not is_missing(row.get(c)))
    return why or (none if row["rank"] <= REASONS else "")


@churn_app.command("watchlist")
@user_errors
def watchlist(
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many customers (most CLV at risk first).")] = 200,
    as_of: AsOfOpt = None,
    window: WindowOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the rows to this CSV "
                                                "(.parquet, .json) file.")] = None,
    app_store: AppStoreOpt = None,
) -> None:
    """At-risk customers ranked by CLV at risk = churn probability x CLV, with their top reasons.

    Reads the table 'churn' of the last `clvlab run` when it holds as of the date; otherwise
    fits the churn model on the workspace and scores (needs the table 'scores').
    """
    from contextlib import nullcontext

    from clvlab.lifecycle.churn_table import churn_watchlist
    from clvlab.store import open_app_store

    with connect_workspace(workspace, read_only=True) as ws:
        frame = _stored(ws, as_of, window) if app_store is None else None
        if frame is None:
            with open_app_store(app_store) if app_store else nullcontext() as store:
                frame = churn_watchlist(ws, as_of=as_of, window=window, app_store=store, reasons=top)
            frame.attrs["source"] = "computed now"
    rows = frame.head(top)
    keep = ["rank", "p_churn", "clv", "clv_at_risk", "reason_1", "reason_2", "reason_3",
            *[c for c in ("since_days", "days_since_last", "gap_ratio", "nps_latest") if c in rows.columns]]
    rows = rows[keep]
    if output is not None:
        write_frame(rows, output)
    if state.json:
        emit_json({"as_of": frame.attrs.get("as_of"), "window_days": frame.attrs.get("window"),
                   "source": frame.attrs.get("source"), "customers": len(frame),
                   "clv_at_risk": float(frame["clv_at_risk"].sum()),
                   "watchlist": rows.reset_index().to_dict(orient="records"),
                   "output": None if output is None else str(output)})
        return
    print_watchlist(rows, f"Churn watchlist as of {frame.attrs.get('as_of')}: the {len(rows):,} customers with "
                          f"the most CLV at risk (churn = no purchase in {frame.attrs.get('window')} days)")
    console.print(f"{len(frame):,} customers, CLV at risk {frame['clv_at_risk'].sum():,.0f} in total; "
                  f"from {frame.attrs.get('source')}" + (f"; rows written to {output}" if output else ""),
                  highlight=False)


def print_watchlist(rows: pd.DataFrame, title: str, target: Any = out) -> None:
    """The watchlist rows as a table on stdout, or on ``target`` (``clvlab demo``: stderr)."""
    from clvlab.lifecycle.churn import MIN_CONTRIBUTION
    from clvlab.report.labels import labels

    none = labels("en")["no_reason"].format(points=100 * MIN_CONTRIBUTION)
    table = new_table(title, [("rank", "right"), "customer", ("P(churn)", "right"), ("CLV", "right"),
                              ("CLV at risk", "right"), "reasons"])
    for cid, r in rows.iterrows():
        table.add_row(fmt_number(int(r["rank"])), str(cid), fmt_number(r["p_churn"], ".2f"),
                      fmt_number(r["clv"], ",.0f"), fmt_number(r["clv_at_risk"], ",.0f"), _reasons(r, none))
    target.print(table)


@churn_app.command("evaluate")
@user_errors
def evaluate(
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    window: WindowOpt = None,
    app_store: AppStoreOpt = None,
    history: Annotated[bool, typer.Option("--history", help="Add the purchase-history features (counts and spend "
                                          "over 30/180/365 days, gap spread, Pareto/NBD's scores).")] = False,
) -> None:
    """Out-of-time AUC, top-decile lift and calibration of the churn model against its baselines."""
    from contextlib import nullcontext

    from clvlab.lifecycle.churn_eval import churn_evaluate
    from clvlab.store import open_app_store

    with connect_workspace(workspace, read_only=True) as ws, \
            (open_app_store(app_store) if app_store else nullcontext()) as store:
        table = churn_evaluate(ws, as_of=as_of, window=window, app_store=store, history=history)
    a = table.attrs
    calibration = a["calibration"]
    if state.json:
        emit_json({k: v for k, v in a.items() if k != "calibration"} | {
            "scores": table.reset_index().to_dict(orient="records"),
            "calibration": {name: c.reset_index().to_dict(orient="records") for name, c in calibration.items()}})
        return
    t = new_table(f"Churn = no purchase in ({a['features_as_of']}, {a['label_end']}], scored as of "
                  f"{a['features_as_of']} ({a['customers']:,} customers, churn rate {100 * a['churn_rate']:.1f}%)",
                  ["score", ("AUC", "right"), ("top-decile lift", "right"), ("top-decile churn %", "right")])
    for name, r in table.iterrows():
        t.add_row(str(name), fmt_number(r["auc"], ".4f"), fmt_number(r["top_decile_lift"], ".3f"),
                  fmt_number(100 * r["top_decile_churn_rate"], ".1f"))
    out.print(t)
    c = new_table("Calibration of the model by decile of its score (1 = lowest)",
                  [("decile", "right"), ("customers", "right"), ("predicted %", "right"), ("observed %", "right")])
    for decile, r in calibration["model"].iterrows():
        c.add_row(str(decile), fmt_number(int(r["customers"])), fmt_number(100 * r["predicted"], ".1f"),
                  fmt_number(100 * r["observed"], ".1f"))
    out.print(c)
    aucs = table["auc"].astype(float)
    better, vs, voc = a["better_baseline"], a["versus_better_baseline"], a["voc_contribution"]
    verdict = "above" if vs["lower"] > 0 else "below" if vs["upper"] < 0 else "level with"
    console.print(f"model{' with the purchase-history features' if a['history'] else ''} trained on features as of {', '.join(a['train_features_as_of'])}; better baseline: "
                  f"{better} (AUC {aucs[better]:.4f}); the model is {verdict} it: AUC difference "
                  f"{_interval(vs)}; the voice of the customer adds {_interval(voc)}; "
                  f"{a['has_feedback']:,} customers had answered a survey by {a['features_as_of']}", highlight=False)


def _interval(d: dict[str, float]) -> str:
    return (f"{d['difference']:+.4f} (95% paired bootstrap over customers, {d['resamples']:,} resamples: "
            f"{d['lower']:+.4f} to {d['upper']:+.4f})")
