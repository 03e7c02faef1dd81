"""Unit economics by acquisition channel and cohort: what a customer costs, brings and is worth.

One row per group (``by``: ``"channel"`` = ``customers.acquisition_channel``, ``"cohort"`` =
the calendar period of the first purchase), computed by Ibis in the workspace (only the group
rows come to pandas). Definitions (docs/lifecycle.md, "Economics and cohorts"):

- ``customers``: customers whose first purchase (a row not flagged ``is_refund``) is in the group;
  ``orders``: their distinct orders (order id, else purchase day); ``revenue``: their net revenue;
- ``aov`` = revenue / orders; ``purchase_frequency`` = orders per customer-year observed (from
  each first purchase to ``as_of``); ``arpu`` = revenue per customer-year;
- ``repurchase_rate``: share who bought again on a later day;
- ``retention_rate``: of the customers acquired at least 365 days before ``as_of``, the share who
  bought in the last 365 days; ``churn_rate`` = 1 - retention (annual);
- ``margin``: the share of revenue that is margin. From the data when the transactions carry it
  (a line's margin is its ``margin`` column, else ``amount - cost``; the group's share is the
  sum of line margins over the revenue of the lines that have one), else the constant given,
  else 1.0, and then the figures are revenue, not margin (``attrs["margin_source"]`` says which);
- ``retention_cost``: service and loyalty cost per customer-year, the mean
  ``customers.service_cost`` of the group (a customer without one counts 0) unless given;
- ``formula_clv`` = (aov x purchase_frequency x margin - retention_cost) / churn_rate (seed
  003: lifetime, undiscounted, everyone alike) beside ``model_clv``, the mean ``clv`` of the
  ``scores`` table, with ``clv_note`` saying when and why the formula and ``ltv`` (below) disagree;
- ``cac`` = spend / new customers from ``marketing_spend`` (new customers: its
  ``new_customers`` column, else the customers whose first purchase falls in the spend's
  channel and period), or the mean ``customers.acquisition_cost``; ``realised_value``: the margin
  a customer brought from the first purchase to ``as_of`` (revenue x margin / customers); ``ltv`` =
  ``realised_value`` + ``model_clv`` (value from acquisition, as CAC is paid then: the scores'
  CLV alone is only the value still to come); ``ltv_cac`` = LTV (that, else the formula
  CLV) / CAC; ``payback_months``: months from the first purchase until the
  margin a customer brought (averaged over the customers observed that long) covers the CAC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, Hint, Issue, check_param
from clvlab.value.cohorts import (
    PERIODS,
    Period,
    period_start,
    purchase_rows,
    rolling_cells,
    transactions_table,
)

__all__ = ["DEMO_SOURCES", "unit_economics"]

DIMENSIONS = ("channel", "cohort")
#: what a run without spend or acquisition costs says instead of CAC, LTV:CAC and payback
NO_CAC = ("needs marketing_spend: load it with `clvlab load marketing_spend FILE` "
          "(or customers with an acquisition_cost column)")
#: files of the bundled demo whose figures are assumptions, not data (see clvlab.datasets)
DEMO_SOURCES = ("demo_marketing_spend.csv", "demo_customers.csv.gz")
#: formula and model CLV "agree" when their ratio lies within this range
AGREE = (2 / 3, 1.5)
_WHERE = "unit_economics"


def _tables(source: Any) -> list[str]:
    return list(source.tables()) if callable(getattr(source, "tables", None)) else []


def _demo_notes(source: Any, names: Sequence[str]) -> list[str]:
    used: set[str] = set()
    for name in names:
        table = source.table(name)
        if "_source" in table.columns:
            used |= set(table.select("_source").distinct().execute()["_source"].dropna())
    demo = sorted(used & set(DEMO_SOURCES))
    if not demo:
        return []
    return [f"demo assumption: {' and '.join(demo)} are made up for the demo (CDNOW has no channels "
            "or spend): channels follow the customer id, spend an assumed CAC; CAC, LTV:CAC and payback "
            "are illustrations"]


def _customers(source: Any, rows: ir.Table, end: dt.date, by: Sequence[str], period: str) -> ir.Table:
    """One row per acquired customer: group columns, first day, orders, revenue, flags."""
    if "first_day" in rows.columns:  # the run's purchase days: each row one purchase and one order
        per = rows.group_by("customer_id").aggregate(first=rows.day.min(), last=rows.day.max(), orders=rows.count(),
                                                     revenue=rows.amount.sum())
    else:
        per = rows.group_by("customer_id").aggregate(
            first=rows.day.min(where=rows.is_purchase), last=rows.day.max(where=rows.is_purchase),
            orders=rows.order_key.nunique(where=rows.is_purchase),
            revenue=rows.amount.sum(),
        ).filter(lambda t: t["first"].notnull())
    end_lit = ibis.date(end.isoformat())
    per = per.mutate(
        cohort=period_start(per["first"], period),
        repeat=per["last"] > per["first"],
        years=(end_lit.delta(per["first"], unit="day") + 1).cast("float64") / 365.25,
        eligible=per["first"] <= end_lit - ibis.interval(days=365),
        active=per["last"] > end_lit - ibis.interval(days=365),
    )
    if "channel" in by or "customers" in _tables(source):
        per = _with_channel(source, per, required="channel" in by)
    return per


def _with_channel(source: Any, per: ir.Table, *, required: bool) -> ir.Table:
    have = "customers" in _tables(source)
    if required and (not have or "acquisition_channel" not in source.table("customers").columns):
        what = "has no customers table" if not have else "customers have no acquisition_channel"
        msg = f"{_WHERE}: by='channel' needs the customers' acquisition channel, and the workspace {what}"
        raise DataValidationError(msg, hint="load customers with an acquisition_channel column "
                                  "(`clvlab load customers FILE`), or leave channel out of by")
    if not have:
        return per
    cust = source.table("customers")
    keep = {"customer_id": cust["customer_id"].cast("string")}
    if "acquisition_channel" in cust.columns:
        keep["channel"] = cust["acquisition_channel"]
    if "acquisition_cost" in cust.columns:
        keep["acquisition_cost"] = cust["acquisition_cost"].cast("float64")
    if "service_cost" in cust.columns:
        keep["service_cost"] = cust["service_cost"].cast("float64")
    joined = per.left_join(cust.select(**keep), "customer_id").drop("customer_id_right")
    if "channel" in joined.columns:
        joined = joined.mutate(channel=joined["channel"].fill_null("(none)"))
    return joined


def _spend(source: Any, end: dt.date, period: str) -> ir.Table | None:
    """Spend by channel and cohort period up to ``as_of``; a period's negative total is an error."""
    if "marketing_spend" not in _tables(source):
        return None
    spend = source.table("marketing_spend")
    day = spend["period"].cast("date")
    new = spend["new_customers"] if "new_customers" in spend.columns else ibis.null("int64")
    spend = spend.filter(day <= ibis.date(end.isoformat())).mutate(cohort=period_start(day, period))
    grouped = spend.group_by(["channel", "cohort"]).aggregate(
        spend=spend["cost"].cast("float64").sum(), new_customers=new.sum(),
        rows=spend.count(), counted=new.count(),
    )
    bad = grouped.filter(grouped.spend < 0).limit(3).execute()
    if len(bad):
        issues = [Issue("a period's total cost is negative", column="cost", value=float(r.spend),
                        source=f"channel {r.channel}, {period} of {pd.Timestamp(r.cohort).date()}")
                  for r in bad.itertuples()]
        msg = f"{_WHERE}: marketing_spend holds negative spend"
        raise DataValidationError(msg, issues, hint="fix the cost rows and re-load the file "
                                  "(a re-load updates the stored rows)")
    return grouped


def _line_margins(source: Any, end: dt.date) -> tuple[ir.Table, str] | None:
    """Per customer: the margin of the lines that carry one (``margin``, else ``amount - cost``)
    and their revenue, up to ``end``, with the source's name; None when no line carries one."""
    tx = transactions_table(source, _WHERE)
    have = [c for c in ("margin", "cost") if c in tx.columns]
    if not have:
        return None
    tx = tx.filter(tx["customer_id"].notnull() & (tx["ordered_at"].cast("date") <= ibis.date(end.isoformat())))
    amount = tx["amount"].cast("float64")
    given = tx["margin"].cast("float64") if "margin" in have else ibis.null("float64")
    cost = tx["cost"].cast("float64") if "cost" in have else ibis.null("float64")
    line = ibis.coalesce(given, amount - cost)
    per = tx.group_by(customer_id=tx["customer_id"].cast("string")).aggregate(
        margin_amount=line.sum(), costed_revenue=amount.sum(where=line.notnull()),
        known_lines=line.count(), lines=tx.count(),
    )
    counts = tx.aggregate(m=given.count(), c=cost.count()).execute()  # the lines', not the customers' sums
    n_margin, n_cost = (int(counts[k].fillna(0).iloc[0]) for k in ("m", "c"))
    if n_margin + n_cost == 0:
        return None
    name = " and ".join(n for n, k in (("margin", n_margin), ("cost", n_cost)) if k)
    return per, f"from the transactions' {name} column{'s' if ' and ' in name else ''}"


def _cac(per: ir.Table, spend: ir.Table | None, by: Sequence[str]) -> pd.DataFrame | None:
    """CAC inputs per group: spend and the new customers it bought (at the channel x period grain)."""
    if spend is not None:
        if "channel" not in per.columns:
            msg = f"{_WHERE}: marketing_spend is by channel, but the customers have no acquisition channel"
            raise DataValidationError(msg, hint=[Hint("load customers with an acquisition_channel column "
                                                      "(`clvlab load customers FILE`)"),
                                                 Hint("for the figures without CAC", option="cac", value=False)])
        won = per.group_by(["channel", "cohort"]).aggregate(won=per.count())
        cells = spend.left_join(won, ["channel", "cohort"]).drop("channel_right", "cohort_right")
        cells = cells.mutate(
            won=ibis.cases((cells.counted == cells.rows, cells.new_customers), else_=cells.won.fill_null(0))
        )
        keys = list(by)
        agg = cells.group_by(keys).aggregate(spend=cells.spend.sum(), cac_customers=cells.won.sum()) if keys \
            else cells.aggregate(spend=cells.spend.sum(), cac_customers=cells.won.sum())
        frame = agg.execute()
        frame["cac"] = frame["spend"] / frame["cac_customers"].where(frame["cac_customers"] > 0)
        frame["cac_source"] = "marketing_spend"
        return frame
    if "acquisition_cost" in per.columns:
        keys = list(by)
        cost = per["acquisition_cost"]
        agg = per.group_by(keys).aggregate(cac=cost.mean()) if keys else per.aggregate(cac=cost.mean())
        frame = agg.execute()
        frame["cac_source"] = "customers.acquisition_cost"
        return frame if frame["cac"].notna().any() else None
    return None


def _unmatched_spend(cac_frame: pd.DataFrame, frame: pd.DataFrame, by: list[str]) -> list[str]:
    """A note naming spend groups with no acquired customer (a channel spelled otherwise in the
    customers table, a period nobody was won in): their spend is in no row."""
    if not by or "spend" not in cac_frame:
        return []
    orphan = cac_frame.merge(frame[by], on=by, how="left", indicator=True)
    orphan = orphan[(orphan["_merge"] == "left_only") & orphan["spend"].notna()]
    if orphan.empty:
        return []
    shown = ", ".join("/".join(str(_label(r[k])) for k in by) for _, r in orphan.head(3).iterrows())
    more = f" and {len(orphan) - 3} more" if len(orphan) > 3 else ""
    return [f"spend of {orphan['spend'].sum():,.2f} is in no row: no customer was acquired in {shown}{more} "
            "(check the channel names in marketing_spend against customers.acquisition_channel)"]


def _label(value: Any) -> Any:
    return pd.Timestamp(value).date() if isinstance(value, pd.Timestamp | dt.date) else value


def _payback_months(curve: pd.DataFrame, keys: list[str], row: pd.Series) -> float:
    """First month (1 = the month of the first purchase) whose cumulative mean margin per
    customer (the row's margin share of revenue) reaches the row's CAC; NaN when it has not by as_of."""
    margin = float(row["margin"])
    if not np.isfinite(row.get("cac", np.nan)) or not np.isfinite(margin):
        return float("nan")
    sel = curve
    for k in keys:
        sel = sel[sel[k] == row[k]]
    cum = (sel["revenue"] / sel["observed"].where(sel["observed"] > 0)).fillna(0.0).cumsum() * margin
    hit = sel["age"][cum.to_numpy() >= row["cac"]]
    return float(hit.iloc[0] + 1) if len(hit) else float("nan")


def _clv_note(row: pd.Series, horizon: float | None, no_model: str) -> str:
    formula, model, churn = row["formula_clv"], row.get("ltv", np.nan), row["churn_rate"]
    if not np.isfinite(churn):
        return "no formula CLV: no customer was acquired a year before as_of (annual churn unknown)"
    if churn == 0:
        return "no formula CLV: nobody churned (churn rate 0)"
    if not np.isfinite(model):
        return no_model
    ratio = formula / model if model else np.inf
    if AGREE[0] <= ratio <= AGREE[1]:
        return f"agree (formula / LTV = {ratio:.2f})"
    span = f"{horizon:.0f} days, discounted" if horizon else "the scoring horizon, discounted"
    return (f"disagree (formula / LTV = {ratio:.2f}): the formula counts a whole expected lifetime "
            f"(1 / churn = {1 / churn:.1f} years) undiscounted, with every customer at the average rates; "
            f"LTV is the margin realised so far plus the model's next {span}, customer by customer "
            "(one-time buyers who look gone add little)")


def _margin_column(frame: pd.DataFrame, margin: float | None, lines: tuple[ir.Table, str] | None,
                   notes: list[str]) -> tuple[str, float]:
    """Set ``frame["margin"]`` (the share per group) and say where it came from; returns the
    source text and the overall share. A group whose lines carry no margin is NaN (no formula CLV)."""
    if lines is not None:
        costed = frame["costed_revenue"].where(frame["costed_revenue"] != 0)
        frame["margin"] = frame["margin_amount"] / costed
        total = float(frame["costed_revenue"].sum())
        overall = float(frame["margin_amount"].sum()) / total if total else float("nan")
        known, lines_n = int(frame["known_lines"].sum()), int(frame["lines"].sum())
        if known < lines_n:
            notes.append(f"margin measured on the {known:,} of {lines_n:,} transaction lines that carry a margin "
                         "or cost, applied to all of each group's revenue")
        return lines[1], overall
    share = 1.0 if margin is None else float(margin)
    frame["margin"] = share
    if margin is None:
        return "assumed 1.0: revenue, not margin (no transaction line carries a margin or cost)", share
    return f"assumed constant {share:g}", share


def unit_economics(
    source: Any, by: Sequence[str] = ("channel", "cohort"), *, period: Period = "month",
    as_of: str | dt.date | None = None, margin: float | None = None, cac: bool | None = True,
    retention_cost: float | None = None,
) -> pd.DataFrame:
    """CAC, AOV, ARPU, purchase frequency, repurchase, retention, churn, formula vs model CLV,
    LTV:CAC and payback, one row per group (see the module docstring for each definition).

    Parameters
    ----------
    source
        A :class:`clvlab.Workspace` with ``transactions``; ``customers`` (acquisition channel
        or cost), ``marketing_spend`` and ``scores`` are used when present.
    by
        Any of ``"channel"`` and ``"cohort"`` (``()`` for one row over everyone).
    period
        Calendar period of cohorts and of spend: ``"week"``, ``"month"``, ``"quarter"``, ``"year"``.
    as_of
        Last day counted (default: the last order day); outside the data is an error.
    margin
        Share of revenue that is margin, for the formula CLV and payback. None (default): from
        the transactions' ``margin`` or ``cost`` column when lines carry one, else 1.0 (the
        figures are then revenue, not margin, and ``attrs["margin_source"]`` says so).
    retention_cost
        Service and loyalty cost per customer per year (seed 003 counts it in CLV): subtracted
        from the yearly margin in the formula CLV. None (default): the mean
        ``customers.service_cost`` of each group when the customers carry it, else 0.
    cac
        Compute CAC, LTV:CAC and payback; without spend or acquisition costs that is an error
        saying what to load. ``cac=False`` computes the other figures; ``None`` computes CAC when
        the data allows, else the other figures, and ``attrs["cac"]`` says what to load.

    Returns
    -------
    pandas.DataFrame
        One row per group (with its ``margin`` share and ``retention_cost``); ``attrs`` hold
        ``as_of``, ``period``, ``margin`` (the overall share), ``margin_source``,
        ``retention_cost_source`` and ``notes`` (e.g. that the bundled demo spend is an
        assumption).
    """
    by = [by] if isinstance(by, str) else list(by)
    for dim in by:
        check_param(dim in DIMENSIONS, "by", _WHERE, f"a sequence of {list(DIMENSIONS)}", dim)
    check_param(period in PERIODS, "period", _WHERE, f"one of {list(PERIODS)}", period)
    check_param(margin is None or (isinstance(margin, int | float) and 0 < margin <= 1), "margin", _WHERE,
                "a share in (0, 1], or None (from the data)", margin)
    check_param(retention_cost is None or (isinstance(retention_cost, int | float) and math.isfinite(retention_cost)
                                           and retention_cost >= 0),
                "retention_cost", _WHERE, "a cost per customer-year >= 0, or None (from the data)", retention_cost)
    rows, end, last = purchase_rows(source, as_of=as_of, where=_WHERE)
    per = _customers(source, rows, end, by, period)
    cac_frame = None
    if cac is not False:
        spend = _spend(source, end, period) if cac or "channel" in per.columns else None
        cac_frame = _cac(per, spend, by)
        if cac_frame is None and cac:
            msg = f"{_WHERE}: no marketing spend or acquisition cost to compute CAC from"
            raise DataValidationError(msg, hint=[Hint("load spend with `clvlab load marketing_spend FILE` (period, "
                                                      "channel, cost), or customers with an acquisition_cost column"),
                                                 Hint("for the figures without CAC", option="cac", value=False)])
    scores = None
    horizon = None
    notes: list[str] = []
    no_model = "no model CLV: run `clvlab score` (or `clvlab demo`) to write the scores table"
    if "scores" in _tables(source):
        from clvlab.derived import read_derived

        scores = read_derived(source, "scores", columns=("clv",), where=_WHERE)
        if "horizon_days" in scores.columns:
            horizon = scores["horizon_days"].max().execute()
        scored = scores["as_of"].max().execute() if "as_of" in scores.columns else None
        day = None if scored is None or pd.isna(scored) else pd.Timestamp(scored).date()
        if day is not None and day > end == last:
            # scored as of a day after the last order (a run on the 31st, the last sale on the 30th):
            # nothing was bought in between, so the value realised to the last order day is the value
            # realised to the scores' date, and the model's CLV from that date on adds to it
            notes.append(f"model CLV as of {day}, the scores' date; the last order was on {end}, and nothing "
                         "bought after it is counted")
        elif day is not None and day != end:
            no_model = (f"no model CLV: the scores table is as of {day}, not {end}; score as of {end} to compare")
            notes.append(no_model)
            scores = None
    if scores is not None:
        per = per.left_join(scores.select("customer_id", model_clv=scores["clv"].cast("float64")),
                            "customer_id").drop("customer_id_right")
    lines = _line_margins(source, end) if margin is None else None
    if lines is not None:
        per = per.left_join(lines[0], "customer_id").drop("customer_id_right")
    service = retention_cost is None and "service_cost" in per.columns and \
        bool(source.table("customers")["service_cost"].count().execute())  # a column of NULLs says nothing
    aggs = {
        "customers": per.count(), "orders": per.orders.sum(), "revenue": per.revenue.sum(),
        "repeaters": per.repeat.ifelse(1, 0).sum(), "years": per.years.sum(),
        "eligible": per.eligible.ifelse(1, 0).sum(),
        "retained": (per.eligible & per.active).ifelse(1, 0).sum(),
    }
    if scores is not None:
        aggs["model_clv"] = per.model_clv.mean()
    if lines is not None:
        aggs["margin_amount"], aggs["costed_revenue"] = per.margin_amount.sum(), per.costed_revenue.sum()
        aggs["known_lines"], aggs["lines"] = per.known_lines.sum(), per.lines.sum()
    if service:
        aggs["retention_cost"] = per.service_cost.fill_null(0).mean()
    frame = (per.group_by(by).aggregate(**aggs) if by else per.aggregate(**aggs)).execute()
    frame = frame.sort_values(by).reset_index(drop=True) if by else frame
    frame["aov"] = frame["revenue"] / frame["orders"]
    frame["purchase_frequency"] = frame["orders"] / frame["years"]
    frame["arpu"] = frame["revenue"] / frame["years"]
    frame["repurchase_rate"] = frame["repeaters"] / frame["customers"]
    frame["retention_rate"] = frame["retained"] / frame["eligible"].where(frame["eligible"] > 0)
    frame["churn_rate"] = 1 - frame["retention_rate"]
    churn = frame["churn_rate"].where(frame["churn_rate"] > 0)
    margin_source, overall = _margin_column(frame, margin, lines, notes)
    frame["retention_cost"] = frame["retention_cost"].astype(float) if service else float(retention_cost or 0.0)
    upkeep = "customers.service_cost (mean per group; none counts 0)" if service else (
        "given" if retention_cost is not None else "none (0)")
    frame["formula_clv"] = (frame["aov"] * frame["purchase_frequency"] * frame["margin"]
                            - frame["retention_cost"]) / churn
    if "model_clv" not in frame:
        frame["model_clv"] = np.nan
    # value from acquisition, as CAC is paid at acquisition: what customers brought up to as_of
    # plus what the model expects next (scores' clv alone is only the value still to come)
    frame["realised_value"] = frame["revenue"] * frame["margin"] / frame["customers"]
    frame["ltv"] = frame["realised_value"] + frame["model_clv"]
    frame["clv_note"] = [_clv_note(r, horizon, no_model) for _, r in frame.iterrows()]
    if cac_frame is not None:
        frame = frame.merge(cac_frame, on=by, how="left") if by else frame.join(cac_frame)
        notes += _unmatched_spend(cac_frame, frame, by)
        frame["cac_source"] = frame["cac_source"].fillna("none: no spend or acquisition cost for this group")
        frame["ltv_cac"] = frame["ltv"].where(frame["ltv"].notna(), frame["formula_clv"]) / frame["cac"]
        curve = rolling_cells(rows, per, by, end, "month").sort_values([*by, "age"])
        frame["payback_months"] = [_payback_months(curve, by, r) for _, r in frame.iterrows()]
        notes += _demo_notes(source, [t for t in ("marketing_spend", "customers") if t in _tables(source)])
        notes.append("LTV = margin realised per customer to as_of + the model CLV still to come"
                     if scores is not None else f"LTV is the formula CLV ({no_model})")
    if "cohort" in frame:
        frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.date
    frame = frame.drop(columns=["repeaters", "years", "eligible", "retained", "margin_amount", "costed_revenue",
                                "known_lines", "lines"],
                       errors="ignore")
    skipped = cac is None and cac_frame is None
    if skipped:
        notes.append(f"LTV:CAC {NO_CAC}")
    frame.attrs.update(cac=NO_CAC if skipped else None if cac_frame is None else str(cac_frame["cac_source"].iloc[0]),
                       as_of=str(end), period=period, margin=overall, margin_source=margin_source,
                       retention_cost=retention_cost, retention_cost_source=upkeep, by=by, notes=notes)
    return frame
