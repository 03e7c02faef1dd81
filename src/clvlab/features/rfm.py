"""RFM summaries (frequency, recency, T, monetary value) of a transaction log, as Ibis expressions.

The whole computation runs in the engine that holds the transactions (DuckDB, PostgreSQL,
Spark, ...); only one row per customer comes back to pandas.

Definitions (those of ``lifetimes.utils.summary_data_from_transaction_data``): each purchase
date is mapped to its period (``D`` day, ``W`` week starting on Monday, ``M`` calendar month);
purchases in one period merge into one (their amounts summed). For each customer

- ``frequency``: distinct purchase periods minus one (the repeat purchases),
- ``recency``: last purchase period minus first purchase period,
- ``T``: the period of ``observation_end`` minus the first purchase period,
- ``monetary_value``: mean of the per-period amounts over the repeat periods (0 when none),

all counted in periods. Refunds are netted against the order they undo (an order refunded in
full is not a purchase; see ``include_refunds``). Periods are integers computed by portable date
arithmetic: days since 1900-01-01 (a Monday), whole weeks of those days, or ``year * 12 + month``.

>>> import clvlab
>>> rfm = clvlab.rfm_summary(ws, freq="W", observation_end="1997-09-30")   # doctest: +SKIP
>>> rfm.columns.tolist()                                                    # doctest: +SKIP
['frequency', 'recency', 'T', 'monetary_value']
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from clvlab.data.refunds import LINK, ORDER_PREFIX
from clvlab.errors import DataValidationError, Hint, check_param
from clvlab.features.units import DEFAULT_TIME_UNIT

__all__ = ["calibration_expression", "calibration_holdout", "rfm_expression", "rfm_summary"]

Freq = Literal["D", "W", "M"]
DateLike = str | dt.date | dt.datetime | pd.Timestamp

_FREQS = ("D", "W", "M")
_EPOCH = dt.date(1900, 1, 1)  # a Monday: whole weeks since it start on Mondays
_DAYS_PER_UNIT = {"D": 1, "W": 7}


# ---- argument handling --------------------------------------------------------------------


def _as_date(value: object, name: str, where: str, *, required: bool = False) -> dt.date | None:
    """Parse a date argument (ISO string, date, datetime, Timestamp) to a day; None passes."""
    expected = "a date (ISO string, datetime.date, datetime.datetime or pandas.Timestamp)"
    if value is None:
        check_param(not required, name, where, expected, value)
        return None
    if isinstance(value, dt.datetime):  # includes pd.Timestamp
        check_param(not pd.isna(value), name, where, expected, value)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            stamp = None
        check_param(stamp is not None and not pd.isna(stamp), name, where, expected, value)
        assert stamp is not None
        return stamp.date()
    check_param(False, name, where, expected, value)
    return None  # pragma: no cover - check_param raised


def _check_common(where: str, freq: object, exact: object, include_refunds: object) -> None:
    check_param(freq in _FREQS, "freq", where, "one of 'D', 'W', 'M'", freq)
    check_param(isinstance(exact, bool), "exact", where, "a bool", exact)
    check_param(
        not exact or freq in _DAYS_PER_UNIT, "exact", where,
        "False when freq='M' (a month has no fixed number of days)", exact,
    )
    check_param(isinstance(include_refunds, bool), "include_refunds", where, "a bool", include_refunds)


def _source_table(source: Any, where: str) -> ir.Table:
    """The transactions as an Ibis table: a Workspace, an Ibis table, or a pandas/Polars frame."""
    if isinstance(source, ir.Table):
        return source
    if isinstance(source, pd.DataFrame) or type(source).__module__.startswith("polars"):
        if isinstance(source, pd.DataFrame):
            source = _decimals_as_floats(source)
        # a private in-memory DuckDB reads the frame in place (no copy into the database)
        con = ibis.duckdb.connect()
        con.con.register("transactions", source)
        return con.table("transactions")
    table = getattr(source, "table", None)
    if callable(table):
        result = table("transactions")
        if isinstance(result, ir.Table):
            return result
    check_param(
        False, "source", where,
        "a Workspace, an ibis.Table or a pandas/Polars DataFrame of transactions",
        type(source).__name__,
    )
    raise AssertionError  # pragma: no cover - check_param raised


def _decimals_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of ``decimal.Decimal`` (the workspace's DECIMAL amounts read to pandas) as
    float64: DuckDB would type them from a sample and refuse a later, wider value."""
    dec = [c for c in frame.columns if frame[c].dtype == object
           and isinstance(frame[c].dropna().iloc[0] if frame[c].notna().any() else None, Decimal)]
    if not dec:
        return frame
    return frame.assign(**{str(c): frame[c].astype("float64") for c in dec})


def _prepare(
    table: ir.Table, *, customer_id: str, datetime: str, monetary: str | None,
    include_refunds: bool, where: str,
) -> ir.Table:
    """Select and rename the needed columns to ``cid, day, amount``: purchases with refunds
    netted (see :func:`_net_refunds`), rows without customer or date dropped.  With
    ``include_refunds`` the refunds linked to no purchase stay as rows flagged ``ref``."""
    columns = list(table.columns)
    needed = [c for c in (customer_id, datetime, monetary) if c is not None]
    missing = [c for c in needed if c not in columns]
    if missing:
        msg = f"The transactions for {where} lack the column(s) {missing}; available: {columns}"
        raise DataValidationError(
            msg, hint="name yours with customer_id=, datetime=, monetary= (monetary=None to skip)"
        )
    dtype = table[datetime].type()
    if not (dtype.is_timestamp() or dtype.is_date()):
        msg = f"Column '{datetime}' of the transactions has type {dtype}, not a date or timestamp"
        raise DataValidationError(msg, hint="parse it to a timestamp when loading")
    if monetary is not None and not table[monetary].type().is_numeric():
        msg = f"Column '{monetary}' of the transactions has type {table[monetary].type()}, not numeric"
        raise DataValidationError(msg, hint="load amounts as decimals")
    table = table.filter(table[customer_id].notnull(), table[datetime].notnull())
    out = {
        "cid": table[customer_id].cast("string"),
        "day": table[datetime].cast("date") if dtype.is_timestamp() else table[datetime],
    }
    if monetary is not None:  # decimals stay decimal: their sums are exact, equal on every engine
        amount = table[monetary]
        out["amount"] = amount if amount.type().is_decimal() else amount.cast("float64")
    if "is_refund" not in columns:
        return table.select(**out)
    refund = table["is_refund"].fill_null(False)
    if monetary is not None and LINK in columns and "_key" in columns:
        linked = table.filter(refund & table[LINK].notnull())
        if int(linked.count().execute()) > 0:
            return _net_refunds(table, out, refund, include_refunds)
    if include_refunds:  # without amounts a refund cannot be netted: it stays a row
        return table.select(**out, ref=refund) if monetary is not None else table.select(**out)
    return table.filter(~refund).select(**out)


def _net_refunds(table: ir.Table, out: dict[str, Any], refund: ir.BooleanValue,
                 include_refunds: bool) -> ir.Table:
    """Purchases with their linked refunds netted: a refund row whose ``refund_of`` names an
    order (``"o:" + order_id``, or the ``_key`` of a line without order id) reduces that order's
    amount; an order netted to zero or less is not a purchase.  Refunds linked to nothing are
    dropped (kept as ``ref`` rows with ``include_refunds``)."""
    order = (table["order_id"].notnull().ifelse(ORDER_PREFIX + table["order_id"].cast("string"),
                                                 table["_key"])
             if "order_id" in table.columns else table["_key"])
    rows = table.select(**out, order=order, link=table[LINK], refund=refund)
    buys = rows.filter(~rows.refund).select("cid", "day", "amount", "order")
    refs = rows.filter(rows.refund & rows.link.notnull())
    back = refs.group_by(["cid", refs.link.name("order")]).aggregate(back=(-refs.amount.abs()).sum())
    kept = buys.anti_join(back, ["cid", "order"]).select("cid", "day", "amount")
    touched = buys.semi_join(back, ["cid", "order"])
    orders = touched.group_by(["cid", "order"]).aggregate(day=touched.day.min(),
                                                          gross=touched.amount.sum())
    orders = orders.join(back, ["cid", "order"])
    orders = orders.mutate(amount=orders.gross + orders.back)
    netted = orders.filter(orders.amount > 0).select("cid", "day", amount=orders.amount.cast(buys.amount.type()))
    result = kept.union(netted)
    if not include_refunds:
        return result
    loose = rows.filter(rows.refund & rows.link.isnull()).select("cid", "day", "amount")
    return result.mutate(ref=ibis.literal(False)).union(loose.mutate(ref=ibis.literal(True)))


# ---- the expressions ----------------------------------------------------------------------


def _ticks(day: ir.DateValue, freq: str, exact: bool) -> ir.IntegerValue:
    """Integer period index of a date (days when ``exact``: the caller scales them)."""
    days = day.delta(ibis.date(_EPOCH), unit="day")
    if freq == "D" or exact:
        return days
    if freq == "W":
        return (days // 7).cast("int64")
    return day.year() * 12 + day.month()


def _with_end(table: ir.Table, end: dt.date) -> ir.Table:
    """Add the column ``end_``: the observation end as a literal."""
    return table.mutate(end_=ibis.date(end))


def _observation_end(tx: ir.Table, end: dt.date | None, where: str) -> tuple[ir.Table, dt.date]:
    """Cut ``tx`` at the given end, or find the latest purchase day (one small aggregate first:
    on Parquet and DuckDB tables the engine answers it from column statistics, and the main
    query then needs no second pass; measured ~5% faster than a cross-joined aggregate on 10M rows)."""
    if end is not None:
        return tx.filter(tx.day <= ibis.date(end)), end
    latest = tx.day.max().execute()
    if latest is None or pd.isna(latest):
        msg = f"No transactions to summarise in {where}: the table has no rows"
        raise DataValidationError(msg, hint="check the table and include_refunds")
    return tx, pd.Timestamp(latest).date()


def _summary_expr(
    tx: ir.Table, end: dt.date, freq: str, exact: bool, with_money: bool, suffix: str = ""
) -> ir.Table:
    """One row per customer with at least one purchase period in ``tx`` (plus ``end_``)."""
    periods = _periods(tx, freq, exact, with_money)
    money: dict[str, Any] = {}
    if with_money:
        # mean spend of the repeat periods = (all spend - first period's spend) / repeats;
        # argmin (DuckDB arg_min, Spark min_by, PostgreSQL ordered array_agg) avoids a window
        # over every period, measured ~40% faster on 10M rows in DuckDB.
        money = {"total": periods.spend.sum(), "first_spend": periods.spend.argmin(periods.p)}
    per = periods.group_by("cid").aggregate(
        n=periods.count(), first=periods.p.min(), last=periods.p.max(), **money
    )
    if with_money:
        repeat_spend = (per.total - per.first_spend).cast("float64")
        per = per.mutate(money=ibis.ifelse(per.n > 1, repeat_spend / (per.n - 1), None))
    per = _with_end(per, end)
    cols: dict[str, Any] = {
        f"frequency{suffix}": (per.n - 1).cast("float64"),
        f"recency{suffix}": _in_units(per["last"] - per["first"], freq, exact),
        f"T{suffix}": _in_units(_ticks(per.end_, freq, exact) - per["first"], freq, exact),
    }
    if with_money:
        cols[f"monetary_value{suffix}"] = per.money.cast("float64").fill_null(0.0)
    return per.select("cid", "end_", **cols)


def _periods(tx: ir.Table, freq: str, exact: bool, with_money: bool) -> ir.Table:
    """One row per (customer, purchase period) with its net ``spend``: the one definition of a
    purchase, used for the calibration and the holdout alike.  A period holding a refund
    (``ref`` rows, ``include_refunds=True``) is a purchase only if its net spend is positive."""
    tx = tx.mutate(p=_ticks(tx.day, freq, exact))
    aggs: dict[str, Any] = {}
    if with_money:
        aggs["spend"] = tx.amount.sum()
    if "ref" in tx.columns:
        aggs["ref"] = tx.ref.any()
    periods = tx.group_by(["cid", "p"]).aggregate(**aggs)
    if "ref" in tx.columns:
        periods = periods.filter(~periods.ref | (periods.spend > 0)).drop("ref")
    return periods


def _in_units(ticks: ir.IntegerValue, freq: str, exact: bool) -> ir.FloatingValue:
    """Ticks as float periods (days / 7 for exact weeks)."""
    value = ticks.cast("float64")
    return value / _DAYS_PER_UNIT[freq] if exact and freq != "D" else value


def _to_frame(result: pd.DataFrame, where: str, table: str) -> tuple[pd.DataFrame, dt.date]:
    if result.empty:
        msg = f"No transactions to summarise in {where}: '{table}' has no rows up to observation_end"
        raise DataValidationError(msg, hint="check the table, observation_end and include_refunds")
    end = pd.Timestamp(result["end_"].iloc[0]).date()
    frame = result.drop(columns="end_").rename(columns={"cid": "customer_id"})
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame = frame.set_index("customer_id")
    if not frame.index.is_monotonic_increasing:  # the engine sorted by its collation (PostgreSQL's locale)
        frame = frame.sort_index(kind="stable")
    return frame.astype("float64"), end


def rfm_expression(
    source: Any, *, freq: Freq = DEFAULT_TIME_UNIT, observation_end: DateLike | None = None,
    customer_id: str = "customer_id", datetime: str = "ordered_at", monetary: str | None = "amount",
    include_refunds: bool = False, exact: bool = False, where: str = "rfm_expression",
) -> ir.Table:
    """The expression behind :func:`rfm_summary`, not executed: columns ``cid``, ``end_`` (the
    observation end), ``frequency``, ``recency``, ``T`` (and ``monetary_value``), one row per
    customer, left in the engine (``clvlab.scale`` fits and scores from it without collecting it)."""
    _check_common(where, freq, exact, include_refunds)
    end = _as_date(observation_end, "observation_end", where)
    tx = _prepare(
        _source_table(source, where), customer_id=customer_id, datetime=datetime,
        monetary=monetary, include_refunds=include_refunds, where=where,
    )
    tx, end = _observation_end(tx, end, where)
    return _summary_expr(tx, end, freq, exact, monetary is not None)


def rfm_summary(
    source: Any,
    *,
    freq: Freq = DEFAULT_TIME_UNIT,
    observation_end: DateLike | None = None,
    customer_id: str = "customer_id",
    datetime: str = "ordered_at",
    monetary: str | None = "amount",
    include_refunds: bool = False,
    exact: bool = False,
) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, computed in the engine.

    Parameters
    ----------
    source
        A Workspace (its ``transactions`` table), an ``ibis.Table`` on any backend, or a
        pandas/Polars frame of transactions.
    freq
        Period (the time unit): ``"D"`` day, ``"W"`` week (Monday to Sunday, as pandas'
        ``W-SUN``; the default, see :mod:`clvlab.features.units`), ``"M"`` month.
        ``lifetimes`` defaults to days: pass ``freq="D"`` to compare.
    observation_end
        Last day observed (purchases on it count; later ones are dropped). Default: the latest
        purchase day. Day resolution: a time of day is ignored.
    customer_id, datetime, monetary
        Column names; ``monetary=None`` leaves out ``monetary_value``.
    include_refunds
        Refunds linked to a purchase at load (column ``refund_of``, see ``clvlab load
        --refunds``) are always netted against it: an order refunded in full is not a
        purchase, one refunded in part counts at its net amount.  Refunds linked to nothing are
        left out by default; with ``include_refunds=True`` they are netted against the spend of
        their own period, and a period left with no positive spend is not a purchase.  Either
        way no purchase period has a negative or zero net spend from refunds.
    exact
        Measure ``recency`` and ``T`` in days divided by 7 when ``freq="W"`` (the BG/NBD papers'
        fractional weeks; purchases then merge per day). ``lifetimes`` does this with
        ``freq="D", freq_multiplier=7``.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (str, sorted); float columns ``frequency``, ``recency``, ``T``,
        ``monetary_value``; ``attrs`` ``freq`` and ``observation_end`` (ISO date).

    Notes
    -----
    Equal to ``lifetimes.utils.summary_data_from_transaction_data`` except that, with
    ``W``/``M`` and an ``observation_end`` inside a period, lifetimes also keeps the purchases
    after ``observation_end`` in that period; here they are dropped.
    """
    where = "rfm_summary"
    expr = rfm_expression(source, freq=freq, observation_end=observation_end, customer_id=customer_id,
                          datetime=datetime, monetary=monetary, include_refunds=include_refunds,
                          exact=exact, where=where)
    frame, used_end = _to_frame(expr.order_by("cid").execute(), where, "transactions")
    frame.attrs = {"freq": freq, "observation_end": used_end.isoformat(), "exact": exact}
    return frame


def calibration_holdout(
    source: Any,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    freq: Freq = DEFAULT_TIME_UNIT,
    customer_id: str = "customer_id",
    datetime: str = "ordered_at",
    monetary: str | None = "amount",
    include_refunds: bool = False,
    exact: bool = False,
) -> pd.DataFrame:
    """RFM of a calibration period and purchase counts in the following holdout period.

    Calibration: purchases up to ``calibration_end`` (inclusive), summarised as
    :func:`rfm_summary` with ``observation_end=calibration_end``. Holdout: purchases in
    (``calibration_end``, ``observation_end``]. Customers whose first purchase is after
    ``calibration_end`` are left out. Other parameters as in :func:`rfm_summary`.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; columns ``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``monetary_value_cal``, ``frequency_holdout`` (distinct purchase periods in the
        holdout), ``monetary_value_holdout`` (mean net spend per holdout purchase period,
        the definition of ``monetary_value_cal``; 0 when none; ``lifetimes`` averages per
        transaction row instead, which on order-line data is a mean per line), ``duration_holdout`` (periods from the calibration end
        period to the observation end period). ``attrs``: ``freq``, ``calibration_end``,
        ``observation_end``.
    """
    where = "calibration_holdout"
    cal_end = _as_date(calibration_end, "calibration_end", where, required=True)
    expr = calibration_expression(
        source, calibration_end=calibration_end, observation_end=observation_end, freq=freq,
        customer_id=customer_id, datetime=datetime, monetary=monetary,
        include_refunds=include_refunds, exact=exact, where=where)
    assert cal_end is not None
    frame, used_end = _to_frame(expr.order_by("cid").execute(), where, "transactions")
    if used_end <= cal_end:
        msg = (
            f"calibration_end {cal_end.isoformat()} is not before the latest purchase "
            f"({used_end.isoformat()}): the holdout period is empty"
        )
        raise DataValidationError(msg, hint=Hint("a date before the latest purchase", option="calibration_end"))
    frame.attrs = {
        "freq": freq,
        "calibration_end": cal_end.isoformat(),
        "observation_end": used_end.isoformat(),
        "exact": exact,
    }
    return frame


def calibration_expression(
    source: Any, *, calibration_end: DateLike, observation_end: DateLike | None = None,
    freq: Freq = DEFAULT_TIME_UNIT, customer_id: str = "customer_id", datetime: str = "ordered_at",
    monetary: str | None = "amount", include_refunds: bool = False, exact: bool = False,
    where: str = "calibration_expression",
) -> ir.Table:
    """The expression behind :func:`calibration_holdout`, not executed (``cid``, ``end_`` and its
    columns, one row per customer), for engines that keep the rows (``clvlab.scale``)."""
    _check_common(where, freq, exact, include_refunds)
    cal_end = _as_date(calibration_end, "calibration_end", where, required=True)
    end = _as_date(observation_end, "observation_end", where)
    assert cal_end is not None
    if end is not None:
        check_param(
            cal_end < end, "calibration_end", where,
            f"a date before observation_end ({end.isoformat()})", calibration_end,
        )
    tx = _prepare(
        _source_table(source, where), customer_id=customer_id, datetime=datetime,
        monetary=monetary, include_refunds=include_refunds, where=where,
    )
    tx, end = _observation_end(tx, end, where)
    cal_lit = ibis.date(cal_end)
    with_money = monetary is not None
    cal = _summary_expr(tx.filter(tx.day <= cal_lit), cal_end, freq, exact, with_money, "_cal")
    cal = cal.drop("end_")

    hold_p = _periods(tx.filter(tx.day > cal_lit), freq, exact, with_money)
    hold_aggs: dict[str, Any] = {"n_hold": hold_p.count()}
    if with_money:
        hold_aggs["m_hold"] = hold_p.spend.cast("float64").mean()
    hold = hold_p.group_by("cid").aggregate(**hold_aggs).rename(hcid="cid")

    joined = _with_end(cal.left_join(hold, cal.cid == hold.hcid), end)
    cols: dict[str, Any] = {"frequency_holdout": joined.n_hold.fill_null(0).cast("float64")}
    if with_money:
        cols["monetary_value_holdout"] = joined.m_hold.cast("float64").fill_null(0.0)
    cols["duration_holdout"] = _in_units(
        _ticks(joined.end_, freq, exact) - _ticks(cal_lit, freq, exact), freq, exact
    )
    return joined.select(*cal.columns, "end_", **cols)
