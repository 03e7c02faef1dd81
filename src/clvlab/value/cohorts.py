"""Acquisition cohorts: retention and (cumulative) revenue by period since acquisition.

A customer's **acquisition cohort** is the calendar period (week, month, quarter or year) of
their first purchase (a transaction row not flagged ``is_refund``). A cohort cell holds, for the
cohort's customers and one later period:

- ``customers``: how many made a purchase in that period (every one does in period 0);
- ``retention``: that count over the cohort's size;
- ``revenue``: net revenue of the cohort in that period (refund rows subtract);
- ``cumulative_revenue`` and ``revenue_per_customer`` (cumulative revenue over the cohort size).

Columns are **periods since acquisition** (``axis="age"``: 0 is the acquisition period,
counted in calendar periods, so a January customer's February purchase is month 1), **rolling
periods** since each customer's own first purchase (``axis="rolling"``: month k is days
[k x 30.44, (k+1) x 30.44) after it; a cell counts only the customers observed for the whole of
it, ``observed``, and retention and revenue per customer are over them), or **calendar
periods** (``axis="calendar"``). Everything is aggregated by Ibis in the workspace;
only the cells (cohorts x periods) come to pandas. Cells after ``as_of`` are empty (NaN).

>>> import clvlab
>>> from clvlab.datasets import load_cdnow
>>> with clvlab.connect(":memory:") as ws:
...     _ = ws.load_transactions(load_cdnow("sample"))
...     m = clvlab.cohort_matrix(ws, period="quarter", metric="retention")
>>> m.round(3).iloc[0, 1:5].tolist()       # the Q1 1997 cohort in quarters 0-3
[1.0, 0.222, 0.177, 0.171]
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, Hint, check_param

__all__ = ["cohort_expr", "cohort_matrix", "cohort_table", "purchase_rows"]

Period = Literal["week", "month", "quarter", "year"]
PERIODS: tuple[str, ...] = ("week", "month", "quarter", "year")
METRICS: tuple[str, ...] = ("retention", "revenue", "customers", "revenue_per_customer")
_TRUNC = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_PANDAS_FREQ = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}
#: length of a rolling period, in days
PERIOD_DAYS = {"week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
Axis = Literal["age", "rolling", "calendar"]


def transactions_table(source: Any, where: str) -> ir.Table:
    """The ``transactions`` of a workspace (or an Ibis table), with the columns cohorts need."""
    if isinstance(source, ir.Table):
        table = source
    elif callable(getattr(source, "table", None)):
        table = source.table("transactions")
    else:
        check_param(False, "source", where, "a Workspace or an ibis.Table of transactions",
                    type(source).__name__)
        raise AssertionError  # pragma: no cover
    missing = [c for c in ("customer_id", "ordered_at", "amount") if c not in table.columns]
    if missing:
        msg = f"{where}: the transactions lack column(s) {missing}"
        raise DataValidationError(msg, hint="load them with `clvlab load transactions FILE`")
    return table


def parse_as_of(value: str | dt.date | None, where: str) -> dt.date | None:
    """``as_of`` as a date (None stays None); a located parameter error when it is no date."""
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        check_param(False, "as_of", where, "a date as YYYY-MM-DD", value)
        raise AssertionError from None  # pragma: no cover


def purchase_rows(source: Any, *, as_of: str | dt.date | None, where: str) -> tuple[ir.Table, dt.date, dt.date]:
    """Transaction rows up to ``as_of`` as ``customer_id, day, amount, is_purchase, order_key``,
    the as-of date (default: the last order day) and the last order day.

    ``as_of`` before the first or after the last order day is a located error: the cells after
    the data would read as customers who left.

    Inside a run the rows are the run's purchase days when they stand for the transactions
    exactly (:func:`_days_as_rows`): they then carry ``first_day`` and ``prev_day`` as well,
    which :func:`cohort_expr` and :func:`clvlab.unit_economics` read instead of grouping again.
    """
    rows, first, last = _order_rows(source, where)
    end = _end(first, last, as_of, where)
    return rows.filter(rows.day <= ibis.date(end)), end, last


def _order_rows(source: Any, where: str) -> tuple[ir.Table, dt.date, dt.date]:
    """Every transaction row as :func:`purchase_rows` gives them, and the first and last order day."""
    days = _days_as_rows(source)
    if days is not None:
        from clvlab.lifecycle._features import data_range

        lo, hi = data_range(days)
        return days, lo, hi
    tx = transactions_table(source, where)
    refund = tx["is_refund"].fill_null(False) if "is_refund" in tx.columns else ibis.literal(False)
    day = tx["ordered_at"].cast("date")
    # an order is its id, else its day; without an order id column the day itself (a date: distinct
    # dates are counted faster than their text, 0.9 s instead of 1.3 s on 10M rows)
    order = ibis.coalesce(tx["order_id"].cast("string"), day.cast("string")) if "order_id" in tx.columns else day
    rows = tx.select(
        customer_id=tx["customer_id"].cast("string"), day=day, amount=tx["amount"].cast("float64"),
        is_purchase=~refund, order_key=order,
    ).filter(lambda t: t.customer_id.notnull() & t.day.notnull())
    bounds = rows.aggregate(first=rows.day.min(), last=rows.day.max()).execute()
    first, last = bounds["first"].iloc[0], bounds["last"].iloc[0]
    if pd.isna(first):
        msg = f"{where}: the transactions table holds no dated purchase"
        raise DataValidationError(msg, hint="load transactions with `clvlab load transactions FILE`")
    return rows, pd.Timestamp(first).date(), pd.Timestamp(last).date()


def _end(first: dt.date, last: dt.date, as_of: str | dt.date | None, where: str) -> dt.date:
    """``as_of`` checked to lie within the data (default: the last order day)."""
    end = parse_as_of(as_of, where)
    if end is None:
        return last
    if not first <= end <= last:
        check_param(False, "as_of", where, f"a date within the data, {first} to {last}", str(end),
                    hint=Hint(f"or leave it out: the last order day, {last}", option="as_of", value=str(last)))
    return end


def _days_as_rows(source: Any) -> ir.Table | None:
    """The run's purchase days (:func:`clvlab.lifecycle._features.purchase_days`, held in the
    engine) as the rows of :func:`purchase_rows`, when the transactions have no refund and no
    order id: every row is then a purchase, and an order is a purchase day, so the days carry
    the same customers, orders and revenue in fewer rows, with each customer's first purchase
    day and the purchase day before each row already computed. On 10M rows the cohort cells
    then take 0.9 CPU-seconds instead of 4.7, the customers of the economics 1.0 instead of 4.0.
    None outside a run, or when a refund or an order id is loaded (the rows are then read from
    the transactions)."""
    from clvlab.lifecycle._features import held_purchase_days, shared

    days = held_purchase_days(source)
    if days is None:
        return None

    def plain() -> bool:
        tx = transactions_table(source, "purchase_rows")
        counts = {}
        if "order_id" in tx.columns:
            counts["ids"] = tx["order_id"].count()
        if "is_refund" in tx.columns:
            counts["refunds"] = tx["is_refund"].fill_null(False).ifelse(1, 0).sum()
        if not counts:
            return True
        row = tx.aggregate(**counts).execute().iloc[0]
        return all(pd.isna(v) or int(v) == 0 for v in row)

    if not shared(("plain_purchases", id(source)), plain):
        return None
    return days.select(customer_id=days.cid, day=days.day, amount=days.amount, is_purchase=ibis.literal(True),
                       order_key=days.day, first_day=days.first_day, prev_day=days.prev_day)


def period_start(day: ir.DateValue, period: str) -> ir.DateValue:
    """First day of ``day``'s calendar period (weeks start on Monday)."""
    return day.truncate(_TRUNC[period])


def period_number(day: ir.DateValue, period: str) -> ir.IntegerValue:
    """Consecutive calendar periods get consecutive integers."""
    if period == "month":
        return day.year() * 12 + day.month() - 1
    if period == "quarter":
        return day.year() * 4 + day.quarter() - 1
    if period == "year":
        return day.year().cast("int64")
    return (day.truncate("W").epoch_days() - 4) // 7  # 1970-01-05 was a Monday


def _check(period: str, axis: str, where: str) -> None:
    check_param(period in PERIODS, "period", where, f"one of {list(PERIODS)}", period)
    check_param(axis in ("age", "rolling", "calendar"), "axis", where, "'age', 'rolling' or 'calendar'", axis)


def first_purchases(rows: ir.Table, period: str) -> ir.Table:
    """``customer_id, first, cohort``: each buyer's first purchase day and its period."""
    buys = rows.filter(rows.is_purchase)
    first = buys.group_by("customer_id").aggregate(first=buys.day.min())
    return first.mutate(cohort=period_start(first["first"], period))


def rolling_cells(rows: ir.Table, firsts: ir.Table, keys: list[str], end: dt.date, period: str) -> pd.DataFrame:
    """Per ``keys`` and rolling age k (whole periods since each customer's first purchase): how
    many customers were ``observed`` for all of period k, how many of them bought
    (``customers``) and their net ``revenue``; as pandas, ages 0 .. the longest observed."""
    days = PERIOD_DAYS[period]
    end_lit = ibis.date(end.isoformat())
    observed = ((end_lit.delta(firsts["first"], unit="day") + 1).cast("float64") / days).floor().cast("int64")
    cust = firsts.select(*keys, "customer_id", "first", observed=observed)
    joined = rows.inner_join(cust, "customer_id")
    age = (joined.day.delta(joined["first"], unit="day").cast("float64") / days).floor().cast("int64")
    joined = joined.mutate(age=age).filter(lambda t: t.age < t.observed)
    cells = joined.group_by([*keys, "age"]).aggregate(
        customers=joined.customer_id.nunique(where=joined.is_purchase), revenue=joined.amount.sum()).execute()
    exposure = cust.group_by([*keys, "observed"]).aggregate(n=cust.count()).execute()
    parts = []
    for key, grp in exposure.groupby(keys) if keys else [((), exposure)]:
        ages = np.arange(int(grp["observed"].max()))
        obs, n = grp["observed"].to_numpy(), grp["n"].to_numpy()
        part = pd.DataFrame({"age": ages, "observed": (n[None, :] * (obs[None, :] > ages[:, None])).sum(axis=1)})
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True):
            part[k] = v
        parts.append(part)
    grid = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, "age", "observed"])
    out = grid.merge(cells, on=[*keys, "age"], how="left").fillna({"customers": 0, "revenue": 0.0})
    out["customers"] = out["customers"].astype("int64")
    return out[[*keys, "age", "observed", "customers", "revenue"]]


def cohort_expr(
    source: Any, *, period: Period = "month", axis: Literal["age", "calendar"] = "age",
    as_of: str | dt.date | None = None,
) -> tuple[ir.Table, dt.date]:
    """The observed cohort cells as an Ibis expression, and the as-of date.

    Columns: ``cohort`` (first day of the acquisition period), ``age`` (periods since it) or
    ``period_start`` (calendar axis), ``customers``, ``cohort_size``, ``retention``, ``revenue``,
    ``cumulative_revenue``, ``revenue_per_customer``. Only cells with a transaction appear.
    """
    where = "cohort_matrix"
    _check(period, axis, where)
    rows, end, _ = purchase_rows(source, as_of=as_of, where=where)
    name = "age" if axis == "age" else "period_start"
    if "first_day" in rows.columns:  # the run's purchase days: no join, no distinct count
        cells, sizes = _day_cells(rows, period, axis)
    else:
        first = first_purchases(rows, period)
        sizes = first.group_by("cohort").aggregate(cohort_size=first.customer_id.count())
        joined = rows.inner_join(first, "customer_id")
        column = (period_number(joined.day, period) - period_number(joined["first"], period)) if axis == "age" \
            else period_start(joined.day, period)
        cells = joined.mutate(**{name: column}).group_by(["cohort", name]).aggregate(
            customers=joined.customer_id.nunique(where=joined.is_purchase),
            revenue=joined.amount.sum(),
        )
    cells = cells.inner_join(sizes, "cohort")
    window = ibis.cumulative_window(group_by=cells.cohort, order_by=cells[name])
    cells = cells.mutate(
        retention=cells.customers.cast("float64") / cells.cohort_size,  # PostgreSQL divides integers as integers
        cumulative_revenue=cells.revenue.sum().over(window),
    )
    cells = cells.mutate(revenue_per_customer=cells.cumulative_revenue / cells.cohort_size)
    return cells.order_by(["cohort", name]), end


def _day_cells(days: ir.Table, period: str, axis: str) -> tuple[ir.Table, ir.Table]:
    """The cells and cohort sizes of :func:`cohort_expr` from purchase days (one row per customer
    and day, each with the customer's first purchase day and the purchase day before it): a
    customer bought in a period on the day whose previous purchase day lies in an earlier one,
    so counting those days counts the customers, each once."""
    cohort = period_start(days.first_day, period)
    column = (period_number(days.day, period) - period_number(days.first_day, period)) if axis == "age" \
        else period_start(days.day, period)
    opens = days.prev_day.isnull() | (period_number(days.prev_day, period) != period_number(days.day, period))
    name = "age" if axis == "age" else "period_start"
    cells = days.mutate(cohort=cohort, **{name: column}, opens=opens).group_by(["cohort", name]).aggregate(
        customers=lambda t: t.count(where=t.opens), revenue=lambda t: t.amount.sum())
    firsts = days.filter(days.prev_day.isnull())
    sizes = firsts.group_by(cohort=period_start(firsts.day, period)).aggregate(cohort_size=lambda t: t.count())
    return cells, sizes


def _rolling_table(source: Any, period: str, as_of: str | dt.date | None) -> pd.DataFrame:
    _check(period, "rolling", "cohort_matrix")
    rows, end, _ = purchase_rows(source, as_of=as_of, where="cohort_matrix")
    first = first_purchases(rows, period)
    sizes = first.group_by("cohort").aggregate(cohort_size=first.customer_id.count()).execute()
    out = rolling_cells(rows, first, ["cohort"], end, period)
    out["cohort"] = pd.to_datetime(out["cohort"])
    sizes["cohort"] = pd.to_datetime(sizes["cohort"])
    out = out.merge(sizes, on="cohort").sort_values(["cohort", "age"], ignore_index=True)
    out["retention"] = out["customers"] / out["observed"]
    by_cohort = out.groupby("cohort")
    out["cumulative_revenue"] = by_cohort["revenue"].cumsum()
    out["revenue_per_customer"] = (out["revenue"] / out["observed"]).groupby(out["cohort"]).cumsum()
    out.attrs.update(period=period, axis="rolling", as_of=str(end))
    return out


def cohort_table(
    source: Any, *, period: Period = "month", axis: Axis = "age", as_of: str | dt.date | None = None,
) -> pd.DataFrame:
    """Every cohort cell up to ``as_of`` (cells without purchases filled: 0 customers and
    revenue, cumulative figures carried), one row per cohort and period, as pandas.

    The frame's ``attrs`` hold ``period``, ``axis`` and ``as_of``. On the rolling axis a column
    ``observed`` says over how many customers each cell is.
    """
    if axis == "rolling":
        return _rolling_table(source, period, as_of)
    expr, end = cohort_expr(source, period=period, axis=axis, as_of=as_of)
    cells = expr.execute()
    name = "age" if axis == "age" else "period_start"
    cells["cohort"] = pd.to_datetime(cells["cohort"])
    cohorts = sorted(cells["cohort"].unique())
    freq = _PANDAS_FREQ[period]
    last = pd.Timestamp(end).to_period(freq)
    grid = []
    for cohort in cohorts:
        start = pd.Timestamp(cohort).to_period(freq)
        span = pd.period_range(start, last, freq=freq)
        for i, p in enumerate(span):
            grid.append((pd.Timestamp(cohort), i if axis == "age" else p.start_time))
    full = pd.DataFrame(grid, columns=["cohort", name])
    if axis == "calendar":
        cells[name] = pd.to_datetime(cells[name])
    else:
        cells[name] = cells[name].astype("int64")
    out = full.merge(cells, on=["cohort", name], how="left")
    sizes = cells.groupby("cohort")["cohort_size"].first()
    out["cohort_size"] = out["cohort"].map(sizes).astype("int64")
    out[["customers", "revenue", "retention"]] = out[["customers", "revenue", "retention"]].fillna(0.0)
    out["customers"] = out["customers"].astype("int64")
    carried = out.groupby("cohort")[["cumulative_revenue", "revenue_per_customer"]].ffill().fillna(0.0)
    out[["cumulative_revenue", "revenue_per_customer"]] = carried
    out.attrs.update(period=period, axis=axis, as_of=str(end))
    return out


def cohort_matrix(
    source: Any, period: Period = "month", metric: str = "retention", *, cumulative: bool = False,
    axis: Axis = "age", as_of: str | dt.date | None = None,
) -> pd.DataFrame:
    """The acquisition-cohort matrix of one metric: a row per cohort, a column per period.

    Parameters
    ----------
    source
        A :class:`clvlab.Workspace` with ``transactions`` (or an Ibis table of them).
    period
        Calendar period of cohorts and columns: ``"week"`` (from Monday), ``"month"``,
        ``"quarter"`` or ``"year"``.
    metric
        ``"retention"`` (share of the cohort buying in the period), ``"customers"`` (how many),
        ``"revenue"`` (net revenue) or ``"revenue_per_customer"`` (cumulative revenue over the
        cohort size).
    cumulative
        Revenue summed from the acquisition period on (``metric="revenue"`` only).
    axis
        ``"age"``: columns are periods since acquisition (0, 1, ...); ``"rolling"``: whole
        periods since each customer's first purchase, over the customers observed that long;
        ``"calendar"``: columns are calendar periods.
    as_of
        Last day counted (default: the last order day); a date outside the data is an error.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (first day of the acquisition period), one column per period; a
        ``cohort_size`` column first. Cells after ``as_of`` (or before the cohort, on the
        calendar axis) are NaN.
    """
    where = "cohort_matrix"
    check_param(metric in METRICS, "metric", where, f"one of {list(METRICS)}", metric)
    check_param(not cumulative or metric == "revenue", "cumulative", where,
                "False unless metric='revenue' (revenue_per_customer is cumulative already)", cumulative)
    cells = cohort_table(source, period=period, axis=axis, as_of=as_of)
    name = "period_start" if axis == "calendar" else "age"
    value = "cumulative_revenue" if cumulative else metric
    matrix = cells.pivot(index="cohort", columns=name, values=value)
    matrix.columns.name = "period" if axis == "calendar" else "age"
    if axis == "calendar":
        matrix.columns = [pd.Timestamp(c).date() for c in matrix.columns]
    matrix.insert(0, "cohort_size", cells.groupby("cohort")["cohort_size"].first())
    matrix.index = pd.Index([pd.Timestamp(c).date() for c in matrix.index])
    matrix.index.name = "cohort"
    matrix.attrs = {**cells.attrs, "metric": metric, "cumulative": cumulative}
    return matrix
