"""The churn model's purchase-history features beyond RFM, computed in the workspace's engine.

One Ibis query per date over the lifecycle's purchase days (one row per customer and day): counts
and spend over several look-back spans, the spread and the longest of the customer's gaps between
purchase days, the spend of the last purchase day. Only one row per customer comes back; the
ratios are formed on those rows. Nothing after the date is read.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

#: look-back spans (days) of the purchase-day counts and spend, besides the churn window
SPANS = (30, 180, 365)
#: history features (NaN where undefined: a gap statistic of a one-time buyer)
HISTORY = (*(f"n_{k}d" for k in SPANS), *(f"spend_{k}d" for k in SPANS), "gap_std", "gap_max",
           "silence_vs_longest_gap", "last_gap_vs_mean", "last_spend_vs_mean", "recency_share")


def history_features(days: ir.Table, as_of: dt.date) -> pd.DataFrame:
    """:data:`HISTORY` per customer who bought by ``as_of`` (index ``customer_id``, sorted).

    ``n_<k>d``, ``spend_<k>d``: purchase days and spend in the last k days up to ``as_of``;
    ``gap_std``, ``gap_max``: standard deviation and maximum of the days between purchase days;
    ``silence_vs_longest_gap``: days since the last purchase / the longest gap so far;
    ``last_gap_vs_mean``: the last gap / the mean gap (below 1: speeding up);
    ``last_spend_vs_mean``: spend of the last purchase day / mean spend per purchase day;
    ``recency_share``: (last - first purchase day) / (``as_of`` - first purchase day), the
    recency of the BTYD models as a share of the customer's age (1 when the first day is ``as_of``).
    """
    end = ibis.date(as_of)
    d = days.filter(days.day <= end)
    w = ibis.window(group_by=d.cid, order_by=d.day)
    d = d.mutate(gap=d.day.delta(d.day.lag().over(w), unit="day").cast("float64"),
                 last_=d.day.max().over(group_by=d.cid))
    spans = {k: d.day > end - ibis.interval(days=k) for k in SPANS}
    per = d.group_by("cid").aggregate(
        first=d.day.min(), last=d.day.max(), n=d.count(), spend=d.amount.sum(),
        last_spend=d.amount.sum(where=d.day == d.last_), last_gap=d.gap.max(where=d.day == d.last_),
        gap_std=d.gap.std(how="pop"), gap_max=d.gap.max(),
        **{f"n_{k}d": d.count(where=s) for k, s in spans.items()},
        **{f"spend_{k}d": d.amount.sum(where=s) for k, s in spans.items()},
    )
    frame = per.execute().rename(columns={"cid": "customer_id"})
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame = frame.set_index("customer_id").sort_index()
    for k in SPANS:
        frame[f"n_{k}d"] = frame[f"n_{k}d"].astype(float)
        frame[f"spend_{k}d"] = frame[f"spend_{k}d"].astype(float).fillna(0.0)
    first, last = pd.to_datetime(frame["first"]), pd.to_datetime(frame["last"])
    n = frame["n"].astype(float)
    age = (pd.Timestamp(as_of) - first).dt.days.astype(float)
    span = (last - first).dt.days.astype(float)
    since = (pd.Timestamp(as_of) - last).dt.days.astype(float)
    repeat = n > 1
    frame["gap_max"] = frame["gap_max"].astype(float).where(repeat)
    frame["gap_std"] = frame["gap_std"].astype(float).where(repeat)
    mean_gap = (span / (n - 1)).where(repeat)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["silence_vs_longest_gap"] = since / frame["gap_max"]
        frame["last_gap_vs_mean"] = frame["last_gap"].astype(float) / mean_gap
        frame["last_spend_vs_mean"] = frame["last_spend"].astype(float) / (frame["spend"].astype(float) / n)
        frame["recency_share"] = np.where(age > 0, span / age, 1.0)
    return frame[list(HISTORY)].replace([np.inf, -np.inf], np.nan).astype(float)
