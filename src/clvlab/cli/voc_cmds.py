"""``clvlab voc metrics`` and ``clvlab voc drivers``: feedback metrics and NPS drivers."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

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
    user_errors,
)

if TYPE_CHECKING:
    import pandas as pd


class MetricName(StrEnum):
    """Survey metrics."""

    nps = "nps"
    csat = "csat"
    ces = "ces"


class Target(StrEnum):
    """What the driver model explains."""

    score = "score"
    net = "net"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(zip(map(str, frame.columns), row, strict=True)) for row in frame.itertuples(index=False)]


def _fmt(value: Any, spec: str = ".1f") -> str:
    return fmt_number(value, spec)


@user_errors
def voc_metrics(
    metric: Annotated[MetricName, typer.Option("--metric", help="nps, csat or ces.")] = MetricName.nps,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Dimension, repeatable: store, product, channel, touchpoint, survey, month, week, "
        "stage, segment, or any feedback column.")] = None,
    workspace: WorkspaceOpt = None,
    min_n: Annotated[int, typer.Option("--min-n", help="Groups with fewer responses are marked small.")] = 30,
    level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
) -> None:
    """NPS / CSAT / CES with n and confidence intervals, by any dimension (small groups marked)."""
    from clvlab.voc.metrics import feedback_metrics

    with connect_workspace(workspace, read_only=True) as ws:
        frame = feedback_metrics(ws, metric=metric.value, by=tuple(by or ()), min_n=min_n, level=level)
    if state.json:
        emit_json(_records(frame))
        return
    dims: list[str] = frame.attrs["by"]
    title = f"{metric.value.upper()} with {level:.0%} intervals"
    extra = "promoters / passives / detractors %" if metric is MetricName.nps else "mean (interval)"
    if metric is MetricName.ces:
        extra = "share easy % (interval)"
    table = new_table(title, [*dims, ("n", "right"), (metric.value.upper(), "right"), ("interval", "right"),
                              (extra, "right")])
    for row in frame.to_dict("records"):
        small = bool(row["small_sample"])
        if metric is MetricName.nps:
            detail = (f"{_fmt(row['share_promoters'], '.0f')} / {_fmt(row['share_passives'], '.0f')} / "
                      f"{_fmt(row['share_detractors'], '.0f')}")
        elif metric is MetricName.csat:
            detail = f"{_fmt(row['mean'], '.2f')} ({_fmt(row['mean_lower'], '.2f')}-{_fmt(row['mean_upper'], '.2f')})"
        else:
            detail = f"{_fmt(row['share'])} ({_fmt(row['share_lower'])}-{_fmt(row['share_upper'])})"
        spec = ".2f" if metric is MetricName.ces else ".1f"
        cells = [fmt_label(row[d]) for d in dims]
        cells += [f"{fmt_number(row['n'])}{' *' if small else ''}", _fmt(row["value"], spec),
                  f"{_fmt(row['lower'], spec)} to {_fmt(row['upper'], spec)}", detail]
        table.add_row(*cells, style="dim" if small else None)
    out.print(table)
    n_small = int(frame["small_sample"].sum())
    if n_small:
        console.print(f"* {n_small} group(s) with n < {min_n}: shown, but read their intervals, not the point value.")


@user_errors
def voc_drivers(
    metric: Annotated[MetricName, typer.Option("--metric", help="Only nps is supported.")] = MetricName.nps,
    driver: Annotated[list[str] | None, typer.Option(
        "--driver", help="Driver, repeatable: touchpoint, channel, store, product, themes (topics of "
        "the comments), ... \\[default: touchpoint and themes].")] = None,
    target: Annotated[Target, typer.Option("--target", help="Explain the 0-10 score or the net "
                                           "promoter indicator.")] = Target.score,
    workspace: WorkspaceOpt = None,
    min_n: Annotated[int, typer.Option("--min-n", help="Levels with fewer responses are marked small.")] = 30,
) -> None:
    """Which touchpoints and attributes explain NPS (Shapley share of R^2) and each level's NPS gap."""
    from clvlab.errors import ParameterError
    from clvlab.voc.drivers import nps_drivers
    from clvlab.voc.feedback import DIMENSIONS

    if metric is not MetricName.nps:
        msg = f"voc drivers explains NPS only. Got --metric {metric.value} instead."
        raise ParameterError(msg)
    names = [DIMENSIONS.get(d, d) for d in (driver or ["touchpoint", "themes"])]
    with connect_workspace(workspace, read_only=True) as ws:
        frame = nps_drivers(ws, drivers=names, target=target.value, min_n=min_n)
    if state.json:
        emit_json({"r2": frame.attrs["r2"], "n": frame.attrs["n"], "method": frame.attrs["method"],
                   "target": frame.attrs["target"], "drivers": _records(frame)})
        return
    table = new_table(f"NPS drivers (R^2 = {fmt_number(frame.attrs['r2'], '.3f')}, n = {fmt_number(frame.attrs['n'])})",
                      ["driver", "level", ("share of R^2 %", "right"), ("n", "right"), ("NPS", "right"),
                       ("gap vs rest", "right"), ("gap interval", "right")])
    for row in frame.to_dict("records"):
        small = bool(row["small_sample"])
        table.add_row(
            str(row["driver"]), fmt_label(row["level"]), _fmt(row["importance_pct"]),
            f"{fmt_number(row['n'])}{' *' if small else ''}", _fmt(row["nps"]), _fmt(row["gap"], "+.1f"),
            f"{_fmt(row['gap_lower'], '+.1f')} to {_fmt(row['gap_upper'], '+.1f')}",
            style="dim" if small else None,
        )
    out.print(table)
