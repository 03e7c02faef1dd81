"""Collecting answers: one response per link (a resubmit updates it), alerts at once, signed webhooks.

:meth:`Collector.submit` checks the rate limits (per address before the token is even read, then
per token), verifies the token, validates the answers and, in **one transaction** of the app store,
writes or updates the response (the invitation row is locked first, so two submits of one link at
once give one row), runs the alert rules on its feedback rows (a detractor opens a case for the
store's owner, exactly as ``clvlab alerts run`` would) and writes one webhook event per subscriber
to the outbox.  The transaction commits before the caller answers; delivery happens after, and
only when the answer queued an event (:attr:`SubmitResult.webhooks`): an answer without
subscribers costs no look at the outbox; earlier failures are retried by ``clvlab surveys deliver``.

Rate limits are counted in the app store (table ``rate_hits``), so every server worker sees the
same counts: a sliding window per token and per client address; expired rows are swept on write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from clvlab.cases.alerts import match_alerts
from clvlab.cases.notify import Notification, enqueue
from clvlab.cases.opening import clv_series, open_cases
from clvlab.cases.rules import TEXT_COLUMNS, AlertConfig, add_text_signals
from clvlab.errors import TooManyRequestsError
from clvlab.store import (
    AppStore,
    Periodic,
    RateHit,
    SurveyInvite,
    SurveyResponse,
    WebhookSubscriber,
    utcnow,
)
from clvlab.surveys.definition import LANGUAGES, Survey
from clvlab.surveys.feedback import feedback_rows
from clvlab.surveys.registry import get_survey
from clvlab.surveys.tokens import UnknownLinkError, verify_token
from clvlab.surveys.webhooks import CHANNEL


class RateLimitedError(TooManyRequestsError):
    """Too many submissions for this link or from this address (HTTP 429, ``retry_after`` seconds)."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests per ``window`` seconds for one key."""

    limit: int
    window: int


class RateLimiter:
    """Sliding-window counters in the app store, shared by every worker (``rate_hits`` table).

    A hit deletes its key's rows older than the window; every ``sweep_every`` seconds (per
    process) a hit also deletes every bucket's expired rows, so addresses and links seen once do
    not stay in the table forever: it holds at most the hits of the last window.
    """

    def __init__(self, store: AppStore, limits: dict[str, RateLimit], *, sweep_every: float = 60.0) -> None:
        self.store = store
        self.limits = limits
        self._sweeper = Periodic(self._delete_expired, timedelta(seconds=sweep_every))

    def sweep(self, *, now: datetime | None = None) -> int:
        """Delete the rows of every bucket older than its window; how many were deleted."""
        return self._sweeper.run(now or utcnow())

    def _delete_expired(self, now: datetime) -> int:
        deleted = 0
        with self.store.session() as session:
            for bucket, rule in self.limits.items():
                result = session.execute(delete(RateHit).where(
                    RateHit.bucket == bucket, RateHit.at < now - timedelta(seconds=rule.window)))
                deleted += int(getattr(result, "rowcount", 0) or 0)
        return deleted

    def hit(self, bucket: str, key: str, *, now: datetime | None = None) -> None:
        """Count one request of ``key`` in ``bucket``; :class:`RateLimitedError` when over the limit."""
        rule = self.limits[bucket]
        now = now or utcnow()
        self._sweeper.due(now)
        since = now - timedelta(seconds=rule.window)
        key = key[:128]
        with self.store.session() as session:
            session.execute(delete(RateHit).where(RateHit.bucket == bucket, RateHit.key == key, RateHit.at < since))
            count = session.scalar(select(func.count()).select_from(RateHit).where(
                RateHit.bucket == bucket, RateHit.key == key, RateHit.at >= since)) or 0
            if count < rule.limit:
                session.add(RateHit(bucket=bucket, key=key, at=now))
                return
        what = "this link" if bucket == "survey.token" else "your address"
        msg = f"too many submissions from {what}: at most {rule.limit} per {rule.window} seconds"
        raise RateLimitedError(msg, retry_after=rule.window, hint="wait a little and send again")


@dataclass(frozen=True)
class Invitation:
    """An open link: the invitation, its survey, and the answer so far (None before the first)."""

    invite_id: int
    survey: Survey
    customer_id: str
    channel: str
    hidden: dict[str, Any]
    expires_at: datetime
    answers: dict[str, Any] | None


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did: the response id, whether it was new, its revision, the cases it opened,
    and how many webhook events it queued in the outbox (none: there is nothing to deliver)."""

    response_id: int
    created: bool
    revision: int
    cases: list[int] = field(default_factory=list)
    webhooks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"response_id": self.response_id, "created": self.created, "revision": self.revision,
                "cases": self.cases}


#: default limits: per link 10 submissions an hour, per address 60 a minute
DEFAULT_LIMITS = {"survey.token": RateLimit(10, 3600), "survey.ip": RateLimit(60, 60)}


class Collector:
    """Answers to survey links (see the module docstring).

    Parameters
    ----------
    store
        The app store.
    key
        The link key (:func:`clvlab.surveys.tokens.link_key`).
    config
        Alert rules and case policy (default: the defaults of :mod:`clvlab.cases.rules`).
    clv
        Returns CLV per customer for case priority (the server reads the workspace snapshot's
        ``scores``); None: every case gets the default priority.
    timezone
        The business time zone of the workspace (feedback times are written in it).
    limits
        Rate limits per bucket (``survey.token``, ``survey.ip``).
    """

    def __init__(self, store: AppStore, key: bytes, *, config: AlertConfig | None = None,
                 clv: Callable[[], pd.Series | None] | None = None, timezone: str = "UTC",
                 limits: dict[str, RateLimit] | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.key = key
        self.config = config or AlertConfig()
        self.clv = clv or (lambda: None)
        self.timezone = timezone
        self.limiter = RateLimiter(store, {**DEFAULT_LIMITS, **(limits or {})})
        self.clock = clock

    def open(self, token: str) -> Invitation:
        """The invitation of ``token`` (tampered 403, expired 410, unknown 404: :mod:`~clvlab.surveys.tokens`)."""
        invite_id = verify_token(self.key, token, now=self.clock().timestamp())
        with self.store.session() as session:
            invite = self._invite(session, invite_id, lock=False)
            answer = session.scalar(select(SurveyResponse.answers).where(SurveyResponse.invite_id == invite_id))
            return Invitation(invite.id, get_survey(session, invite.survey_id), invite.customer_id, invite.channel,
                              json.loads(invite.hidden or "{}"), invite.expires_at,
                              None if answer is None else json.loads(answer))

    @staticmethod
    def _invite(session: Session, invite_id: int, *, lock: bool) -> SurveyInvite:
        invite = session.get(SurveyInvite, invite_id, with_for_update=lock)
        if invite is None:
            msg = "this survey link is not known here (the invitation was withdrawn)"
            raise UnknownLinkError(msg)
        return invite

    def submit(self, token: str, answers: dict[str, Any], *, ip: str | None = None,
               language: str | None = None) -> SubmitResult:
        """Record the answers to ``token``'s survey: a new response, or an update of the link's one."""
        now = self.clock()
        if ip:
            self.limiter.hit("survey.ip", ip, now=now)
        invite_id = verify_token(self.key, token, now=now.timestamp())
        self.limiter.hit("survey.token", str(invite_id), now=now)
        with self.store.session() as session:
            survey = get_survey(session, self._invite(session, invite_id, lock=False).survey_id)
        clean = survey.validate(answers)
        # the comment's text signals are computed before the write transaction: the analysers
        # take ~20 ms a comment (seconds on their first use in a process), and on SQLite a write
        # transaction holds the whole database's write lock, every worker's
        signals = self._text_signals(survey.comment(clean))
        with self.store.session() as session:
            invite = self._invite(session, invite_id, lock=True)
            hidden = json.loads(invite.hidden or "{}")
            row = session.scalar(select(SurveyResponse).where(SurveyResponse.invite_id == invite_id))
            created = row is None
            scores = survey.scores(clean)
            first = scores[0] if scores else (None, None)
            values = {"answers": json.dumps(clean, ensure_ascii=False), "metric": first[0], "score": first[1],
                      "comment": survey.comment(clean), "updated_at": now,
                      "language": language if language in LANGUAGES else survey.language}
            if row is None:
                row = SurveyResponse(invite_id=invite_id, survey_id=invite.survey_id, customer_id=invite.customer_id,
                                     channel=invite.channel, hidden=invite.hidden or "{}", store_id=hidden.get("store_id"),
                                     submitted_at=now, revisions=1, **values)
                session.add(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                row.revisions += 1
            session.flush()
            cases = self._alerts(session, row, survey, now, signals)
            queued = self._events(session, row, clean, scores, cases, created, now)
            return SubmitResult(response_id=row.id, created=created, revision=row.revisions, cases=cases,
                                webhooks=queued)

    def _text_signals(self, comment: str | None) -> dict[str, Any]:
        """The columns the text rules read (:data:`clvlab.cases.rules.TEXT_COLUMNS`) for ``comment``;
        empty when there is no comment or no text rule."""
        if comment is None or not any(rule.needs_text for rule in self.config.rules):
            return {}
        found = add_text_signals(pd.DataFrame({"comment": [comment]}))
        return {name: found[name].iloc[0] for name in TEXT_COLUMNS if name in found.columns}

    def _alerts(self, session: Session, row: SurveyResponse, survey: Survey, now: datetime,
                signals: dict[str, Any]) -> list[int]:
        frame = pd.DataFrame(feedback_rows(row, survey, self.timezone))
        if frame.empty:
            return []
        for name, value in signals.items():
            frame[name] = [value] * len(frame)
        matched, _ = match_alerts(frame, self.config)
        if matched.empty:
            return []
        report = open_cases(session, matched, policy=self.config.policy, clv=clv_series(self.clv()),
                            actor="survey", now=now, timezone=self.timezone)
        return list(report.opened)

    @staticmethod
    def _events(session: Session, row: SurveyResponse, answers: dict[str, Any], scores: list[tuple[str, float]],
                cases: list[int], created: bool, now: datetime) -> int:
        """Queue one event per active subscriber; how many were queued."""
        event = "response.created" if created else "response.updated"
        payload = {"event": event, "response_id": row.id, "survey_id": row.survey_id, "customer_id": row.customer_id,
                   "channel": row.channel, "language": row.language, "answers": answers,
                   "hidden": json.loads(row.hidden or "{}"), "scores": dict(scores), "cases_opened": cases,
                   "revision": row.revisions, "submitted_at": row.submitted_at.isoformat(),
                   "updated_at": now.isoformat()}
        urls = list(session.scalars(select(WebhookSubscriber.url).where(WebhookSubscriber.active.is_(True))))
        for url in urls:
            enqueue(session, Notification(CHANNEL, url, f"[clvlab] survey {event}", payload), case_id=None, now=now)
        return len(urls)


def warm_text_rules(config: AlertConfig | None = None) -> None:
    """Load the text analysers the alert rules read (about 3 s and 200 MB, once per process) now
    rather than on the first answer with a comment, which would wait for them, and so would every
    answer with a comment that reaches the same worker meanwhile (measured: 20-30 s at p99 under
    load). ``clvlab serve`` calls it in each worker before the worker takes requests."""
    if any(rule.needs_text for rule in (config or AlertConfig()).rules):
        add_text_signals(pd.DataFrame({"comment": ["排队太久 / the queue was far too long"]}))
