"""Re-surveys: the follow-up question after a fix, its public link, and recording its answer.

A re-survey's link is ``<public URL>/s/<token>`` (``CLVLAB_PUBLIC_URL``); the answer comes from
the survey page (next) or is recorded by hand (``clvlab cases resurvey-answer``) and counts in
``clvlab cases recovery``.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clvlab.cases.model import CaseError, CaseNotFoundError, ResurveyView, log_event
from clvlab.data.contract import FEEDBACK
from clvlab.store import Case, Resurvey


def create(session: Session, case: Case, *, base_url: str | None, actor: str, now: datetime) -> ResurveyView:
    """A re-survey for a resolved or closed case (its unanswered one if there is one)."""
    if case.state not in {"resolved", "closed"}:
        msg = (f"case {case.id} is {case.state}; a re-survey follows the fix: "
               f"resolve it first (clvlab cases resolve {case.id} --root-cause ...)")
        raise CaseError(msg)
    found = session.scalars(select(Resurvey).where(
        Resurvey.case_id == case.id, Resurvey.answered_at.is_(None))).first()
    if found is not None:
        return ResurveyView.of(found)
    if not base_url:
        msg = ("re-survey links need the address customers reach: set CLVLAB_PUBLIC_URL "
               "(e.g. https://survey.example.com)")
        raise CaseError(msg)
    token = secrets.token_urlsafe(18)
    row = Resurvey(case_id=case.id, token=token, link=f"{base_url}{token}", metric=case.metric, created_at=now)
    session.add(row)
    log_event(session, case, actor, "resurvey", case.state, case.state, f"link {row.link}", now)
    session.flush()
    return ResurveyView.of(row)


def by_token(session: Session, token: str) -> Resurvey:
    """The re-survey with ``token`` (locked for the answer)."""
    row = session.scalars(select(Resurvey).where(Resurvey.token == token).with_for_update()).first()
    if row is None:
        msg = f"no re-survey with token {token!r}"
        raise CaseNotFoundError(msg)
    return row


def pending(session: Session, case_id: int) -> Resurvey:
    """The unanswered re-survey of a case."""
    row = session.scalars(select(Resurvey).where(Resurvey.case_id == case_id, Resurvey.answered_at.is_(None))
                          .order_by(Resurvey.id.desc()).with_for_update()).first()
    if row is None:
        if session.get(Case, case_id) is None:
            msg = f"no case {case_id} in the app store (clvlab cases list shows the cases)"
            raise CaseNotFoundError(msg)
        msg = f"case {case_id} has no unanswered re-survey; create one first (clvlab cases resurvey {case_id})"
        raise CaseError(msg)
    return row


def answer(session: Session, row: Resurvey, score: float, *, response_id: str | None, actor: str,
           now: datetime) -> ResurveyView:
    """Record ``score`` as the answer to re-survey ``row`` (once; on the metric's scale)."""
    if row.answered_at is not None:
        msg = f"re-survey {row.token!r} of case {row.case_id} was already answered at {row.answered_at:%Y-%m-%d %H:%M}"
        raise CaseError(msg)
    value = float(score)
    if not math.isfinite(value):
        msg = f"re-survey score {score!r} of case {row.case_id} is not a number"
        raise CaseError(msg)
    scale = FEEDBACK.scale.ranges if FEEDBACK.scale is not None else {}
    low, high = scale.get((row.metric or "").lower(), (-math.inf, math.inf))
    if not low <= value <= high:
        msg = f"re-survey score {score:g} of case {row.case_id} is off the {row.metric} scale {low:g}-{high:g}"
        raise CaseError(msg)
    row.score, row.response_id, row.answered_at = value, response_id, now
    case = session.get(Case, row.case_id)
    if case is None:  # pragma: no cover - the foreign key keeps it
        msg = f"no case {row.case_id} in the app store"
        raise CaseNotFoundError(msg)
    log_event(session, case, actor, "resurvey_answered", case.state, case.state,
              f"score {case.score} -> {value:g}", now)
    return ResurveyView.of(row)
