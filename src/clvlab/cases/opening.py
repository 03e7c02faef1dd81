"""Opening cases from alerting responses, and giving owners to cases opened before owners existed.

Both work inside the caller's session (one transaction) and write the history and the outbox
entries of what they did there too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clvlab.cases.model import OpenReport, case_record, clean, to_utc
from clvlab.cases.notify import notify_owner
from clvlab.cases.owners import owner_lookup
from clvlab.cases.rules import CasePolicy
from clvlab.errors import DataValidationError, Issue
from clvlab.store import Case, CaseEvent

_CHUNK = 500


def open_cases(session: Session, alerts: pd.DataFrame, *, policy: CasePolicy, clv: pd.Series,
               actor: str, now: datetime, timezone: str) -> OpenReport:
    """Open one case per alerting response that has none yet (see :meth:`CaseService.open_cases`)."""
    if "response_id" not in alerts.columns:
        msg = "cannot open cases"
        raise DataValidationError(msg, [Issue("required column missing", column="response_id", source="alerts")])
    cuts = policy.thresholds(clv)
    blank = [i for i, v in enumerate(alerts["response_id"], start=1) if clean(v) in (None, "")]  # rows of alerts
    if blank:
        msg = "cannot open cases"
        raise DataValidationError(msg, [Issue("response_id is empty", row=i, column="response_id",
                                              source="alerts") for i in blank])
    rows = alerts.drop_duplicates("response_id").to_dict("records")
    existing: set[str] = set()
    ids = [str(r["response_id"]) for r in rows]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        existing |= set(session.scalars(select(Case.response_id).where(Case.response_id.in_(chunk))))
    owner_of = owner_lookup(session)
    records = [_record(r, clv, cuts, policy, owner_of, now, timezone) for r in rows
               if str(r["response_id"]) not in existing]
    opened: list[int] = []
    unassigned = held = 0
    if records:
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Case)
        stmt = insert.on_conflict_do_nothing(index_elements=["response_id"]).returning(Case.id, Case.response_id)
        new = {rid: cid for cid, rid in session.execute(stmt, records).all()}
        by_rid = {rec["response_id"]: rec for rec in records}
        for rid, cid in sorted(new.items(), key=lambda kv: kv[1]):
            rec = by_rid[rid]
            if rec["state"] == "held_out":
                session.add(CaseEvent(case_id=cid, at=now, actor=actor, action="hold out", from_state=None,
                                      to_state="held_out", note=f"reasons: {rec['reasons']}; kept uncontacted "
                                      "(closed-loop holdout)"))
                held += 1
                continue
            note = f"reasons: {rec['reasons']}; priority {rec['priority']}; owner {rec['owner_id']}"
            session.add(CaseEvent(case_id=cid, at=now, actor=actor, action="open",
                                  from_state=None, to_state="open", note=note))
            notify_owner(session, cid, rec, rec["owner_id"], "new case", now)
            unassigned += rec["owner_id"] is None
        opened = sorted(cid for rid, cid in new.items() if by_rid[rid]["state"] != "held_out")
    assigned = assign_unowned(session, actor=actor, now=now)
    return OpenReport(opened=opened, already_open=len(rows) - len(opened) - held, unassigned=unassigned,
                      assigned=assigned, held_out=held)


def assign_unowned(session: Session, *, actor: str, now: datetime) -> int:
    """Give every case without an owner (and not closed) the owner the owners table names now.

    Cases opened before the owners were loaded get their owner this way (``clvlab alerts run``
    again does it); each assignment is in the history and notified.  Returns how many.
    """
    owner_of = owner_lookup(session)
    done = 0
    query = select(Case).where(Case.owner_id.is_(None), Case.state.not_in(("closed", "held_out"))).order_by(Case.id)
    for case in session.scalars(query.with_for_update()):
        owner = owner_of(case.store_id, case.product_id)
        if owner is None:
            continue
        case.owner_id, case.updated_at = owner, now
        session.add(CaseEvent(case_id=case.id, at=now, actor=actor, action="assign", from_state=case.state,
                              to_state=case.state, note=f"owner None -> {owner} (from the owners table)"))
        notify_owner(session, case.id, case_record(case), owner, "case assigned", now)
        done += 1
    return done


def _record(r: dict[Any, Any], clv: pd.Series, cuts: Any, policy: CasePolicy, owner_of: Any,
            now: datetime, timezone: str) -> dict[str, Any]:
    cust = clean(r.get("customer_id"))
    cust = None if cust is None else str(cust)
    value = clean(clv.get(cust)) if cust is not None else None
    priority = policy.priority_for(value, cuts)
    held = bool(clean(r.get("held_out")))
    store_id, product_id = clean(r.get("store_id")), clean(r.get("product_id"))
    return {
        "response_id": str(r["response_id"]), "customer_id": cust,
        "store_id": None if store_id is None else str(store_id),
        "product_id": None if product_id is None else str(product_id),
        "metric": clean(r.get("metric")), "score": clean(r.get("score")),
        "comment": clean(r.get("comment")), "reasons": str(clean(r.get("reasons")) or ""),
        "responded_at": to_utc(r.get("responded_at"), timezone),
        "clv": value, "priority": priority, "owner_id": None if held else owner_of(store_id, product_id),
        "state": "held_out" if held else "open",
        "opened_at": now, "due_at": policy.due(priority, now), "updated_at": now,
    }


def clv_series(clv: pd.Series | pd.DataFrame | None) -> pd.Series:
    """CLV per customer id (str) from a Series indexed by customer or a frame with ``customer_id, clv``."""
    if clv is None:
        return pd.Series(dtype=float)
    if isinstance(clv, pd.DataFrame):
        if "clv" not in clv.columns:
            msg = "the CLV frame has no 'clv' column"
            raise DataValidationError(msg, hint="pass the 'scores' table (customer_id, clv)")
        frame = clv.set_index("customer_id") if "customer_id" in clv.columns else clv
        clv = frame["clv"]
    series = pd.to_numeric(clv, errors="coerce")
    series.index = series.index.astype(str)
    return series[~series.index.duplicated()]
