"""Recovery report: did the closed loop reach detractors in time, win them back, and keep them buying?

* **contact within SLA**: share of detractor cases whose first move to ``in_progress`` came before
  their SLA due time (cases not yet contacted count as missed once overdue, and are left out
  while their SLA is still running);
* **time to contact / resolve**: median hours from opening;
* **re-survey change**: mean re-survey score minus the original score, over answered re-surveys;
* **repurchase**: share of detractor responses followed by a purchase within ``window_days``,
  for detractors whose case was closed vs the others, read from the workspace with Ibis (only one
  row per detractor response comes into Python).  Responses whose window runs past the last
  transaction are left out (their outcome is not known yet).

* **closed-loop holdout**: when an alert rule holds out a share of new detractors, the effect of
  contacting a detractor (contacted vs held out) on repurchase, NPS change and CLV, with 95 %
  intervals and the ROI (:mod:`clvlab.cases.holdout`). Held-out cases are left out of every
  figure above: nobody was meant to contact them.

A detractor case is one opened from an NPS response of 0-6; ``detractors_only=False`` reports on
every case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select

from clvlab.cases.holdout import ClosedLoopEffect, closed_loop_effect
from clvlab.store import AppStore, Case, Resurvey, utcnow


@dataclass(frozen=True)
class RecoveryReport:
    """Figures of the closed loop (None where there is nothing to measure yet)."""

    cases: int
    contacted: int
    sla_decided: int
    contacted_within_sla: int
    share_within_sla: float | None
    median_hours_to_contact: float | None
    median_hours_to_resolve: float | None
    resurveys_answered: int
    mean_original_score: float | None
    mean_resurvey_score: float | None
    mean_score_change: float | None
    window_days: int
    repurchase: pd.DataFrame | None = field(default=None, compare=False)
    closed_loop: ClosedLoopEffect | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``repurchase`` as a list of rows."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("repurchase", "closed_loop")}
        out["repurchase"] = None if self.repurchase is None else self.repurchase.to_dict("records")
        out["closed_loop"] = None if self.closed_loop is None else self.closed_loop.to_dict()
        return out

    def __str__(self) -> str:
        def pct(x: float | None) -> str:
            return "n/a" if x is None or x != x else f"{100 * x:.1f}%"  # None or NaN (0 of 0)

        def num(x: float | None, unit: str = "") -> str:
            return "n/a" if x is None else f"{x:.1f}{unit}"

        lines = [
            f"cases: {self.cases}, contacted: {self.contacted}",
            f"contacted within SLA: {self.contacted_within_sla}/{self.sla_decided} ({pct(self.share_within_sla)})",
            f"median time to contact: {num(self.median_hours_to_contact, ' h')}, "
            f"to resolve: {num(self.median_hours_to_resolve, ' h')}",
            f"re-surveys answered: {self.resurveys_answered}, score {num(self.mean_original_score)} -> "
            f"{num(self.mean_resurvey_score)} (change {num(self.mean_score_change)})",
        ]
        if self.repurchase is None:
            lines.append("repurchase: n/a (needs the workspace's feedback and transactions tables)")
        else:
            for row in self.repurchase.to_dict("records"):
                lines.append(f"repurchase within {self.window_days} days, {row['group']}: "
                             f"{row['repurchased']}/{row['n']} ({pct(row['rate'])})")
        if self.closed_loop is not None:
            lines.extend(self.closed_loop.lines())
        return "\n".join(lines)


def _hours(delta: pd.Series) -> float | None:
    values = delta.dropna()
    return None if values.empty else float(values.dt.total_seconds().median() / 3600)


def recovery_report(
    store: AppStore,
    workspace: Any | None = None,
    *,
    window_days: int = 90,
    detractors_only: bool = True,
    now: datetime | None = None,
) -> RecoveryReport:
    """Compute the recovery figures from the app store (and the workspace, for repurchase).

    Parameters
    ----------
    store
        The application store with the cases.
    workspace
        A :class:`clvlab.Workspace` with ``feedback`` and ``transactions``; None (or a workspace
        without them) skips repurchase.
    window_days
        How long after the response a purchase counts as a repurchase.
    detractors_only
        Only cases opened from NPS 0-6 (False: every case).
    now
        The time the SLA of uncontacted cases is judged at (default: now).
    """
    now = now or utcnow()
    with store.session() as session:
        rows = session.execute(select(
            Case.id, Case.response_id, Case.metric, Case.score, Case.opened_at, Case.due_at,
            Case.first_contact_at, Case.resolved_at, Case.closed_at, Case.state, Case.customer_id)).all()
        surveys = session.execute(select(Resurvey.case_id, Resurvey.score, Resurvey.answered_at)
                                  .where(Resurvey.answered_at.is_not(None))).all()
    columns = ["id", "response_id", "metric", "score", "opened_at", "due_at", "first_contact_at",
               "resolved_at", "closed_at", "state", "customer_id"]
    cases = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for col in ("opened_at", "due_at", "first_contact_at", "resolved_at", "closed_at"):
        cases[col] = pd.to_datetime(cases[col], utc=True)
    if detractors_only:
        is_nps = cases["metric"].astype("string").str.lower().eq("nps").fillna(False)
        cases = cases[is_nps & pd.to_numeric(cases["score"]).le(6).fillna(False)]
    loop = closed_loop_effect(cases, workspace, window_days=window_days) if detractors_only else None
    cases = cases[cases["state"] != "held_out"]  # the holdout is nobody's work: no SLA, no contact
    contacted = cases["first_contact_at"].notna()
    met = contacted & (cases["first_contact_at"] <= cases["due_at"])
    decided = contacted | (cases["due_at"] < pd.Timestamp(now))
    answered = pd.DataFrame([tuple(r) for r in surveys], columns=["id", "resurvey_score", "answered_at"])
    answered = answered.sort_values("answered_at").drop_duplicates("id", keep="last")
    pairs = cases.merge(answered, on="id").dropna(subset=["score", "resurvey_score"])
    repurchase = None
    if workspace is not None and {"feedback", "transactions"} <= set(workspace.tables()):
        closed_ids = set(cases.loc[cases["closed_at"].notna(), "response_id"].astype(str))
        repurchase = repurchase_rates(workspace, closed_ids, window_days=window_days)
    n_decided = int(decided.sum())
    return RecoveryReport(
        cases=len(cases),
        contacted=int(contacted.sum()),
        sla_decided=n_decided,
        contacted_within_sla=int(met.sum()),
        share_within_sla=float(met.sum() / n_decided) if n_decided else None,
        median_hours_to_contact=_hours(cases["first_contact_at"] - cases["opened_at"]),
        median_hours_to_resolve=_hours(cases["resolved_at"] - cases["opened_at"]),
        resurveys_answered=len(pairs),
        mean_original_score=float(pairs["score"].mean()) if len(pairs) else None,
        mean_resurvey_score=float(pairs["resurvey_score"].mean()) if len(pairs) else None,
        mean_score_change=float((pairs["resurvey_score"] - pairs["score"]).mean()) if len(pairs) else None,
        window_days=window_days,
        repurchase=repurchase,
        closed_loop=loop,
    )


def repurchase_rates(workspace: Any, closed_response_ids: set[str], *, window_days: int = 90) -> pd.DataFrame:
    """Repurchase within ``window_days`` of an NPS detractor response: closed case vs the others.

    Returns a frame with ``group`` (``closed case`` / ``no closed case``), ``n``, ``repurchased``
    and ``rate``.  The join runs in the workspace's engine (DuckDB, PostgreSQL, ...).
    """
    frame = repurchase_flags(workspace, window_days=window_days)
    frame["group"] = frame["response_id"].astype(str).isin(closed_response_ids).map(
        {True: "closed case", False: "no closed case"})
    out = (frame.groupby("group")["repurchased"].agg(n="size", repurchased="sum")
           .reindex(["closed case", "no closed case"], fill_value=0).reset_index())
    out["n"] = out["n"].astype(int)
    out["repurchased"] = out["repurchased"].astype(int)
    out["rate"] = [r / n if n else None for r, n in zip(out["repurchased"], out["n"], strict=True)]
    return out


def repurchase_flags(workspace: Any, *, window_days: int = 90) -> pd.DataFrame:
    """Per NPS detractor response whose window is complete: ``response_id`` and ``repurchased`` (0/1)."""
    import ibis

    fb = workspace.table("feedback")
    tx = workspace.table("transactions")
    horizon = tx.ordered_at.max().cast("timestamp").as_scalar()
    det = fb.filter(
        fb.metric.lower() == "nps", fb.score <= 6, fb.customer_id.notnull()
    ).select(response_id=fb.response_id, customer_id=fb.customer_id, responded_at=fb.responded_at.cast("timestamp"))
    det = det.filter(det.responded_at + ibis.interval(days=window_days) <= horizon)
    later = tx.select(tx.customer_id, ordered_at=tx.ordered_at.cast("timestamp"))
    joined = det.join(later, [
        det.customer_id == later.customer_id,
        later.ordered_at > det.responded_at,
        later.ordered_at <= det.responded_at + ibis.interval(days=window_days),
    ])
    bought = joined.select(joined.response_id).distinct().mutate(repurchased=ibis.literal(1))
    flags = det.left_join(bought, det.response_id == bought.response_id).select(
        det.response_id, repurchased=bought.repurchased.fill_null(0))
    frame = flags.execute()
    frame["response_id"] = frame["response_id"].astype(str)
    return frame
