"""Prospects as of a date and their features, computed in the workspace's engine.

A **prospect** as of day ``d`` is a person seen by ``d`` (an event on or before ``d``, or a
``customers`` row with ``first_seen_at`` on or before ``d``, or, at the scoring date only, one
without ``first_seen_at``) with no purchase up to ``d``. Their **conversion** is a first
purchase in the ``window`` days after ``d``. One Ibis query per date; one row per prospect comes
back into Python, where the design matrix is built (:func:`design`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

#: days of the "recent" behaviour window
RECENT_DAYS = 30
#: at most this many event types (the most frequent) become features
MAX_EVENT_TYPES = 12
#: at most this many levels (the most frequent) of a customers attribute become features
MAX_LEVELS = 8
#: customers columns never used as fit attributes
_NOT_ATTRIBUTES = ("customer_id", "first_seen_at")


def tables(source: Any) -> list[str]:
    """Tables of a workspace (empty for anything else)."""
    return list(source.tables()) if callable(getattr(source, "tables", None)) else []


def event_rows(source: Any) -> ir.Table | None:
    """``cid, day, event, value`` of the ``events`` table (None without it)."""
    if "events" not in tables(source):
        return None
    e = source.table("events")
    value = e["value"].cast("float64") if "value" in e.columns else ibis.null("float64")
    return e.select(cid=e["customer_id"].cast("string"), day=e["occurred_at"].cast("date"),
                    event=e["event"].cast("string"), value=value).filter(lambda t: t.cid.notnull())


@dataclass
class Spec:
    """What the design matrix holds: event types, attribute levels, whether signup age is known."""

    event_types: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)
    signup: bool = False


def make_spec(source: Any, events: ir.Table | None, day: dt.date) -> Spec:
    """Event types (most frequent up to ``day``) and the customers' attribute levels."""
    types: list[str] = []
    if events is not None:
        e = events.filter(events.day <= ibis.date(day))
        counts = e.group_by("event").aggregate(n=e.count()).order_by([ibis.desc("n"), "event"])
        types = [str(t) for t in counts.limit(MAX_EVENT_TYPES).execute()["event"]]
    levels: dict[str, list[str]] = {}
    signup = False
    if "customers" in tables(source):
        cust = source.table("customers")
        signup = "first_seen_at" in cust.columns and bool(cust["first_seen_at"].count().execute())
        for name, dtype in cust.schema().items():
            if name in _NOT_ATTRIBUTES or name.startswith("_") or not dtype.is_string():
                continue
            counts = cust.group_by(name).aggregate(n=cust.count()).filter(lambda t, c=name: t[c].notnull())
            top = counts.order_by([ibis.desc("n"), name]).limit(MAX_LEVELS + 1).execute()
            if len(top) >= 2:  # one level tells nothing apart
                levels[name] = [str(v) for v in top[name].head(MAX_LEVELS)]
    return Spec(types, levels, signup)


def _known(source: Any, events: ir.Table | None, day: dt.date, dated_only: bool) -> ir.Table | None:
    """``cid`` of everyone seen by ``day`` (events, dated customers rows, undated ones unless ``dated_only``)."""
    end = ibis.date(day)
    parts = []
    if events is not None:
        parts.append(events.filter(events.day <= end).select("cid"))
    if "customers" in tables(source):
        cust = source.table("customers")
        cid = cust["customer_id"].cast("string")
        if "first_seen_at" in cust.columns:
            seen = cust["first_seen_at"].cast("date")
            cond = (seen <= end) if dated_only else (seen.isnull() | (seen <= end))
            parts.append(cust.filter(cond & cid.notnull()).select(cid=cid))
        elif not dated_only:
            parts.append(cust.filter(cid.notnull()).select(cid=cid))
    if not parts:
        return None
    known = parts[0]
    for p in parts[1:]:
        known = known.union(p)
    return known.distinct()


def prospect_frame(source: Any, events: ir.Table | None, firsts: ir.Table, day: dt.date, window: int | None,
                   spec: Spec, *, dated_only: bool) -> pd.DataFrame:
    """One row per prospect as of ``day`` (index ``customer_id``): behaviour, attributes and, with
    ``window``, ``converted`` (first purchase in the ``window`` days after ``day``)."""
    end = ibis.date(day)
    known = _known(source, events, day, dated_only)
    if known is None:
        return pd.DataFrame(index=pd.Index([], name="customer_id"))
    bought = firsts.filter(firsts["first"] <= end).select("cid")
    pro = known.anti_join(bought, "cid")
    if events is not None:
        e = events.filter(events.day <= end)
        recent = e.day > end - ibis.interval(days=RECENT_DAYS)
        aggs: dict[str, Any] = {
            "n_events": e.count(), "last_event": e.day.max(), "first_event": e.day.min(),
            "active_days": e.day.nunique(), "active_days_30d": e.day.nunique(where=recent),
            "value": e.value.sum(), "value_30d": e.value.sum(where=recent),
        }
        for i, t in enumerate(spec.event_types):
            aggs[f"ev{i}"] = e.count(where=e.event == t)
            aggs[f"ev{i}_30d"] = e.count(where=(e.event == t) & recent)
        per = e.group_by("cid").aggregate(**aggs)
        pro = pro.left_join(per, "cid").drop("cid_right")
    if "customers" in tables(source) and (spec.levels or spec.signup):
        cust = source.table("customers")
        keep: dict[str, Any] = {"cid": cust["customer_id"].cast("string")}
        for name in spec.levels:
            keep[f"attr_{name}"] = cust[name].cast("string")
        if spec.signup:
            keep["first_seen"] = cust["first_seen_at"].cast("date")
        pro = pro.left_join(cust.select(**keep), "cid").drop("cid_right")
    if window is not None:
        stop = end + ibis.interval(days=window)
        won = firsts.filter((firsts["first"] > end) & (firsts["first"] <= stop)).select("cid", won=ibis.literal(1))
        pro = pro.left_join(won, "cid").drop("cid_right")
    frame = pro.execute().rename(columns={"cid": "customer_id"}).set_index("customer_id").sort_index()
    if window is not None:
        frame["converted"] = frame.pop("won").fillna(0).astype(int)
    stamp = pd.Timestamp(day)
    for col in ("last_event", "first_event", "first_seen"):
        if col in frame:
            frame[f"days_since_{col}"] = (stamp - pd.to_datetime(frame.pop(col))).dt.days.astype(float)
    return frame


def design(frame: pd.DataFrame, spec: Spec) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """The feature matrix (counts and days log1p-transformed), feature labels, and the raw values
    shown beside each driver."""
    cols: dict[str, pd.Series] = {}
    shown: dict[str, pd.Series] = {}
    n = len(frame)

    def num(name: str) -> pd.Series:
        return frame[name].astype(float).fillna(0.0) if name in frame else pd.Series(np.zeros(n), index=frame.index)

    def add(label: str, raw: pd.Series, log: bool = True) -> None:
        shown[label] = raw
        cols[label] = np.log1p(raw.clip(lower=0)) if log else raw

    if spec.event_types or "n_events" in frame:
        for i, t in enumerate(spec.event_types):
            add(f"{t}, last {RECENT_DAYS} days", num(f"ev{i}_30d"))
            add(f"{t}, ever", num(f"ev{i}"))
        add(f"active days, last {RECENT_DAYS} days", num("active_days_30d"))
        add("active days, ever", num("active_days"))
        add(f"event value, last {RECENT_DAYS} days", num("value_30d"))
        since = frame["days_since_last_event"] if "days_since_last_event" in frame else pd.Series(np.nan, index=frame.index)
        add("days since the last event", since.fillna(365.0).clip(upper=365.0))
        add("no event yet", since.isna().astype(float), log=False)
    for name, levels in spec.levels.items():
        values = frame.get(f"attr_{name}", pd.Series(None, index=frame.index, dtype=object))
        for level in levels:
            add(f"{name} = {level}", (values == level).astype(float), log=False)
    if spec.signup:
        age = frame.get("days_since_first_seen", pd.Series(np.nan, index=frame.index))
        add("days since signup", age.fillna(0.0))
        add("signup date unknown", age.isna().astype(float), log=False)
    names = list(cols)
    matrix = np.column_stack([cols[c].to_numpy(float) for c in names]) if names else np.zeros((n, 0))
    return matrix, names, pd.DataFrame(shown, index=frame.index)
