"""CaseService: open cases from alerting feedback, move them through their states, keep the history.

States: ``open -> in_progress -> resolved -> closed``; ``reopen`` brings a resolved or closed case
back to ``open``.  The SLA is the time to first contact (the first move to ``in_progress``):
``cases list`` shows ``ok`` / ``due soon`` / ``overdue`` for cases not yet contacted and ``met`` /
``missed`` once contacted.  Every change is appended to ``case_history`` with actor, time,
from/to state and note.  Opening is idempotent: one response never opens two cases, even when
several processes open cases at once.

Every method takes an optional ``session``: given one, the method writes in the caller's
transaction (a response, its case and the outbox entry commit together; the caller delivers the
outbox after committing); without one it runs in its own transaction.

>>> import clvlab
>>> svc = clvlab.CaseService(clvlab.open_app_store("shop-app.sqlite"))   # doctest: +SKIP
>>> report = svc.open_cases(alerts, clv=scores["clv"])                  # doctest: +SKIP
>>> svc.start(report.opened[0], actor="store-12")                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from clvlab.cases import resurvey as _resurvey
from clvlab.cases.model import (
    NEXT_STEP,
    STATES,
    TRANSITIONS,
    CaseError,
    CaseNotFoundError,
    CaseView,
    HistoryEntry,
    OpenReport,
    ResurveyView,
    case_record,
    log_event,
    normalise_cause,
)
from clvlab.cases.notify import Notifier, flush_outbox, notify_owner
from clvlab.cases.opening import assign_unowned, clv_series, open_cases
from clvlab.cases.rules import CasePolicy
from clvlab.errors import Hint
from clvlab.settings import get_settings
from clvlab.store import AppStore, Case, CaseEvent, Owner, Resurvey, utcnow

__all__ = ["CaseError", "CaseNotFoundError", "CaseService", "CaseView", "HistoryEntry", "OpenReport",
           "ResurveyView"]


class CaseService:
    """Open, assign, progress and follow up cases in the application store.

    Parameters
    ----------
    store
        The open :class:`~clvlab.store.AppStore`.
    policy
        Priority by CLV and SLA hours (:class:`~clvlab.cases.rules.CasePolicy`).
    notifiers
        Delivery channels; when given, new cases and assignments are sent at once (and kept in the
        outbox when delivery fails).  Without notifiers they wait in the outbox.
    survey_base_url
        Prefix of re-survey links (the token is appended); default ``CLVLAB_PUBLIC_URL`` + ``/s/``.
    timezone
        Business time zone naive response times are in (the workspace's); default ``CLVLAB_TIMEZONE``.
    clock
        Returns the current time (aware UTC); tests pass a fixed clock.
    """

    def __init__(self, store: AppStore, *, policy: CasePolicy | None = None,
                 notifiers: Sequence[Notifier] = (), survey_base_url: str | None = None,
                 timezone: str | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.policy = policy or CasePolicy()
        self.notifiers = list(notifiers)
        if survey_base_url is None or timezone is None:
            settings = get_settings()
            survey_base_url = survey_base_url or settings.survey_link_base()
            timezone = timezone or settings.timezone
        self.survey_base_url = survey_base_url
        self.timezone = timezone
        self.clock = clock

    @contextmanager
    def _tx(self, session: Session | None, *, deliver: bool = False) -> Iterator[Session]:
        """The caller's session, or an own transaction (then the outbox is delivered if ``deliver``)."""
        if session is not None:
            yield session
            return
        with self.store.session() as own:
            yield own
        if deliver:
            self._deliver()

    # ------------------------------------------------------------------ opening
    def open_cases(self, alerts: pd.DataFrame, *, clv: pd.Series | pd.DataFrame | None = None,
                   actor: str = "alerts", session: Session | None = None) -> OpenReport:
        """Open one case per alerting response that has none yet; give owners to earlier unowned cases.

        Parameters
        ----------
        alerts
            Feedback rows in the canonical columns (``response_id`` required; ``customer_id``,
            ``store_id``, ``product_id``, ``metric``, ``score``, ``comment``, ``responded_at``,
            ``reasons`` used when present), e.g. from :func:`clvlab.cases.rules.evaluate_rules`.
            Naive ``responded_at`` values are read in the business time zone.
        clv
            CLV per customer: a Series indexed by ``customer_id`` or a frame with ``customer_id``
            and ``clv``.  Priority comes from where the customer ranks among all of them.
        """
        values = clv_series(clv)
        with self._tx(session, deliver=True) as s:
            return open_cases(s, alerts, policy=self.policy, clv=values, actor=actor, now=self.clock(),
                              timezone=self.timezone)

    def assign_unowned(self, *, actor: str = "owners", session: Session | None = None) -> int:
        """Give every case without an owner (not closed) the owner the owners table now names; how many."""
        with self._tx(session, deliver=True) as s:
            return assign_unowned(s, actor=actor, now=self.clock())

    # ------------------------------------------------------------------ reading
    def get(self, case_id: int, *, session: Session | None = None) -> CaseView:
        """One case; :class:`CaseNotFoundError` if there is none."""
        with self._tx(session) as s:
            return self._view(self._case(s, case_id))

    def list_cases(self, *, owner: str | None = None, state: str | Iterable[str] | None = None,
                   limit: int | None = None, session: Session | None = None) -> list[CaseView]:
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
        with self._tx(session) as s:
            return [self._view(c) for c in s.scalars(query)]

    def view(self, case: Case) -> CaseView:
        """The view of a case row read in the caller's session (e.g. through a server scope)."""
        return self._view(case)

    def history(self, case_id: int, *, session: Session | None = None) -> list[HistoryEntry]:
        """Every change of the case, in order."""
        with self._tx(session) as s:
            self._case(s, case_id)
            events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
            return [HistoryEntry(e.at, e.actor, e.action, e.from_state, e.to_state, e.note) for e in events]

    def resurveys(self, case_id: int, *, session: Session | None = None) -> list[ResurveyView]:
        """The re-surveys of a case, oldest first."""
        with self._tx(session) as s:
            found = s.scalars(select(Resurvey).where(Resurvey.case_id == case_id).order_by(Resurvey.id))
            return [ResurveyView.of(r) for r in found]

    # ------------------------------------------------------------------ changes
    def start(self, case_id: int, *, actor: str = "user", note: str | None = None,
              session: Session | None = None) -> CaseView:
        """Contact made / work begun: ``open -> in_progress`` (the first one stops the SLA clock)."""
        return self._move(case_id, "start", actor=actor, note=note, session=session)

    def resolve(self, case_id: int, *, root_cause: str | None = None, actor: str = "user",
                note: str | None = None, session: Session | None = None) -> CaseView:
        """``in_progress -> resolved``; needs a root cause (given here or recorded before).

        An ``open`` case resolved in one step (called back and fixed at once) is started first:
        its history shows the contact (which stops the SLA clock) and then the resolution."""
        return self._move(case_id, "resolve", actor=actor, note=note, cause=root_cause, session=session)

    def close(self, case_id: int, *, actor: str = "user", note: str | None = None,
              session: Session | None = None) -> CaseView:
        """``resolved -> closed``."""
        return self._move(case_id, "close", actor=actor, note=note, session=session)

    def reopen(self, case_id: int, *, actor: str = "user", note: str | None = None,
               session: Session | None = None) -> CaseView:
        """``resolved`` or ``closed -> open``."""
        return self._move(case_id, "reopen", actor=actor, note=note, session=session)

    def assign(self, case_id: int, owner_id: str, *, actor: str = "user", note: str | None = None,
               session: Session | None = None) -> CaseView:
        """Give the case to another owner (who is notified)."""
        now = self.clock()
        with self._tx(session, deliver=True) as s:
            case = self._case(s, case_id, lock=True)
            if case.state == "closed":
                msg = f"case {case_id} is closed; reopen it before assigning it (clvlab cases reopen {case_id})"
                raise CaseError(msg)
            if s.get(Owner, owner_id) is None:
                msg = f"no owner '{owner_id}' in the app store; load owners first (clvlab cases owners load FILE)"
                raise CaseNotFoundError(msg)
            before = case.owner_id
            case.owner_id, case.updated_at = owner_id, now
            text = f"owner {before} -> {owner_id}" + (f"; {note}" if note else "")
            log_event(s, case, actor, "assign", case.state, case.state, text, now)
            notify_owner(s, case.id, case_record(case), owner_id, "case assigned", now)
            return self._view(case)

    def add_note(self, case_id: int, note: str, *, actor: str = "user",
                 session: Session | None = None) -> CaseView:
        """Append a note to the history."""
        if not note.strip():
            msg = f"a note on case {case_id} must not be empty"
            raise CaseError(msg)
        now = self.clock()
        with self._tx(session) as s:
            case = self._case(s, case_id, lock=True)
            case.updated_at = now
            log_event(s, case, actor, "note", case.state, case.state, note, now)
            return self._view(case)

    def record_root_cause(self, case_id: int, root_cause: str, *, actor: str = "user",
                          note: str | None = None, session: Session | None = None) -> CaseView:
        """Record (or correct) the root cause, e.g. ``delivery``, ``product``, ``staff``."""
        cause = normalise_cause(case_id, root_cause)
        now = self.clock()
        with self._tx(session) as s:
            case = self._case(s, case_id, lock=True)
            text = f"root cause {case.root_cause} -> {cause}" + (f"; {note}" if note else "")
            case.root_cause, case.updated_at = cause, now
            log_event(s, case, actor, "root_cause", case.state, case.state, text, now)
            return self._view(case)

    def resurvey(self, case_id: int, *, actor: str = "user", session: Session | None = None) -> ResurveyView:
        """Create a re-survey for a resolved or closed case (the unanswered one if it exists).

        Its link is ``survey_base_url`` + token: set ``CLVLAB_PUBLIC_URL`` to the address customers
        reach (e.g. ``https://survey.example.com``)."""
        with self._tx(session) as s:
            case = self._case(s, case_id, lock=True)
            return _resurvey.create(s, case, base_url=self.survey_base_url, actor=actor, now=self.clock())

    def record_resurvey_response(self, token: str, score: float, *, response_id: str | None = None,
                                 actor: str = "survey", session: Session | None = None) -> ResurveyView:
        """Store the answer to a re-survey (called by the survey module when the customer replies)."""
        with self._tx(session) as s:
            return _resurvey.answer(s, _resurvey.by_token(s, token), score, response_id=response_id,
                                    actor=actor, now=self.clock())

    def answer_resurvey(self, case_id: int, score: float, *, response_id: str | None = None,
                        actor: str = "user", session: Session | None = None) -> ResurveyView:
        """Record the answer to a case's pending re-survey (given by phone, e-mail, a survey export)."""
        with self._tx(session) as s:
            return _resurvey.answer(s, _resurvey.pending(s, case_id), score, response_id=response_id,
                                    actor=actor, now=self.clock())

    # ------------------------------------------------------------------ internals
    def _move(self, case_id: int, action: str, *, actor: str, note: str | None, session: Session | None,
              cause: str | None = None) -> CaseView:
        allowed, target = TRANSITIONS[action]
        now = self.clock()
        with self._tx(session) as s:
            case = self._case(s, case_id, lock=True)
            if case.state not in allowed:
                msg = (f"case {case_id} cannot {action}: it is {case.state} and '{action}' needs "
                       f"{' or '.join(sorted(allowed))}; next step from {case.state}: {NEXT_STEP[case.state]}")
                raise CaseError(msg)
            if action == "resolve":
                if cause is not None:
                    case.root_cause = normalise_cause(case_id, cause)
                if not case.root_cause:
                    msg = f"case {case_id} needs a root cause to be resolved"
                    raise CaseError(msg, hint=Hint("or product, staff, price, ...", option="root_cause",
                                                   value="delivery"))
                if case.state == "open":
                    case.first_contact_at = case.first_contact_at or now
                    log_event(s, case, actor, "start", "open", "in_progress", "contacted", now)
                    case.state = "in_progress"
                case.resolved_at = now
            if action == "start" and case.first_contact_at is None:
                case.first_contact_at = now
            if action == "close":
                case.closed_at = now
            before = case.state
            case.state, case.updated_at = target, now
            text = note if action != "resolve" else f"root cause {case.root_cause}" + (f"; {note}" if note else "")
            log_event(s, case, actor, action, before, target, text, now)
            return self._view(case)

    @staticmethod
    def _case(session: Session, case_id: int, *, lock: bool = False) -> Case:
        query = select(Case).where(Case.id == int(case_id))
        case = session.scalars(query.with_for_update() if lock else query).first()
        if case is None:
            msg = f"no case {case_id} in the app store (clvlab cases list shows the cases)"
            raise CaseNotFoundError(msg)
        return case

    def _view(self, case: Case) -> CaseView:
        sla = self.policy.sla_state(opened_at=case.opened_at, due_at=case.due_at, now=self.clock(),
                                    done_at=case.first_contact_at)
        return CaseView(**case_record(case), sla_state=sla)

    def _deliver(self) -> None:
        if self.notifiers:
            flush_outbox(self.store, self.notifiers, now=self.clock())

