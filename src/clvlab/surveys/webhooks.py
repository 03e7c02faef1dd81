"""Signed webhooks of survey events: subscribers in the app store, delivery through the outbox.

Each event (``response.created``, ``response.updated``) is written to the outbox (channel
``survey_webhook``) in the response's transaction, once per active subscriber, and delivered after
the reply (the server does it at once; ``clvlab surveys deliver`` retries what failed, with the
outbox's backoff).  The body is the event as compact JSON; the headers carry

- ``X-Clvlab-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Clvlab-Signature``: ``sha256=`` + hex HMAC-SHA256(subscriber secret, ``<timestamp>.`` + body).

A receiver recomputes the HMAC over the raw body and refuses a timestamp older than a few minutes
(:func:`verify_signature` does both), so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from sqlalchemy import select

from clvlab.cases.notify import Notification, NotificationError, WebhookNotifier
from clvlab.errors import ParameterError
from clvlab.store import AppStore, WebhookSubscriber, utcnow

CHANNEL = "survey_webhook"
TIMESTAMP_HEADER = "X-Clvlab-Timestamp"
SIGNATURE_HEADER = "X-Clvlab-Signature"


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (compact UTF-8 JSON)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, sent: str, *, tolerance: float = 300.0,
                     now: float | None = None) -> bool:
    """True when ``sent`` signs ``body`` at ``timestamp`` and the timestamp is within ``tolerance`` seconds."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sent, signature(secret, timestamp, body))


class SignedWebhookNotifier(WebhookNotifier):
    """Posts survey events signed with each subscriber's secret (looked up by URL in the app store)."""

    channel = CHANNEL

    def __init__(self, store: AppStore, **options: Any) -> None:
        super().__init__(**options)
        self.store = store

    def request_args(self, message: Notification) -> dict[str, Any]:
        with self.store.session() as session:
            secret = session.scalar(select(WebhookSubscriber.secret).where(WebhookSubscriber.url == message.target))
        if secret is None:
            msg = f"no webhook subscriber {message.target}"
            raise NotificationError(msg)
        body = body_bytes(message.payload)
        stamp = str(int(time.time()))
        return {"content": body, "headers": {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                                             SIGNATURE_HEADER: signature(secret, stamp, body)}}


def add_subscriber(store: AppStore, url: str) -> tuple[int, str]:
    """Subscribe ``url`` to survey events; (id, secret). The secret is shown once to give the receiver."""
    if not url.startswith(("http://", "https://")):
        msg = f"a webhook URL starts with http:// or https://. Got {url!r} instead."
        raise ParameterError(msg)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with store.session() as session:
        row = session.scalar(select(WebhookSubscriber).where(WebhookSubscriber.url == url))
        if row is None:
            row = WebhookSubscriber(url=url, secret=secret, active=True, created_at=utcnow())
            session.add(row)
        else:
            row.secret, row.active = secret, True
        session.flush()
        return row.id, secret


def remove_subscriber(store: AppStore, subscriber_id: int) -> None:
    """Stop sending to a subscriber (its pending messages stay in the outbox until delivered or dropped)."""
    with store.session() as session:
        row = session.get(WebhookSubscriber, subscriber_id)
        if row is None:
            msg = f"no webhook subscriber {subscriber_id} (clvlab surveys webhooks list shows them)"
            raise ParameterError(msg)
        row.active = False


def list_subscribers(store: AppStore) -> list[dict[str, Any]]:
    """Subscribers without their secrets."""
    with store.session() as session:
        return [{"id": r.id, "url": r.url, "active": r.active, "created_at": r.created_at}
                for r in session.scalars(select(WebhookSubscriber).order_by(WebhookSubscriber.id))]
