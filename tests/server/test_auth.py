"""Logins, throttling, CSRF, API tokens and the audit log, on SQLite and PostgreSQL; start-up
refusals (a store behind the code, a default secret); no password in any answer, log or table."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.server.conftest import PASSWORD


def _audit(store_url: str) -> list[tuple[str, str, str | None, str | None]]:
    from clvlab.store import AuditEntry, open_app_store

    with open_app_store(store_url) as store, store.session() as s:
        return [(e.actor, e.action, e.target, e.detail) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_throttled_after_repeated_bad_logins(anonymous: Any, store_url: str) -> None:
    for _ in range(5):
        wrong = anonymous.post("/api/v1/auth/login", json={"name": "mgr1", "password": "guess-guess"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "wrong user name or password"
    blocked = anonymous.post("/api/v1/auth/login", json={"name": "mgr1", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 900
    assert "too many failed logins" in blocked.json()["error"]
    other = anonymous.post("/api/v1/auth/login", json={"name": "mgr2", "password": PASSWORD})
    assert other.status_code == 200  # the throttle is per name (and per address, at 4x the limit)
    actions = [a for _, a, target, _ in _audit(store_url) if target == "mgr1"]
    assert actions.count("login.failed") == 5
    assert actions[-1] == "login.throttled"


def test_unknown_user_fails_like_a_wrong_password(anonymous: Any, store_url: str) -> None:
    answer = anonymous.post("/api/v1/auth/login", json={"name": "nobody", "password": "whatever1"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "wrong user name or password"


def test_audit_log_has_logins_case_changes_and_exports(client_for: Any, store_url: str) -> None:
    mgr = client_for("mgr1")
    case_id = mgr.get("/api/v1/cases").json()["items"][0]["id"]
    assert mgr.post(f"/api/v1/cases/{case_id}/assign", json={"owner_id": "O1", "note": "mine"}).status_code == 200
    assert mgr.post(f"/api/v1/cases/{case_id}/resolve", json={"root_cause": "staff"}).status_code == 200
    assert mgr.get("/api/v1/cases/export.csv").status_code == 200
    assert mgr.post("/api/v1/auth/logout").status_code == 204
    rows = [(actor, action, target) for actor, action, target, _ in _audit(store_url)]
    assert ("mgr1", "login", "mgr1") in rows
    assert ("mgr1", "case.assign", str(case_id)) in rows
    assert ("mgr1", "case.resolve", str(case_id)) in rows
    assert ("mgr1", "export", "cases.csv") in rows
    assert rows[-1] == ("mgr1", "logout", "mgr1")
    assert mgr.get("/api/v1/me").status_code == 401  # the session is gone


def test_csrf_guards_cookie_writes_only(client_for: Any, app: Any, store_url: str) -> None:
    mgr = client_for("mgr1")
    case_id = mgr.get("/api/v1/cases").json()["items"][0]["id"]
    token = mgr.headers.pop("X-CSRF-Token")
    missing = mgr.post(f"/api/v1/cases/{case_id}/start")
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["error"]
    assert mgr.post(f"/api/v1/cases/{case_id}/start", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert mgr.cookies.get("clvlab_csrf") == token  # the double-submit cookie carries the same value
    cross = mgr.post(f"/api/v1/cases/{case_id}/start", headers={"X-CSRF-Token": token,
                                                                "Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert "cross-site" in cross.json()["error"]
    ok = mgr.post(f"/api/v1/cases/{case_id}/start", headers={"X-CSRF-Token": token, "Origin": "http://testserver"})
    assert ok.status_code == 200
    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import open_app_store

    with open_app_store(store_url) as store:
        _, bearer = Accounts(store).create_token("mgr1")
    api = TestClient(app, headers={"Authorization": f"Bearer {bearer}"})
    assert api.post(f"/api/v1/cases/{case_id}/resolve", json={"root_cause": "price"}).status_code == 200


def test_tokens_work_until_revoked(app: Any, store_url: str) -> None:
    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import ApiToken, open_app_store

    with open_app_store(store_url) as store:
        accounts = Accounts(store)
        token_id, token = accounts.create_token("ana", label="bi export")
        with store.session() as s:
            stored = s.get(ApiToken, token_id)
            assert stored is not None
            assert token not in (stored.token_hash, stored.prefix)
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/me").json() == {"name": "ana", "role": "analyst", "stores": None, "via": "token"}
    with open_app_store(store_url) as store:
        Accounts(store).revoke_token(token_id)
        assert Accounts(store).list_tokens()[0]["last_used_at"] is not None
    revoked = api.get("/api/v1/me")
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["error"]
    assert revoked.headers["WWW-Authenticate"] == "Bearer"


def test_password_never_in_answers_logs_or_tables(anonymous: Any, client_for: Any, store_url: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    wrong = "Wr0ng-secret-pw!"
    caplog.set_level(logging.DEBUG)
    texts = [anonymous.post("/api/v1/auth/login", json={"name": "mgr2", "password": wrong}).text,
             anonymous.post("/api/v1/auth/login", json={"name": "mgr2", "password": PASSWORD}).text,
             anonymous.post("/api/v1/auth/login", json={"name": "mgr2"}).text]
    client_for("mgr2")
    from clvlab.store import open_app_store

    with open_app_store(store_url) as store, store.engine.connect() as con:
        for table in ("audit_log", "login_attempts", "users", "sessions"):
            texts.append(repr(con.exec_driver_sql(f"SELECT * FROM {table}").fetchall()))
    texts.append(caplog.text)
    for text in texts:
        assert wrong not in text
        assert PASSWORD not in text


def test_default_hash_is_argon2id() -> None:
    from argon2 import PasswordHasher

    from clvlab.server.auth import accounts

    fresh = accounts.PasswordHasher()
    assert isinstance(fresh, PasswordHasher)
    assert fresh.hash("x" * 10).startswith("$argon2id$")
    assert accounts._DUMMY_HASH.startswith("$argon2id$v=19$m=65536,t=3")


def test_missing_snapshot_answers_503(client_for: Any, served_workspace: Any, tmp_path: Any) -> None:
    from clvlab.data.snapshot import snapshot_path

    snap = snapshot_path(served_workspace)
    moved = tmp_path / "kept.duckdb"
    snap.rename(moved)
    try:
        answer = client_for("boss").get("/api/v1/customers/c01")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "30"
        assert "clvlab db snapshot" in answer.json()["hints"][0]["text"]
    finally:
        moved.rename(snap)


def test_start_up_refuses_store_behind_and_default_secret(settings_for: Any, tmp_path: Any) -> None:
    from clvlab.server import create_app
    from clvlab.server.app import StartupError
    from clvlab.store import StoreBehindError, open_app_store, upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    with open_app_store(url, migrate=False) as store:
        upgrade(store, "0001")
    with pytest.raises(StoreBehindError, match="revision 0001") as caught:
        create_app(settings_for(url))
    assert f"clvlab db upgrade --app-store '{url}'" in str(caught.value)
    with pytest.raises(StartupError, match="CLVLAB_SECRET_KEY"):
        create_app(settings_for(url, secret_key="changeme"))
    with pytest.raises(StartupError, match="no secret key"):
        create_app(settings_for(url, secret_key=None))
    with open_app_store(url, migrate=False) as store:  # what clvlab db upgrade does
        upgrade(store)
    assert create_app(settings_for(url, secret_key=None, dev=True)).title == "clvlab"


def test_nul_characters_and_foreign_logins_are_refused(client_for: Any, anonymous: Any) -> None:
    boss = client_for("boss")
    answers = [boss.get("/api/v1/cases", params={"owner": "a\x00b"}), boss.get("/api/v1/customers/a%00b"),
               boss.post("/api/v1/cases/1/assign", json={"owner_id": "a\x00"}),
               boss.get("/api/v1/voc/nps", params={"store": "S\x001"})]
    for answer in answers:
        assert answer.status_code == 422
        assert answer.json()["status"] == 422
    assert "NUL character" in answers[1].json()["error"]
    foreign = anonymous.post("/api/v1/auth/login", json={"name": "boss", "password": PASSWORD},
                             headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_sessions_expire_and_a_new_password_ends_them(store_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from clvlab.server.auth.accounts import Accounts, AuthError
    from clvlab.store import open_app_store

    now = [datetime(2026, 1, 1, 9, tzinfo=UTC)]
    with open_app_store(store_url) as store:
        accounts = Accounts(store, session_hours=1, clock=lambda: now[0])
        user = accounts.authenticate("mgr1", PASSWORD)
        session = accounts.open_session(user)
        assert accounts.session_user(session).stores == ("S1",)
        now[0] += timedelta(minutes=61)
        with pytest.raises(AuthError, match="expired"):
            accounts.session_user(session)
        fresh = accounts.open_session(user)
        accounts.set_password("mgr1", "another long password")
        with pytest.raises(AuthError):
            accounts.session_user(fresh)
        with pytest.raises(AuthError, match="wrong user name or password"):
            accounts.authenticate("mgr1", PASSWORD)
        assert accounts.authenticate("mgr1", "another long password").name == "mgr1"


def test_expired_sessions_are_deleted_by_a_login_and_a_sweep_once_a_minute(store_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from clvlab.server.auth.accounts import Accounts, AuthError
    from clvlab.store import LoginSession, open_app_store

    def sessions() -> int:
        with store.session() as s:
            return len(list(s.scalars(select(LoginSession.id_hash))))

    now = [datetime(2026, 1, 1, 9, tzinfo=UTC)]
    with open_app_store(store_url) as store:
        accounts = Accounts(store, session_hours=1, clock=lambda: now[0], sweep_every=60)
        boss = accounts.authenticate("boss", PASSWORD)
        for name in ("boss", "mgr1", "mgr2", "ana"):  # sessions of users who never come back
            accounts.open_session(accounts.authenticate(name, PASSWORD))
        now[0] += timedelta(minutes=30)
        live = accounts.open_session(boss)
        now[0] += timedelta(minutes=29, seconds=30)
        accounts.session_user(live)  # a sweep: nothing has expired yet
        assert sessions() == 5
        # the first four expire at 10:00; a check within the minute after the sweep leaves them
        now[0] += timedelta(seconds=31)
        accounts.session_user(live)
        assert sessions() == 5
        # the next check after the minute deletes them, though nobody logged in
        now[0] += timedelta(seconds=30)
        assert accounts.session_user(live).name == "boss"
        assert sessions() == 1
        # a login deletes the expired sessions too
        mgr = accounts.open_session(accounts.authenticate("mgr1", PASSWORD))
        now[0] += timedelta(minutes=61)
        accounts.open_session(accounts.authenticate("ana", PASSWORD))
        assert sessions() == 1
        with pytest.raises(AuthError, match="expired"):
            accounts.session_user(mgr)


def test_expired_failed_logins_are_deleted_on_the_next_failure(store_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from clvlab.server.auth.accounts import THROTTLE_WINDOW, Accounts, AuthError
    from clvlab.store import LoginAttempt, open_app_store

    now = [datetime(2026, 1, 1, 9, tzinfo=UTC)]
    with open_app_store(store_url) as store:
        accounts = Accounts(store, clock=lambda: now[0])
        for name in ("nobody1", "nobody2", "mgr2"):  # names that fail once and never come back
            with pytest.raises(AuthError):
                accounts.authenticate(name, "wrong password", ip="10.0.0.1")
        now[0] += THROTTLE_WINDOW + timedelta(seconds=1)
        with pytest.raises(AuthError):
            accounts.authenticate("nobody3", "wrong password", ip="10.0.0.2")
        with store.session() as s:
            assert list(s.scalars(select(LoginAttempt.name))) == ["nobody3"]


def test_a_disabled_user_is_shut_out_at_once(app: Any, client_for: Any, store_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from clvlab.cli import app as cli
    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import open_app_store

    page = client_for("mgr1")
    with open_app_store(store_url) as store:
        _, token = Accounts(store).create_token("mgr1")
    bearer = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert page.get("/overview", follow_redirects=False).status_code == 200
    assert bearer.get("/api/v1/me").status_code == 200
    runner = CliRunner()
    done = runner.invoke(cli, ["--json", "users", "disable", "mgr1", "--app-store", store_url])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"name": "mgr1", "active": False, "changed": True}
    # the open session and the token stop working on their next request
    assert page.get("/api/v1/me").status_code == 401
    assert page.get("/overview", follow_redirects=False).status_code == 303  # to the login page
    refused = bearer.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["error"] == "this account is disabled"
    again = TestClient(app).post("/api/v1/auth/login", json={"name": "mgr1", "password": PASSWORD})
    assert again.status_code == 401
    assert again.json()["error"] == "wrong user name or password"  # no hint that the account exists
    listed = json.loads(runner.invoke(cli, ["--json", "users", "list", "--app-store", store_url]).stdout)
    assert {u["name"]: u["active"] for u in listed}["mgr1"] is False
    last = runner.invoke(cli, ["users", "disable", "boss", "--app-store", store_url])
    assert last.exit_code == 1
    assert "'boss' is the last active admin" in last.output
    enabled = runner.invoke(cli, ["users", "enable", "mgr1", "--app-store", store_url])
    assert enabled.exit_code == 0
    assert "mgr1 enabled" in enabled.output
    assert bearer.get("/api/v1/me").status_code == 200  # an unrevoked token works again
    assert page.get("/api/v1/me").status_code == 401  # the session ended for good: log in anew
    assert client_for("mgr1").get("/api/v1/me").status_code == 200
    actions = [(a, target) for actor, a, target, _ in _audit(store_url) if a.startswith("user.")]
    assert ("user.disable", "mgr1") in actions
    assert ("user.enable", "mgr1") in actions
