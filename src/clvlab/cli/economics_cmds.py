"""``clvlab cohorts`` and ``clvlab economics``: acquisition cohorts and unit economics."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    import pandas as pd


class PeriodName(StrEnum):
    """Calendar periods of cohorts."""

    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


class CohortMetric(StrEnum):
    """What a cohort cell holds."""

    retention = "retention"
    customers = "customers"
    revenue = "revenue"
    revenue_per_customer = "revenue_per_customer"


class Axis(StrEnum):
    """Columns of the cohort matrix."""

    age = "age"
    rolling = "rolling"
    calendar = "calendar"


class Dimension(StrEnum):
    """Groups of the unit economics."""

    channel = "channel"
    cohort = "cohort"


PeriodOpt = Annotated[PeriodName, typer.Option("--period", help="Calendar period: week, month, quarter, year.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Last day counted, YYYY-MM-DD \\[default: the last order day].")]


def _plain(value: Any) -> Any:
    """A JSON-ready cell: NaN and NA become None, dates ISO strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _period_label(value: Any, period: str) -> str:
    """``1997-01`` for a month, ``1997Q1`` for a quarter, ``1997`` for a year, the date for a week."""
    day = _plain(value)
    if not isinstance(day, str) or len(day) < 10:
        return str(day)
    year, month = day[:4], int(day[5:7])
    return {"month": day[:7], "quarter": f"{year}Q{(month - 1) // 3 + 1}", "year": year}.get(period, day)


def _num(value: Any, spec: str) -> str:
    value = _plain(value)
    return "-" if value is None else format(value, spec)


@user_errors
def cohorts(
    workspace: WorkspaceOpt = None,
    period: PeriodOpt = PeriodName.month,
    metric: Annotated[CohortMetric, typer.Option("--metric", help="retention, customers, revenue or "
                                                 "revenue_per_customer (cumulative, per cohort customer).")]
    = CohortMetric.retention,
    cumulative: Annotated[bool, typer.Option("--cumulative", help="Revenue summed from acquisition on.")] = False,
    axis: Annotated[Axis, typer.Option("--axis", help="Columns: calendar periods since the acquisition "
                                       "period (age), whole periods since each customer's first purchase "
                                       "over the customers observed that long (rolling), or calendar "
                                       "periods.")] = Axis.age,
    as_of: AsOfOpt = None,
) -> None:
    """The acquisition-cohort matrix: one row per cohort (month of the first purchase), one column
    per period since acquisition (or calendar period)."""
    from clvlab.value.cohorts import cohort_matrix

    with connect_workspace(workspace, read_only=True) as ws:
        matrix = cohort_matrix(ws, period.value, metric.value, cumulative=cumulative,
                               axis=axis.value, as_of=as_of)
    if state.json:
        emit_json({**matrix.attrs, "rows": [
            {"cohort": _plain(c), "cohort_size": int(row["cohort_size"]),
             "cells": {str(_plain(k)): _plain(v) for k, v in row.drop("cohort_size").items()}}
            for c, row in matrix.iterrows()]})
        return
    from rich.table import Table

    cells = matrix.drop(columns="cohort_size")
    fit = max(1, (out.width - 22) // (7 if metric is CohortMetric.retention else 12))
    shown = cells.iloc[:, :fit]
    what = "cumulative revenue" if cumulative else metric.value.replace("_", " ")
    head = {"age": "periods since acquisition", "rolling": "rolling periods since the first purchase",
            "calendar": "calendar period"}[axis.value]
    table = Table(title=f"{what} by {period.value} cohort ({head}), as of {matrix.attrs['as_of']}")
    table.add_column("cohort")
    table.add_column("size", justify="right")
    for col in shown.columns:
        table.add_column(_period_label(col, period.value) if axis is Axis.calendar else str(col), justify="right")
    spec = {"retention": ".1%", "customers": ",.0f"}.get(metric.value, ",.0f")
    for cohort, row in shown.iterrows():
        table.add_row(_period_label(cohort, period.value), f"{int(_plain(matrix.at[cohort, 'cohort_size'])):,}",
                      *[_num(v, spec).replace("%", "") if spec == ".1%" else _num(v, spec) for v in row])
    out.print(table)
    if metric is CohortMetric.retention:
        console.print("Cells: % of the cohort who bought in the period.", highlight=False)
    if shown.shape[1] < cells.shape[1]:
        console.print(f"{cells.shape[1] - shown.shape[1]} later column(s) left out to fit the screen; "
                      "--json has them all.", highlight=False)


@user_errors
def economics(
    workspace: WorkspaceOpt = None,
    by: Annotated[list[Dimension] | None, typer.Option(
        "--by", help="Group by channel (customers.acquisition_channel) and/or cohort, repeatable "
        "\\[default: channel and cohort; cohort alone when customers have no channel].")] = None,
    period: PeriodOpt = PeriodName.month,
    as_of: AsOfOpt = None,
    margin: Annotated[float | None, typer.Option("--margin", help="Share of revenue that is margin, in (0, 1] "
                                                 "\\[default: from the transactions' margin or cost column, else "
                                                 "1.0: revenue, not margin].")] = None,
    retention_cost: Annotated[float | None, typer.Option(
        "--retention-cost", help="Service and loyalty cost per customer per year, taken off the formula CLV "
        "\\[default: customers.service_cost, else 0].")] = None,
    no_cac: Annotated[bool, typer.Option("--no-cac", help="Skip CAC, LTV:CAC and payback (no spend "
                                         "loaded).")] = False,
) -> None:
    """CAC, AOV, ARPU, purchase frequency, repurchase, retention and churn, formula vs model CLV,
    LTV:CAC and payback, by acquisition channel and cohort."""
    from clvlab.value.economics import unit_economics

    dims = list(dict.fromkeys(d.value for d in by or ()))
    with connect_workspace(workspace, read_only=True) as ws:
        if not dims:  # channel and cohort, or cohort alone when no customer has a channel
            tables = ws.tables()
            channel = "customers" in tables and "acquisition_channel" in ws.table("customers").columns
            dims = ["channel", "cohort"] if channel else ["cohort"]
        frame = unit_economics(ws, by=dims, period=period.value, as_of=as_of,
                               margin=margin, cac=not no_cac, retention_cost=retention_cost)
    if state.json:
        emit_json({**frame.attrs, "rows": _records(frame)})
        return
    _print_economics(frame, dims)


def _print_economics(frame: pd.DataFrame, dims: list[str]) -> None:
    from rich.table import Table

    attrs = frame.attrs
    value = Table(title=f"What customers bring, as of {attrs['as_of']} (orders and ARPU per customer-year)")
    upkeep = ""
    if attrs.get("retention_cost"):
        upkeep = f", retention cost {attrs['retention_cost']:,.2f}/yr"
    elif str(attrs.get("retention_cost_source", "")).startswith("customers"):
        upkeep = ", retention cost from customers.service_cost"
    cost = Table(title=f"What they cost and are worth (margin {attrs['margin']:.0%}{upkeep})")
    for table in (value, cost):
        for d in dims:
            table.add_column(d)
    for col in ("cust", "AOV", "orders/yr", "ARPU/yr", "rebuy %", "churn %"):
        value.add_column(col, justify="right")
    has_cac = "cac" in frame
    for col in ("CLV formula", "CLV so far", "CLV to come", "LTV", *(("CAC", "LTV:CAC", "payback mo") if has_cac
                                                                     else ())):
        cost.add_column(col, justify="right")
    for row in frame.to_dict("records"):
        group = [_period_label(row[d], attrs["period"]) if d == "cohort" else str(row[d]) for d in dims]
        value.add_row(*group, f"{row['customers']:,}", _num(row["aov"], ",.2f"),
                      _num(row["purchase_frequency"], ".2f"), _num(row["arpu"], ",.2f"),
                      _num(row["repurchase_rate"] * 100, ".1f"), _num(row["churn_rate"] * 100, ".1f"))
        extra = [_num(row["cac"], ",.2f"), _num(row["ltv_cac"], ".2f"), _num(row["payback_months"], ".0f")] \
            if has_cac else []
        cost.add_row(*group, _num(row["formula_clv"], ",.2f"), _num(row["realised_value"], ",.2f"),
                     _num(row["model_clv"], ",.2f"), _num(row["ltv"], ",.2f"), *extra)
    out.print(value)
    out.print(cost)
    source = str(attrs.get("margin_source", ""))
    console.print(f"Margin: {attrs['margin']:.1%}, {source}", style="bold yellow" if "revenue, not margin" in source
                  else None, highlight=False, markup=False)
    notes = [str(n) for n in frame["clv_note"]]
    disagree = [n for n in notes if n.startswith("disagree")]
    if disagree:
        console.print(f"CLV: formula and model disagree in {len(disagree)} of {len(notes)} group(s). Why: "
                      + disagree[0].split("): ", 1)[1], highlight=False, markup=False)
    for note in dict.fromkeys(n for n in notes if not n.startswith(("disagree", "agree"))):
        console.print(f"CLV: {note}", highlight=False, markup=False)
    for note in attrs["notes"]:
        style = "bold yellow" if note.startswith("demo assumption") else None
        console.print(f"Note: {note}", style=style, highlight=False, markup=False)


def print_channel_economics(workspace: Any) -> None:
    """The demo's closing economics: unit economics by channel (the ``economics`` table is by
    channel and cohort; this recomputes by channel alone), with its notes."""
    from clvlab.value.economics import unit_economics

    with connect_workspace(workspace, read_only=True) as ws:
        frame = unit_economics(ws, by=("channel",))
    _print_economics(frame, ["channel"])
