"""Notifications: a pluggable :class:`Notifier` protocol, a webhook and an SMTP notifier, and an outbox.

Every notification is first written to the ``outbox`` table in the same transaction as the change
that caused it (a transactional outbox); :func:`flush_outbox` then delivers what is due.  A failed
delivery stays in the outbox with its error and is tried again later with exponential backoff, so
a receiver that is down loses nothing.

Usage (``clvlab cases notify`` does the same)::

    from clvlab.cases.notify import WebhookNotifier, flush_outbox
    flush_outbox(store, [WebhookNotifier(retries=3)])    # FlushReport(sent=2, failed=0, pending=0)
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clvlab.errors import ClvlabError
from clvlab.store import AppStore, OutboxMessage, Owner, utcnow


class NotificationError(ClvlabError):
    """A notification could not be delivered (it stays in the outbox)."""


@dataclass(frozen=True)
class Notification:
    """One message to one target: a webhook URL or an e-mail address."""

    channel: str
    target: str
    subject: str
    payload: dict[str, Any]


@runtime_checkable
class Notifier(Protocol):
    """Anything that can deliver notifications of one ``channel`` (``send`` raises on failure)."""

    channel: str

    def send(self, message: Notification) -> None:
        """Deliver ``message`` or raise :class:`NotificationError`."""
        ...


class WebhookNotifier:
    """POST the payload as JSON to the target URL, retrying with exponential backoff.

    Parameters
    ----------
    retries
        Extra attempts after the first one on a connection error, a timeout, 429 or a 5xx answer
        (another 4xx fails at once: retrying cannot fix it).
    backoff
        Seconds before the first retry; doubled each time, capped by ``max_backoff``.
    timeout
        Seconds per request.
    headers
        Extra headers (e.g. an authorisation token).
    """

    channel = "webhook"

    def __init__(self, *, retries: int = 3, backoff: float = 0.5, max_backoff: float = 30.0,
                 timeout: float = 10.0, headers: dict[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._sleep = sleep

    def request_args(self, message: Notification) -> dict[str, Any]:
        """What one attempt posts (called per attempt; a signing subclass adds its headers here)."""
        return {"json": message.payload}

    def send(self, message: Notification) -> None:
        """POST ``message.payload`` to ``message.target``."""
        last = ""
        with httpx.Client(timeout=self.timeout, headers=self.headers) as client:
            for attempt in range(self.retries + 1):
                if attempt:
                    self._sleep(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))
                try:
                    answer = client.post(message.target, **self.request_args(message))
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    continue
                if answer.is_success:
                    return
                last = f"HTTP {answer.status_code}"
                if answer.status_code != 429 and answer.status_code < 500:
                    break
        msg = f"webhook {message.target} failed after {attempt + 1} attempts: {last}"
        raise NotificationError(msg)


class SMTPNotifier:
    """Send the notification as a plain-text e-mail through an SMTP server.

    Parameters
    ----------
    host, port
        The SMTP server.
    sender
        The From address.
    username, password
        Log in when given.
    starttls, use_ssl
        Upgrade the connection with STARTTLS, or connect over TLS from the start.
    """

    channel = "email"

    def __init__(self, host: str = "localhost", port: int = 25, *, sender: str = "clvlab@localhost",
                 username: str | None = None, password: str | None = None, starttls: bool = False,
                 use_ssl: bool = False, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout = timeout

    def send(self, message: Notification) -> None:
        """E-mail ``message`` to ``message.target``."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.target
        mail["Subject"] = message.subject
        mail.set_content(render_text(message))
        try:
            smtp_cls = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
            with smtp_cls(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            msg = f"e-mail to {message.target} via {self.host}:{self.port} failed: {exc}"
            raise NotificationError(msg) from exc


def render_text(message: Notification) -> str:
    """The plain-text body of an e-mail: the subject, then one ``key: value`` line per field."""
    lines = [message.subject, ""]
    lines += [f"{k}: {v}" for k, v in message.payload.items() if v is not None]
    return "\n".join(lines) + "\n"


def enqueue(session: Session, message: Notification, *, case_id: int | None, now: datetime) -> None:
    """Write ``message`` to the outbox (inside the caller's transaction)."""
    session.add(OutboxMessage(
        channel=message.channel, target=message.target, subject=message.subject,
        payload=json.dumps(message.payload, ensure_ascii=False, default=str), case_id=case_id,
        created_at=now, next_attempt_at=now, attempts=0,
    ))


def notify_owner(session: Session, case_id: int, record: dict[str, Any], owner_id: str | None,
                 what: str, now: datetime) -> None:
    """Queue ``what`` (``new case``, ``case assigned``) about a case for its owner's webhook and e-mail."""
    owner = session.get(Owner, owner_id) if owner_id else None
    if owner is None:
        return
    subject = f"[clvlab] {what} #{case_id} ({record['priority']}): {record['reasons'] or 'alert'}"
    payload = {"event": what.replace(" ", "_"), "case_id": case_id, "owner_id": owner_id,
               **{k: record.get(k) for k in ("priority", "response_id", "customer_id", "store_id",
                                             "product_id", "metric", "score", "comment", "reasons", "due_at")}}
    if owner.webhook:
        enqueue(session, Notification("webhook", owner.webhook, subject, payload), case_id=case_id, now=now)
    if owner.email:
        enqueue(session, Notification("email", owner.email, subject, payload), case_id=case_id, now=now)


@dataclass(frozen=True)
class FlushReport:
    """What one :func:`flush_outbox` call did; ``pending`` counts what is still waiting."""

    sent: int
    failed: int
    pending: int

    def __str__(self) -> str:
        return f"{self.sent} notifications sent, {self.failed} failed (kept for retry), {self.pending} pending"


def flush_outbox(
    store: AppStore,
    notifiers: Iterable[Notifier],
    *,
    now: datetime | None = None,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    retry_base: timedelta = timedelta(minutes=1),
    retry_max: timedelta = timedelta(hours=6),
) -> FlushReport:
    """Deliver the due outbox messages of the channels that have a notifier.

    Each message is claimed with a compare-and-set lease first, so several processes may flush at
    once without sending a message twice.  A failure keeps the message, records the error and
    schedules the next attempt ``retry_base * 2**(attempts-1)`` later (capped at ``retry_max``).
    """
    by_channel = {n.channel: n for n in notifiers}
    now = now or utcnow()
    sent = failed = 0
    with store.session() as session:
        due = session.execute(
            select(OutboxMessage.id, OutboxMessage.next_attempt_at)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now,
                   OutboxMessage.channel.in_(list(by_channel)))
            .order_by(OutboxMessage.id).limit(limit)
        ).all()
    for msg_id, old in due:
        with store.session() as session:  # claim: only one flusher wins the compare-and-set
            claimed = session.execute(  # type: ignore[attr-defined]
                update(OutboxMessage)
                .where(OutboxMessage.id == msg_id, OutboxMessage.next_attempt_at == old,
                       OutboxMessage.sent_at.is_(None))
                .values(next_attempt_at=now + lease)
            ).rowcount
            row = session.get(OutboxMessage, msg_id) if claimed else None
        if row is None:
            continue
        message = Notification(row.channel, row.target, row.subject, json.loads(row.payload))
        error: str | None = None
        try:
            by_channel[row.channel].send(message)
        except NotificationError as exc:
            error = str(exc)
        with store.session() as session:
            values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1}
            if error is None:
                values.update(sent_at=utcnow(), last_error=None)
                sent += 1
            else:
                delay = min(retry_base * 2 ** row.attempts, retry_max)
                values.update(last_error=error, next_attempt_at=now + delay)
                failed += 1
            session.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id).values(**values))
    with store.session() as session:
        pending = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        ) or 0
    return FlushReport(sent=sent, failed=failed, pending=int(pending))
