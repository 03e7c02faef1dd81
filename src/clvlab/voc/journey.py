"""The customer journey (seed 003): the feedback touchpoints in journey order with their volume
and NPS, CSAT and CES with intervals, and where customers drop away between the steps of the
path to a repeat purchase.

What the data can and cannot say, kept honest:

- feedback names the touchpoint an answer is about, never the order in which a customer met the
  touchpoints: the order is :data:`JOURNEY_ORDER`, the usual purchase journey (an assumption;
  touchpoints it does not name come after, alphabetically);
- the drop-away funnel counts customers who *ever* did each step: the pre-purchase steps of
  :data:`FUNNEL_EVENTS` from the ``events`` table (those the workspace holds), then a first and a
  second purchase day from ``transactions``. A step's conversion is the share of the customers of
  the step before who also did it; a customer who bought without an event is counted at the
  purchase steps only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: touchpoints in the order of the usual purchase journey (feedback carries no order of its own)
JOURNEY_ORDER = ("website", "app", "store", "checkout", "payment", "delivery", "product", "customer_service",
                 "returns")
#: events that are steps towards a first purchase, in order
FUNNEL_EVENTS = ("site_visit", "product_view", "cart_add")
#: the purchase steps of the funnel
PURCHASE_STEPS = ("first_purchase", "second_purchase")


def ordered_touchpoints(names: Any) -> list[str]:
    """``names`` in :data:`JOURNEY_ORDER`, the others after it alphabetically."""
    names = {str(n) for n in names}
    return [n for n in JOURNEY_ORDER if n in names] + sorted(names - set(JOURNEY_ORDER))


def touchpoint_summary(feedback: Any, *, min_n: int = 30, level: float = 0.95) -> pd.DataFrame:
    """One row per touchpoint of ``feedback`` (an Ibis table of the feedback contract), in journey
    order: ``answers``, ``customers`` and, per metric with answers there, ``<metric>``,
    ``<metric>_lower``, ``<metric>_upper``, ``<metric>_n`` (NPS, CSAT, CES; see
    :func:`clvlab.voc.metrics.feedback_metrics`); empty without a touchpoint column or answers."""
    from clvlab.voc.metrics import feedback_metrics

    if "touchpoint" not in feedback.columns:
        return pd.DataFrame()
    answered = feedback.filter(feedback.touchpoint.notnull() & (feedback.touchpoint.cast("string") != ""))
    volume = answered.group_by(touchpoint=answered.touchpoint.cast("string")).aggregate(
        answers=answered.count(), customers=answered.customer_id.nunique()).execute()
    if volume.empty:
        return pd.DataFrame()
    out = volume.set_index("touchpoint")
    metrics = answered.select(m=answered.metric.lower()).distinct().execute()["m"] if "metric" in answered.columns \
        else pd.Series(["nps"])
    for metric in ("nps", "csat", "ces"):
        if metric not in set(metrics):
            continue
        frame = feedback_metrics(answered.mutate(touchpoint=answered.touchpoint.cast("string")), metric=metric,
                                 by=("touchpoint",), min_n=min_n, level=level).set_index("touchpoint")
        names = {"value": metric, "lower": f"{metric}_lower", "upper": f"{metric}_upper", "n": f"{metric}_n"}
        out = out.join(frame[list(names)].rename(columns=names))
    out = out.reindex(ordered_touchpoints(out.index))
    out.attrs["min_n"] = min_n
    return out.reset_index(names="touchpoint")


def drop_away(events: Any | None, transactions: Any | None) -> pd.DataFrame:
    """The funnel (see the module docstring): one row per step that the data hold, with
    ``customers`` (who did it), ``from_previous`` (of the previous step's customers, those who did
    this one too), ``conversion`` (that share) and ``dropped`` (the previous step's customers who did
    not); ``events`` and ``transactions`` are Ibis tables (None: not loaded)."""
    steps: list[tuple[str, set[str]]] = []
    if events is not None:
        present = set(events.select("event").distinct().execute()["event"].astype(str))
        for name in FUNNEL_EVENTS:
            if name in present:
                hit = events.filter(events.event == name).select(c=events.customer_id.cast("string")).distinct()
                steps.append((name, set(hit.execute()["c"])))
    if transactions is not None:
        tx = transactions
        if "is_refund" in tx.columns:
            tx = tx.filter(tx.is_refund.isnull() | ~tx.is_refund)
        days = tx.group_by(c=tx.customer_id.cast("string")).aggregate(days=tx.ordered_at.date().nunique()).execute()
        steps.append(("first_purchase", set(days["c"])))
        steps.append(("second_purchase", set(days.loc[days["days"] >= 2, "c"])))
    rows = []
    before: set[str] | None = None
    for name, who in steps:
        kept = len(who & before) if before is not None else None
        rows.append({"step": name, "customers": len(who), "from_previous": kept,
                     "conversion": None if before is None or not before else kept / len(before),  # type: ignore[operator]
                     "dropped": None if before is None else len(before) - kept})  # type: ignore[operator]
        before = who
    return pd.DataFrame(rows, columns=["step", "customers", "from_previous", "conversion", "dropped"])
