"""What every table of the application store shares: the declarative base, the UTC timestamp type
and :class:`Periodic`, the once-a-minute sweep of expired rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

from clvlab.errors import ClvlabError


class StoreError(ClvlabError):
    """The application store cannot be opened or cannot take a value."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Periodic:
    """Housekeeping run at most once per ``every`` in this process: :meth:`due` calls ``action(now)``
    when it never ran, ran ``every`` or longer ago, or the clock went back; :meth:`run` calls it now.

    Used to delete expired rows (rate hits, login sessions) on the request path without a thread.
    """

    def __init__(self, action: Callable[[datetime], int], every: timedelta) -> None:
        self.action = action
        self.every = every
        self.last: datetime | None = None

    def run(self, now: datetime) -> int:
        """Run the action now; what it returns (e.g. the rows deleted)."""
        done = self.action(now)
        self.last = now
        return done

    def due(self, now: datetime) -> int:
        """Run the action if it is due; what it returned (0 when not due)."""
        if self.last is not None and self.last <= now < self.last + self.every:
            return 0
        return self.run(now)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC on every backend and returned timezone-aware (UTC).

    Every time in the application store means UTC; a naive value is refused (its zone is unknown).
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value.isoformat()} given to the app store; pass an aware one (UTC)"
            raise StoreError(msg)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of the application store (every domain's tables register here)."""
