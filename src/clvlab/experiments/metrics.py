"""Per-customer metrics of an experiment, computed in the workspace from the transactions.

Periods are calendar days, both ends included. The post period of a customer starts at the later
of the post period's start and the customer's ``assigned_at`` (nothing before assignment counts);
the pre period ends at the earlier of its end and the assignment (nothing after it counts).

=========== ====================================================================== ===========
metric      definition (per customer)                                              pre-period
=========== ====================================================================== ===========
retention   1 when the customer bought (a non-refund row) in the post period       same metric
repurchase  1 when the customer bought on 2 or more distinct days in the post       same metric
            period
spend       the net amount (refunds included, negative) of the post period         same metric
clv         predicted CLV from the ``scores`` table at analysis time               CLV at
                                                                                   assignment,
                                                                                   else spend
p_alive     P(alive) from the ``scores`` table at analysis time                    retention
nps         the class of the customer's latest NPS answer (``feedback``) in the     none
            post period: promoter (9-10), passive, detractor (0-6); customers
            who did not answer are not respondents (:func:`nps_answers`)
=========== ====================================================================== ===========

Pre-period RFM, the regression covariates: ``pre_frequency`` (purchase days before assignment,
whole history), ``pre_recency`` (days from the last purchase to the assignment; customers who
never bought get the longest recency seen plus one day) and ``pre_monetary`` (net spend before
assignment, whole history). ``pre_clv``: the CLV stored at assignment (customers without one get
the mean of the others), else pre-period spend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd

from clvlab.derived import read_derived
from clvlab.errors import DataValidationError, check_param

PROPORTIONS = ("retention", "repurchase")
MONEY = ("spend", "clv")
FROM_SCORES = ("clv", "p_alive")
METRICS = (*PROPORTIONS, "spend", *FROM_SCORES, "nps")
#: the pre-period covariate of each metric's CUPED adjustment
PRE = {"retention": "pre_retention", "repurchase": "pre_repurchase", "spend": "pre_spend",
       "clv": "pre_clv", "p_alive": "pre_retention"}
RFM = ("pre_frequency", "pre_recency", "pre_monetary")


def as_day(value: Any, name: str, where: str) -> dt.date:
    """``value`` (date, datetime, ISO text) as a date, or a located ParameterError."""
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        check_param(False, name, where, "a date such as '1998-01-01'", value)
        raise AssertionError from None  # pragma: no cover


def periods(
    assignments: pd.DataFrame, last_day: dt.date, pre_period: Any, post_period: Any, where: str
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(pre, post) as (first day, last day); defaults: post from the first assignment day to the last
    purchase day, pre the equally long window just before it."""
    start = pd.Timestamp(assignments["assigned_at"].min()).date()
    post = ((as_day(post_period[0], "post_period", where), as_day(post_period[1], "post_period", where))
            if post_period is not None else (start, last_day))
    if post[1] < post[0]:
        check_param(False, "post_period", where, "(first day, last day) in order", post_period)
    if pre_period is not None:
        pre = (as_day(pre_period[0], "pre_period", where), as_day(pre_period[1], "pre_period", where))
    else:
        length = post[1] - post[0]
        pre = (post[0] - dt.timedelta(days=1) - length, post[0] - dt.timedelta(days=1))
    return pre, post


def _window(ws: Any, arms: Any, first: Any, last: Any) -> pd.DataFrame:
    """Purchase days and net spend per customer with ordered_at in [first, last] (ibis expressions)."""
    tx = ws.table("transactions")
    j = tx.inner_join(arms, "customer_id")
    j = j.filter(j.ordered_at >= first, j.ordered_at < last)
    buy = ~j.is_refund.fill_null(False)
    agg = j.group_by("customer_id").aggregate(
        days=j.ordered_at.date().nunique(where=buy), spend=j.amount.cast("float64").sum())
    return agg.execute().set_index("customer_id")


def customer_metrics(
    ws: Any, assignments: pd.DataFrame, *, pre: tuple[dt.date, dt.date], post: tuple[dt.date, dt.date],
    metrics: tuple[str, ...], baselines: pd.DataFrame | None = None, where: str = "analyze_experiment",
) -> pd.DataFrame:
    """One row per assigned customer: arm, the post-period metrics, their pre-period values, RFM.

    ``assignments`` has customer_id, arm and assigned_at (naive timestamps in the workspace zone).
    """
    arms_df = assignments[["customer_id", "arm", "assigned_at"]].copy()
    arms_df["customer_id"] = arms_df["customer_id"].astype(str)
    arms = ibis.memtable(arms_df[["customer_id", "assigned_at"]])
    day = pd.Timedelta(days=1)
    post_lo, post_hi = ibis.greatest(arms.assigned_at, pd.Timestamp(post[0])), pd.Timestamp(post[1]) + day
    pre_lo, pre_hi = pd.Timestamp(pre[0]), ibis.least(arms.assigned_at, pd.Timestamp(pre[1]) + day)
    out = arms_df.set_index("customer_id")
    post_w = _window(ws, arms, post_lo, post_hi)
    pre_w = _window(ws, arms, pre_lo, pre_hi)
    hist = _window(ws, arms, pd.Timestamp("1900-01-01"), arms.assigned_at)
    for prefix, w in (("", post_w), ("pre_", pre_w)):
        days = w["days"].reindex(out.index).fillna(0).to_numpy(dtype=float)
        out[f"{prefix}retention"] = (days >= 1).astype(float)
        out[f"{prefix}repurchase"] = (days >= 2).astype(float)
        out[f"{prefix}spend"] = w["spend"].reindex(out.index).fillna(0).to_numpy(dtype=float)
    out["pre_frequency"] = hist["days"].reindex(out.index).fillna(0).to_numpy(dtype=float)
    out["pre_monetary"] = hist["spend"].reindex(out.index).fillna(0).to_numpy(dtype=float)
    out["pre_recency"] = _recency(ws, arms, out)
    if any(m in FROM_SCORES for m in metrics):
        sc = read_derived(ws, "scores", columns=FROM_SCORES, where=where, missing_ok=True)
        if sc is None:
            msg = f"{where}: the metrics {[m for m in metrics if m in FROM_SCORES]} come from the scores table"
            raise DataValidationError(msg, hint="run `clvlab score MODEL -w WORKSPACE` first, or leave them out")
        values = sc.select("customer_id", *FROM_SCORES).execute().set_index("customer_id")
        for m in FROM_SCORES:
            out[m] = values[m].reindex(out.index).to_numpy(dtype=float)
    has_base = baselines is not None and baselines["clv"].notna().any()
    if has_base and baselines is not None:  # customers without a stored CLV get the mean (pre-treatment imputation)
        base = baselines["clv"].reindex(out.index).astype(float)
        out["pre_clv"] = base.fillna(base.mean()).to_numpy()
    else:
        out["pre_clv"] = out["pre_spend"].to_numpy()
    out.attrs["pre_clv_source"] = "clv at assignment" if has_base else "pre-period spend"
    return out


def _recency(ws: Any, arms: Any, out: pd.DataFrame) -> np.ndarray[Any, Any]:
    tx = ws.table("transactions")
    j = tx.inner_join(arms, "customer_id")
    j = j.filter(j.ordered_at < j.assigned_at, ~j.is_refund.fill_null(False))
    last = j.group_by("customer_id").aggregate(last=j.ordered_at.max()).execute().set_index("customer_id")["last"]
    assigned = pd.to_datetime(out["assigned_at"])
    rec = (assigned - pd.to_datetime(last.reindex(out.index))).dt.total_seconds().to_numpy() / 86400
    worst = np.nanmax(rec) + 1 if np.isfinite(rec).any() else 0.0
    return np.where(np.isnan(rec), worst, rec)


def nps_answers(ws: Any, assignments: pd.DataFrame, post: tuple[dt.date, dt.date], where: str) -> pd.Series:
    """Each assigned customer's latest NPS answer (0-10) in the post period (from the later of its
    first day and the assignment); customers without one are absent."""
    if "feedback" not in ws.tables():
        msg = f"{where}: the nps metric reads the feedback table, and the workspace has none"
        raise DataValidationError(msg, hint="load the survey answers (clvlab load feedback FILE), or leave nps out")
    arms = ibis.memtable(assignments[["customer_id", "assigned_at"]].astype({"customer_id": str}))
    fb = ws.table("feedback")
    fb = fb.filter(fb.metric.lower() == "nps", fb.customer_id.notnull(), fb.score.notnull())
    j = fb.select(cid=fb.customer_id.cast("string"), responded_at=fb.responded_at, response_id=fb.response_id,
                  score=fb.score.cast("float64")).inner_join(arms, ibis._.cid == arms.customer_id)
    j = j.filter(j.responded_at >= ibis.greatest(j.assigned_at, pd.Timestamp(post[0])),
                 j.responded_at < pd.Timestamp(post[1]) + pd.Timedelta(days=1))
    j = j.mutate(_rn=ibis.row_number().over(group_by=j.customer_id,
                                            order_by=[ibis.desc(j.responded_at), ibis.desc(j.response_id)]))
    latest = j.filter(j._rn == 0).select("customer_id", "score").execute()
    return latest.set_index("customer_id")["score"].astype(float)
