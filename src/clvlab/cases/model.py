"""What the cases domain hands out: its errors, states and transitions, and read-only views.

Times on views are timezone-aware UTC (the application store's one meaning of a time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session

from clvlab.errors import ClvlabError
from clvlab.store import Case, CaseEvent, Resurvey

STATES = ("open", "in_progress", "resolved", "closed", "held_out")  # held_out: the closed-loop holdout
#: action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({"open"}), "in_progress"),
    "resolve": (frozenset({"open", "in_progress"}), "resolved"),  # from open: contact recorded too
    "close": (frozenset({"resolved"}), "closed"),
    "reopen": (frozenset({"resolved", "closed"}), "open"),
}
NEXT_STEP = {"open": "start (or resolve with a root cause)", "in_progress": "resolve",
             "resolved": "close (or reopen)", "closed": "reopen",
             "held_out": "none: kept uncontacted as the closed-loop holdout (clvlab cases recovery)"}


class CaseError(ClvlabError):
    """A case operation that cannot be done (unknown case, invalid transition, missing input)."""


class CaseNotFoundError(CaseError, LookupError):
    """No case (or owner, or re-survey) with the given id."""


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


CASE_FIELDS = [f.name for f in fields(CaseView) if f.name != "sla_state"]


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

    @classmethod
    def of(cls, row: Resurvey) -> ResurveyView:
        """The view of a stored re-survey."""
        return cls(row.case_id, row.token, row.link, row.metric, row.created_at, row.score, row.answered_at)


@dataclass(frozen=True)
class OpenReport:
    """What :meth:`CaseService.open_cases` did (``assigned``: earlier unowned cases given an owner)."""

    opened: list[int]
    already_open: int
    unassigned: int
    assigned: int = 0
    held_out: int = 0

    def __str__(self) -> str:
        extra = f", {self.unassigned} without an owner" if self.unassigned else ""
        earlier = f"; {self.assigned} earlier cases given their owner" if self.assigned else ""
        held = f"; {self.held_out} held out uncontacted (closed-loop holdout)" if self.held_out else ""
        return (f"{len(self.opened):,} cases opened, {self.already_open:,} responses already had a case"
                f"{extra}{earlier}{held}")


def case_record(case: Case) -> dict[str, Any]:
    """The stored fields of a case as a dict (a missing number is None, never NaN)."""
    return {name: clean(getattr(case, name)) for name in CASE_FIELDS}


def clean(value: Any) -> Any:
    """A plain Python value for the store: None for every kind of missing, NumPy scalars unwrapped."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
        return value.item()
    return value


def to_utc(value: Any, timezone: str) -> datetime | None:
    """An aware UTC datetime: a naive time is read in the business ``timezone``, an aware one converted."""
    value = clean(value)
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(ZoneInfo(timezone), ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert("UTC").to_pydatetime()


def normalise_cause(case_id: int, text: str) -> str:
    """The normalised root cause (lower case), refusing an empty one."""
    cause = text.strip().lower()
    if not cause:
        msg = f"the root cause of case {case_id} must not be empty (e.g. delivery, product, staff, price)"
        raise CaseError(msg)
    return cause


def log_event(session: Session, case: Case, actor: str, action: str, before: str | None,
              after: str | None, note: str | None, now: datetime) -> None:
    """Append one entry to the case's history (in the caller's transaction)."""
    session.add(CaseEvent(case_id=case.id, at=now, actor=actor, action=action,
                          from_state=before, to_state=after, note=note))
