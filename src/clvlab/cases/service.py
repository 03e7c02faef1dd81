"""CaseService: open cases from alerting feedback, move them through their states, keep the history.

States: ``open -> in_progress -> resolved -> closed``; ``reopen`` brings a resolved or closed case
back to ``open``.  The SLA is the time to first contact (the first move to ``in_progress``):
``cases list`` shows ``ok`` / ``due soon`` / ``overdue`` for cases not yet contacted and ``met`` /
``missed`` once contacted.  Every change is appended to ``case_history`` with actor, time,
from/to state and note.  Opening is idempotent: one response never opens two cases, even when
several processes open cases at once.

>>> import clvlab
>>> svc = clvlab.CaseService(clvlab.open_app_store("shop-app.sqlite"))   # doctest: +SKIP
>>> report = svc.open_cases(alerts, clv=scores["clv"])                  # doctest: +SKIP
>>> svc.start(report.opened[0], actor="store-12")                       # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clvlab.cases.notify import Notification, Notifier, enqueue, flush_outbox
from clvlab.cases.owners import owner_lookup
from clvlab.cases.rules import CasePolicy
from clvlab.cases.store import (
    AppStore,
    Case,
    CaseError,
    CaseEvent,
    CaseNotFoundError,
    Owner,
    Resurvey,
    utcnow,
)
from clvlab.errors import DataValidationError, Issue

STATES = ("open", "in_progress", "resolved", "closed")
#: action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({"open"}), "in_progress"),
    "resolve": (frozenset({"open", "in_progress"}), "resolved"),  # from open: contact recorded too
    "close": (frozenset({"resolved"}), "closed"),
    "reopen": (frozenset({"resolved", "closed"}), "open"),
}
_HINT = {"open": "start (or resolve with a root cause)", "in_progress": "resolve", "resolved": "close (or reopen)", "closed": "reopen"}


@dataclass(frozen=True)
class CaseView:
    """A case as read from the store, with its SLA state at the time it was read."""

    id: int
    response_id: str
    customer_id: str | None
    store_id: str | None
    product_id: str | None
    metric: str | None
    score: float | None
    comment: str | None
    reasons: str
    responded_at: datetime | None
    clv: float | None
    priority: str
    owner_id: str | None
    state: str
    root_cause: str | None
    opened_at: datetime
    due_at: datetime
    first_contact_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    sla_state: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (datetimes kept as datetimes)."""
        return asdict(self)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a case's history."""

    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


@dataclass(frozen=True)
class ResurveyView:
    """A re-survey: the token and link the survey page accepts, and its answer once given."""

    case_id: int
    token: str
    link: str
    metric: str | None
    created_at: datetime
    score: float | None
    answered_at: datetime | None


@dataclass(frozen=True)
class OpenReport:
    """What :meth:`CaseService.open_cases` did."""

    opened: list[int]
    already_open: int
    unassigned: int

    def __str__(self) -> str:
        extra = f", {self.unassigned} without an owner" if self.unassigned else ""
        return f"{len(self.opened)} cases opened, {self.already_open} responses already had a case{extra}"


_CASE_FIELDS = [f.name for f in fields(CaseView) if f.name != "sla_state"]


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        ts = value if value.tzinfo is not None else value.tz_localize("UTC")
        return ts.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


class CaseService:
    """Open, assign, progress and follow up cases in the application store.

    Parameters
    ----------
    store
        The open :class:`~clvlab.cases.store.AppStore`.
    policy
        Priority by CLV and SLA hours (:class:`~clvlab.cases.rules.CasePolicy`).
    notifiers
        Delivery channels; when given, new cases and assignments are sent at once (and kept in the
        outbox when delivery fails).  Without notifiers they wait in the outbox.
    survey_base_url
        Prefix of re-survey links (the token is appended).
    clock
        Returns the current time (aware UTC); tests pass a fixed clock.
    """

    def __init__(self, store: AppStore, *, policy: CasePolicy | None = None,
                 notifiers: Sequence[Notifier] = (), survey_base_url: str = "/s/",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.policy = policy or CasePolicy()
        self.notifiers = list(notifiers)
        self.survey_base_url = survey_base_url
        self.clock = clock

    # ------------------------------------------------------------------ opening
    def open_cases(self, alerts: pd.DataFrame, *, clv: pd.Series | pd.DataFrame | None = None,
                   actor: str = "alerts") -> OpenReport:
        """Open one case per alerting response that has none yet.

        Parameters
        ----------
        alerts
            Feedback rows in the canonical columns (``response_id`` required; ``customer_id``,
            ``store_id``, ``product_id``, ``metric``, ``score``, ``comment``, ``responded_at``,
            ``reasons`` used when present), e.g. from :func:`clvlab.cases.rules.evaluate_rules`.
        clv
            CLV per customer: a Series indexed by ``customer_id`` or a frame with ``customer_id``
            and ``clv``.  Priority comes from where the customer ranks among all of them.
        """
        if "response_id" not in alerts.columns:
            msg = "cannot open cases"
            raise DataValidationError(msg, [Issue("required column missing", column="response_id",
                                                  source="alerts")])
        values = _clv_series(clv)
        cuts = self.policy.thresholds(values)
        now = self.clock()
        rows = alerts.drop_duplicates("response_id").to_dict("records")
        blank = [i for i, r in enumerate(rows, start=1) if _clean(r.get("response_id")) in (None, "")]
        if blank:
            msg = "cannot open cases"
            raise DataValidationError(msg, [Issue("response_id is empty", row=i, column="response_id",
                                                  source="alerts") for i in blank])
        opened: list[int] = []
        unassigned = 0
        with self.store.session() as session:
            existing: set[str] = set()
            ids = [str(r["response_id"]) for r in rows]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                existing |= set(session.scalars(select(Case.response_id).where(Case.response_id.in_(chunk))))
            owner_of = owner_lookup(session)
            records = []
            for r in rows:
                rid = str(r["response_id"])
                if rid in existing:
                    continue
                cust = _clean(r.get("customer_id"))
                cust = None if cust is None else str(cust)
                value = values.get(cust) if cust is not None else None
                value = _clean(value)
                priority = self.policy.priority_for(value, cuts)
                store_id, product_id = _clean(r.get("store_id")), _clean(r.get("product_id"))
                owner = owner_of(store_id, product_id)
                unassigned += owner is None
                records.append({
                    "response_id": rid, "customer_id": cust,
                    "store_id": None if store_id is None else str(store_id),
                    "product_id": None if product_id is None else str(product_id),
                    "metric": _clean(r.get("metric")), "score": _clean(r.get("score")),
                    "comment": _clean(r.get("comment")), "reasons": str(_clean(r.get("reasons")) or ""),
                    "responded_at": _timestamp(r.get("responded_at")),
                    "clv": value, "priority": priority, "owner_id": owner, "state": "open",
                    "opened_at": now, "due_at": self.policy.due(priority, now), "updated_at": now,
                })
            if records:
                insert = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(Case)
                stmt = insert.on_conflict_do_nothing(index_elements=["response_id"]).returning(
                    Case.id, Case.response_id)
                new = {rid: cid for cid, rid in session.execute(stmt, records).all()}
                by_rid = {rec["response_id"]: rec for rec in records}
                for rid, cid in sorted(new.items(), key=lambda kv: kv[1]):
                    rec = by_rid[rid]
                    note = f"reasons: {rec['reasons']}; priority {rec['priority']}; owner {rec['owner_id']}"
                    session.add(CaseEvent(case_id=cid, at=now, actor=actor, action="open",
                                          from_state=None, to_state="open", note=note))
                    self._notify(session, cid, rec, rec["owner_id"], "new case", now)
                opened = sorted(new.values())
                unassigned -= sum(1 for rid, rec in by_rid.items() if rid not in new and rec["owner_id"] is None)
        self._deliver()
        return OpenReport(opened=opened, already_open=len(rows) - len(opened), unassigned=unassigned)

    # ------------------------------------------------------------------ reading
    def get(self, case_id: int) -> CaseView:
        """One case; :class:`CaseNotFoundError` if there is none."""
        with self.store.session() as session:
            return self._view(self._case(session, case_id))

    def list_cases(self, *, owner: str | None = None, state: str | Iterable[str] | None = None,
                   limit: int | None = None) -> list[CaseView]:
        """Cases, oldest first, optionally of one owner and in some states."""
        query = select(Case).order_by(Case.opened_at, Case.id)
        if owner is not None:
            query = query.where(Case.owner_id == owner)
        if state is not None:
            wanted = [state] if isinstance(state, str) else list(state)
            bad = [s for s in wanted if s not in STATES]
            if bad:
                msg = f"unknown case state {bad[0]!r}; states: {', '.join(STATES)}"
                raise CaseError(msg)
            query = query.where(Case.state.in_(wanted))
        if limit is not None:
            query = query.limit(limit)
        with self.store.session() as session:
            return [self._view(c) for c in session.scalars(query)]

    def history(self, case_id: int) -> list[HistoryEntry]:
        """Every change of the case, in order."""
        with self.store.session() as session:
            self._case(session, case_id)
            events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
            return [HistoryEntry(e.at, e.actor, e.action, e.from_state, e.to_state, e.note) for e in events]

    def resurveys(self, case_id: int) -> list[ResurveyView]:
        """The re-surveys of a case, oldest first."""
        with self.store.session() as session:
            found = session.scalars(select(Resurvey).where(Resurvey.case_id == case_id).order_by(Resurvey.id))
            return [_resurvey_view(r) for r in found]

    # ------------------------------------------------------------------ changes
    def start(self, case_id: int, *, actor: str = "user", note: str | None = None) -> CaseView:
        """Contact made / work begun: ``open -> in_progress`` (the first one stops the SLA clock)."""
        return self._move(case_id, "start", actor=actor, note=note)

    def resolve(self, case_id: int, *, root_cause: str | None = None, actor: str = "user",
                note: str | None = None) -> CaseView:
        """``in_progress -> resolved``; needs a root cause (given here or recorded before).

        An ``open`` case resolved in one step (called back and fixed at once) is started first:
        its history shows the contact (which stops the SLA clock) and then the resolution."""
        return self._move(case_id, "resolve", actor=actor, note=note, root_cause=root_cause)

    def close(self, case_id: int, *, actor: str = "user", note: str | None = None) -> CaseView:
        """``resolved -> closed``."""
        return self._move(case_id, "close", actor=actor, note=note)

    def reopen(self, case_id: int, *, actor: str = "user", note: str | None = None) -> CaseView:
        """``resolved`` or ``closed -> open``."""
        return self._move(case_id, "reopen", actor=actor, note=note)

    def assign(self, case_id: int, owner_id: str, *, actor: str = "user", note: str | None = None) -> CaseView:
        """Give the case to another owner (who is notified)."""
        now = self.clock()
        with self.store.session() as session:
            case = self._case(session, case_id, lock=True)
            if case.state == "closed":
                msg = f"case {case_id} is closed; reopen it before assigning it (clvlab cases reopen {case_id})"
                raise CaseError(msg)
            if session.get(Owner, owner_id) is None:
                msg = f"no owner '{owner_id}' in the app store; load owners first (clvlab cases owners load FILE)"
                raise CaseNotFoundError(msg)
            before = case.owner_id
            case.owner_id, case.updated_at = owner_id, now
            text = f"owner {before} -> {owner_id}" + (f"; {note}" if note else "")
            self._log(session, case, actor, "assign", case.state, case.state, text, now)
            self._notify(session, case.id, _case_record(case), owner_id, "case assigned", now)
            view = self._view(case)
        self._deliver()
        return view

    def add_note(self, case_id: int, note: str, *, actor: str = "user") -> CaseView:
        """Append a note to the history."""
        if not note.strip():
            msg = f"a note on case {case_id} must not be empty"
            raise CaseError(msg)
        now = self.clock()
        with self.store.session() as session:
            case = self._case(session, case_id, lock=True)
            case.updated_at = now
            self._log(session, case, actor, "note", case.state, case.state, note, now)
            return self._view(case)

    def record_root_cause(self, case_id: int, root_cause: str, *, actor: str = "user",
                          note: str | None = None) -> CaseView:
        """Record (or correct) the root cause, e.g. ``delivery``, ``product``, ``staff``."""
        cause = _cause(case_id, root_cause)
        now = self.clock()
        with self.store.session() as session:
            case = self._case(session, case_id, lock=True)
            text = f"root cause {case.root_cause} -> {cause}" + (f"; {note}" if note else "")
            case.root_cause, case.updated_at = cause, now
            self._log(session, case, actor, "root_cause", case.state, case.state, text, now)
            return self._view(case)

    def resurvey(self, case_id: int, *, actor: str = "user") -> ResurveyView:
        """Create a re-survey for a resolved or closed case (the unanswered one if it exists)."""
        now = self.clock()
        with self.store.session() as session:
            case = self._case(session, case_id, lock=True)
            if case.state not in {"resolved", "closed"}:
                msg = (f"case {case_id} is {case.state}; a re-survey follows the fix: "
                       f"resolve it first (clvlab cases resolve {case_id} --root-cause ...)")
                raise CaseError(msg)
            pending = session.scalars(select(Resurvey).where(
                Resurvey.case_id == case_id, Resurvey.answered_at.is_(None))).first()
            if pending is not None:
                return _resurvey_view(pending)
            token = secrets.token_urlsafe(18)
            row = Resurvey(case_id=case_id, token=token, link=f"{self.survey_base_url}{token}",
                           metric=case.metric, created_at=now)
            session.add(row)
            self._log(session, case, actor, "resurvey", case.state, case.state, f"link {row.link}", now)
            session.flush()
            return _resurvey_view(row)

    def record_resurvey_response(self, token: str, score: float, *, response_id: str | None = None,
                                 actor: str = "survey") -> ResurveyView:
        """Store the answer to a re-survey (called by the survey module when the customer replies)."""
        now = self.clock()
        with self.store.session() as session:
            row = session.scalars(select(Resurvey).where(Resurvey.token == token)).first()
            if row is None:
                msg = f"no re-survey with token {token!r}"
                raise CaseNotFoundError(msg)
            if row.answered_at is not None:
                msg = f"re-survey {token!r} of case {row.case_id} was already answered at {row.answered_at:%Y-%m-%d %H:%M}"
                raise CaseError(msg)
            row.score, row.response_id, row.answered_at = float(score), response_id, now
            case = self._case(session, row.case_id)
            self._log(session, case, actor, "resurvey_answered", case.state, case.state,
                      f"score {case.score} -> {float(score):g}", now)
            return _resurvey_view(row)

    # ------------------------------------------------------------------ internals
    def _move(self, case_id: int, action: str, *, actor: str, note: str | None,
              root_cause: str | None = None) -> CaseView:
        allowed, target = TRANSITIONS[action]
        now = self.clock()
        with self.store.session() as session:
            case = self._case(session, case_id, lock=True)
            if case.state not in allowed:
                msg = (f"case {case_id} cannot {action}: it is {case.state} and '{action}' needs "
                       f"{' or '.join(sorted(allowed))}; next step from {case.state}: {_HINT[case.state]}")
                raise CaseError(msg)
            if action == "resolve":
                if root_cause is not None:
                    case.root_cause = _cause(case_id, root_cause)
                if not case.root_cause:
                    msg = f"case {case_id} needs a root cause to be resolved (e.g. --root-cause delivery)"
                    raise CaseError(msg)
                if case.state == "open":
                    case.first_contact_at = case.first_contact_at or now
                    self._log(session, case, actor, "start", "open", "in_progress", "contacted", now)
                    case.state = "in_progress"
                case.resolved_at = now
            if action == "start" and case.first_contact_at is None:
                case.first_contact_at = now
            if action == "close":
                case.closed_at = now
            before = case.state
            case.state, case.updated_at = target, now
            text = note if action != "resolve" else f"root cause {case.root_cause}" + (f"; {note}" if note else "")
            self._log(session, case, actor, action, before, target, text, now)
            return self._view(case)

    @staticmethod
    def _case(session: Session, case_id: int, *, lock: bool = False) -> Case:
        query = select(Case).where(Case.id == int(case_id))
        case = session.scalars(query.with_for_update() if lock else query).first()
        if case is None:
            msg = f"no case {case_id} in the app store (clvlab cases list shows the cases)"
            raise CaseNotFoundError(msg)
        return case

    @staticmethod
    def _log(session: Session, case: Case, actor: str, action: str, before: str | None,
             after: str | None, note: str | None, now: datetime) -> None:
        session.add(CaseEvent(case_id=case.id, at=now, actor=actor, action=action,
                              from_state=before, to_state=after, note=note))

    def _view(self, case: Case) -> CaseView:
        data = {name: getattr(case, name) for name in _CASE_FIELDS}
        sla = self.policy.sla_state(opened_at=case.opened_at, due_at=case.due_at, now=self.clock(),
                                    done_at=case.first_contact_at)
        return CaseView(**data, sla_state=sla)

    def _notify(self, session: Session, case_id: int, record: dict[str, Any], owner_id: str | None,
                what: str, now: datetime) -> None:
        owner = session.get(Owner, owner_id) if owner_id else None
        if owner is None:
            return
        subject = f"[clvlab] {what} #{case_id} ({record['priority']}): {record['reasons'] or 'alert'}"
        payload = {"event": what.replace(" ", "_"), "case_id": case_id, "owner_id": owner_id,
                   **{k: record.get(k) for k in ("priority", "response_id", "customer_id", "store_id",
                                                 "product_id", "metric", "score", "comment", "reasons",
                                                 "due_at")}}
        if owner.webhook:
            enqueue(session, Notification("webhook", owner.webhook, subject, payload), case_id=case_id, now=now)
        if owner.email:
            enqueue(session, Notification("email", owner.email, subject, payload), case_id=case_id, now=now)

    def _deliver(self) -> None:
        if self.notifiers:
            flush_outbox(self.store, self.notifiers, now=self.clock())


def _cause(case_id: int, root_cause: str) -> str:
    cause = root_cause.strip().lower()
    if not cause:
        msg = f"the root cause of case {case_id} must not be empty (e.g. delivery, product, staff, price)"
        raise CaseError(msg)
    return cause


def _timestamp(value: Any) -> datetime | None:
    value = _clean(value)
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return (ts if ts.tzinfo is not None else ts.tz_localize("UTC")).to_pydatetime()


def _case_record(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in _CASE_FIELDS}


def _resurvey_view(row: Resurvey) -> ResurveyView:
    return ResurveyView(row.case_id, row.token, row.link, row.metric, row.created_at, row.score, row.answered_at)


def _clv_series(clv: pd.Series | pd.DataFrame | None) -> pd.Series:
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
