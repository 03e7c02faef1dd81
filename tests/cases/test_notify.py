"""Notifications against real receivers: a local HTTP server (webhook) and a local SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pandas as pd
import pytest

from clvlab.cases.notify import (
    Notification,
    NotificationError,
    SMTPNotifier,
    WebhookNotifier,
    flush_outbox,
)
from clvlab.cases.owners import load_owners
from clvlab.cases.service import CaseService
from clvlab.store import AppStore


class Receiver:
    """A webhook receiver on a free local port that fails the first ``fail_first`` requests with 503."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.hits = 0
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.hits += 1
                if outer.hits <= outer.fail_first:
                    self.send_response(503)
                else:
                    outer.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def owners(webhook: str | None = None, email: str | None = None) -> pd.DataFrame:
    return pd.DataFrame({"owner_id": ["o1"], "email": [email], "webhook": [webhook], "store_id": ["S1"]})


def one_alert() -> pd.DataFrame:
    return pd.DataFrame({"response_id": ["r1"], "metric": ["nps"], "score": [3.0], "store_id": ["S1"],
                         "comment": ["送货太慢"], "reasons": ["nps_detractor"]})


def fast_webhook() -> WebhookNotifier:
    return WebhookNotifier(retries=3, backoff=0.01, timeout=2)


def test_new_case_is_posted_to_the_owners_webhook(store: AppStore, receiver: Receiver) -> None:
    load_owners(store, owners(webhook=receiver.url))
    cid = CaseService(store, notifiers=[fast_webhook()]).open_cases(one_alert()).opened[0]
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert (body["event"], body["case_id"], body["owner_id"], body["comment"]) == ("new_case", cid, "o1", "送货太慢")
    assert flush_outbox(store, [fast_webhook()]).pending == 0


def test_webhook_retries_with_backoff_until_it_succeeds(store: AppStore) -> None:
    """A receiver that answers 503 twice gets the message on the third attempt; backoff doubles."""
    flaky = Receiver(fail_first=2)
    waits: list[float] = []
    try:
        load_owners(store, owners(webhook=flaky.url))
        notifier = WebhookNotifier(retries=3, backoff=0.05, sleep=waits.append)
        CaseService(store, notifiers=[notifier]).open_cases(one_alert())
    finally:
        flaky.stop()
    assert flaky.hits == 3
    assert len(flaky.bodies) == 1
    assert waits == [0.05, 0.1]


def test_receiver_down_keeps_the_message_and_a_later_flush_sends_it(store: AppStore, clock) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    load_owners(store, owners(webhook=url))
    svc = CaseService(store, notifiers=[fast_webhook()], clock=clock)
    svc.open_cases(one_alert())  # delivery fails: nobody listens
    early = flush_outbox(store, [fast_webhook()], now=clock.now)
    assert (early.sent, early.failed, early.pending) == (0, 0, 1)  # not due again yet (backoff)
    with pytest.raises(NotificationError, match="failed after 4 attempts"):
        fast_webhook().send(Notification("webhook", url, "s", {}))
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        bodies: ClassVar[list[bytes]] = []

        def do_POST(self) -> None:
            Handler.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        later = flush_outbox(store, [fast_webhook()], now=clock.now + timedelta(minutes=2))
    finally:
        server.shutdown()
        server.server_close()
    assert (later.sent, later.pending) == (1, 0)
    assert json.loads(Handler.bodies[0])["response_id"] == "r1"


def test_email_goes_through_a_real_smtp_server(store: AppStore) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Keep(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        load_owners(store, owners(email="ann@example.com"))
        smtp = SMTPNotifier("127.0.0.1", port, sender="loop@example.com")
        CaseService(store, notifiers=[smtp]).open_cases(one_alert())
    finally:
        controller.stop()
    assert len(received) == 1
    mail = received[0]
    assert mail["To"] == "ann@example.com"
    assert mail["From"] == "loop@example.com"
    assert "new case #1 (P3): nps_detractor" in mail["Subject"]
    assert "comment: 送货太慢" in mail.get_payload(decode=True).decode("utf-8")


def test_smtp_server_down_is_kept_in_the_outbox(store: AppStore) -> None:
    load_owners(store, owners(email="ann@example.com"))
    smtp = SMTPNotifier("127.0.0.1", free_port(), timeout=2)
    CaseService(store, notifiers=[smtp]).open_cases(one_alert())
    from sqlalchemy import select

    from clvlab.store import OutboxMessage

    with store.session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.channel, row.attempts, row.sent_at) == ("email", 1, None)
    assert "failed" in (row.last_error or "")


def test_cli_notify_takes_the_mail_server_from_the_settings(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`clvlab cases notify` with CLVLAB_SMTP / CLVLAB_SMTP_FROM (no flags) delivers the waiting e-mail."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message
    from typer.testing import CliRunner

    from clvlab.cli.cases_cmds import cases_app
    from clvlab.store import open_app_store

    received: list = []

    class Keep(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    with open_app_store(sqlite_url) as store:
        load_owners(store, owners(email="ann@example.com"))
        CaseService(store).open_cases(one_alert())  # no notifier: the e-mail waits in the outbox
    port = free_port()
    monkeypatch.setenv("CLVLAB_APP_STORE", sqlite_url)
    monkeypatch.setenv("CLVLAB_SMTP", f"127.0.0.1:{port}")
    monkeypatch.setenv("CLVLAB_SMTP_FROM", "cx@example.cn")
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        res = CliRunner().invoke(cases_app, ["notify"])
    finally:
        controller.stop()
    assert res.exit_code == 0, res.output
    assert [(m["To"], m["From"]) for m in received] == [("ann@example.com", "cx@example.cn")]
