"""Accounts of the server: users with argon2 password hashes, roles and store grants, server-side
sessions, API tokens, login throttling and the audit log, all in the application store.

Random secrets (session ids, API tokens, generated passwords) come from :mod:`secrets` and are
handed out once; the store keeps only their SHA-256 digest (a high-entropy token needs no slow
hash) or, for passwords, an argon2id hash.  A password never reaches a message, a log line or the
audit log.

>>> from clvlab.store import open_app_store
>>> accounts = Accounts(open_app_store("sqlite:///:memory:"))
>>> user, password = accounts.add_user("li.na", role="store_manager", stores=["S012"])
>>> accounts.authenticate("li.na", password).stores
('S012',)
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from clvlab.errors import ClvlabError, Hint, TooManyRequestsError
from clvlab.store import (
    ROLES,
    ApiToken,
    AppStore,
    AuditEntry,
    LoginAttempt,
    LoginSession,
    Periodic,
    User,
    UserStore,
    utcnow,
)

#: failed logins are counted over this window
THROTTLE_WINDOW = timedelta(minutes=15)
#: a token's visible prefix (``clv_`` + 8 characters) identifies it in lists
TOKEN_PREFIX = "clv_"
_HASHER = PasswordHasher()
#: verified against when the name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash("clvlab-no-such-user")


class AccessError(ClvlabError):
    """A user, role, grant or token request that cannot be done."""


class AuthError(AccessError):
    """Wrong name or password, an unknown or revoked token, an expired session (HTTP 401)."""


class ThrottledError(TooManyRequestsError, AuthError):
    """Too many failed logins for a name or an address (HTTP 429); ``retry_after`` in seconds."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: the user's id, name, role and granted stores (sorted)."""

    user_id: int
    name: str
    role: str
    stores: tuple[str, ...]
    via: str = "password"  # "session", "token" or "password"


def digest(token: str) -> str:
    """SHA-256 hex digest of a random token (what the store keeps)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    """A generated password: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def _check_role(role: str) -> str:
    if role not in ROLES:
        msg = f"unknown role {role!r}; roles: {', '.join(ROLES)}"
        raise AccessError(msg)
    return role


class Accounts:
    """Users, sessions, tokens, throttling and audit over an open :class:`~clvlab.store.AppStore`.

    Parameters
    ----------
    store
        The application store (at the head revision).
    session_hours
        Lifetime of a login session.
    max_failures
        Failed logins per name (and per address) within :data:`THROTTLE_WINDOW` before logins
        are refused with :class:`ThrottledError`.
    clock
        The current time (aware UTC); tests pass their own.
    sweep_every
        Seconds between sweeps of expired sessions (per process, on a session check); a login
        deletes the expired ones as well.
    """

    def __init__(self, store: AppStore, *, session_hours: float = 12.0, max_failures: int = 5,
                 clock: Callable[[], datetime] = utcnow, sweep_every: float = 60.0) -> None:
        self.store = store
        self.session_hours = session_hours
        self.max_failures = max_failures
        self.clock = clock
        self._sweeper = Periodic(self.expire_sessions, timedelta(seconds=sweep_every))

    # ------------------------------------------------------------------ users
    def add_user(self, name: str, *, role: str, stores: Iterable[str] = (), password: str | None = None,
                 actor: str = "cli") -> tuple[Principal, str | None]:
        """Create a user; returns it and the generated password (None when ``password`` was given)."""
        name = name.strip()
        if not name:
            msg = "a user name must not be empty"
            raise AccessError(msg)
        _check_role(role)
        wanted = sorted({s.strip() for s in stores if s.strip()})
        if role == "store_manager" and not wanted:
            msg = f"store manager '{name}' needs at least one store"
            raise AccessError(msg, hint=Hint(option="store", value="S012"))
        if password is not None and len(password) < 8:
            msg = "a password needs at least 8 characters"
            raise AccessError(msg)
        generated = new_password() if password is None else None
        with self.store.session() as s:
            if s.scalars(select(User).where(User.name == name)).first() is not None:
                msg = f"user '{name}' exists already (clvlab users list shows the users)"
                raise AccessError(msg)
            user = User(name=name, role=role, active=True, created_at=self.clock(),
                        password_hash=_HASHER.hash(password or generated or ""))
            s.add(user)
            s.flush()
            s.add_all(UserStore(user_id=user.id, store_id=sid) for sid in wanted)
            self.audit(s, actor, "user.add", name, {"role": role, "stores": wanted})
            return Principal(user.id, name, role, tuple(wanted)), generated

    def set_password(self, name: str, password: str | None = None, *, actor: str = "cli") -> str | None:
        """Set (or generate, returned once) a user's password; ends the user's sessions."""
        if password is not None and len(password) < 8:
            msg = "a password needs at least 8 characters"
            raise AccessError(msg)
        generated = new_password() if password is None else None
        with self.store.session() as s:
            user = self._user(s, name)
            user.password_hash = _HASHER.hash(password or generated or "")
            s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            self.audit(s, actor, "user.password", name)
        return generated

    def grant(self, name: str, *, stores: Iterable[str] = (), role: str | None = None,
              revoke: Iterable[str] = (), actor: str = "cli") -> Principal:
        """Add (and remove) store grants of a user, or change the role."""
        with self.store.session() as s:
            user = self._user(s, name)
            if role is not None:
                user.role = _check_role(role)
            have = set(s.scalars(select(UserStore.store_id).where(UserStore.user_id == user.id)))
            add = {x.strip() for x in stores if x.strip()} - have
            drop = {x.strip() for x in revoke} & have
            s.add_all(UserStore(user_id=user.id, store_id=sid) for sid in sorted(add))
            if drop:
                s.execute(delete(UserStore).where(UserStore.user_id == user.id, UserStore.store_id.in_(drop)))
            stores_now = tuple(sorted((have | add) - drop))
            if user.role == "store_manager" and not stores_now:
                msg = f"store manager '{name}' would be left without a store"
                raise AccessError(msg, hint=Hint(option="store", value="S012"))
            self.audit(s, actor, "user.grant", name, {"role": user.role, "added": sorted(add), "removed": sorted(drop)})
            return Principal(user.id, user.name, user.role, stores_now)

    def set_active(self, name: str, active: bool, *, actor: str = "cli") -> bool:
        """Disable (``active=False``) or enable a user; returns whether anything changed.  Disabling
        ends the user's sessions, and their API tokens are refused while the account is disabled
        (both at once: every request checks the account); the last active admin cannot be disabled."""
        with self.store.session() as s:
            user = self._user(s, name)
            if user.active == active:
                return False
            if not active and user.role == "admin":
                others = s.scalars(select(User.id).where(User.role == "admin", User.active.is_(True),
                                                         User.id != user.id)).first()
                if others is None:
                    msg = f"'{name}' is the last active admin: enable or add another admin first"
                    raise AccessError(msg)
            user.active = active
            if not active:
                s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            self.audit(s, actor, "user.enable" if active else "user.disable", name)
            return True

    def list_users(self) -> list[dict[str, Any]]:
        """Every user: name, role, stores, active, created_at, live API tokens."""
        with self.store.session() as s:
            grants: dict[int, list[str]] = {}
            for uid, sid in s.execute(select(UserStore.user_id, UserStore.store_id).order_by(UserStore.store_id)):
                grants.setdefault(uid, []).append(sid)
            live = select(ApiToken.user_id, func.count()).where(ApiToken.revoked_at.is_(None)).group_by(ApiToken.user_id)
            tokens: dict[int, int] = {row[0]: row[1] for row in s.execute(live)}
            return [{"name": u.name, "role": u.role, "stores": grants.get(u.id, []), "active": u.active,
                     "created_at": u.created_at, "tokens": int(tokens.get(u.id, 0))}
                    for u in s.scalars(select(User).order_by(User.name))]

    def has_admin(self) -> bool:
        """Whether an active admin exists."""
        with self.store.session() as s:
            return s.scalars(select(User.id).where(User.role == "admin", User.active.is_(True))).first() is not None

    # ------------------------------------------------------------------ logins
    def authenticate(self, name: str, password: str, *, ip: str | None = None) -> Principal:
        """The user if ``password`` is right; :class:`AuthError` otherwise, :class:`ThrottledError`
        after too many failures.  Both outcomes are audited (never the password)."""
        now = self.clock()
        with self.store.session() as s:
            since = now - THROTTLE_WINDOW
            by_name = s.scalar(select(func.count()).select_from(LoginAttempt)
                               .where(LoginAttempt.name == name, LoginAttempt.at >= since)) or 0
            by_ip = 0 if ip is None else s.scalar(select(func.count()).select_from(LoginAttempt)
                                                  .where(LoginAttempt.ip == ip, LoginAttempt.at >= since)) or 0
            principal: Principal | None = None
            throttled = by_name >= self.max_failures or by_ip >= 4 * self.max_failures
            if throttled:
                self.audit(s, name[:128], "login.throttled", name[:128], ip=ip)
            else:
                user = s.scalars(select(User).where(User.name == name)).first()
                ok = _verify(user.password_hash if user is not None else _DUMMY_HASH, password)
                if user is None or not ok or not user.active:
                    s.execute(delete(LoginAttempt).where(LoginAttempt.at < since))  # expired: of no name
                    s.add(LoginAttempt(name=name[:128], ip=ip, at=now))
                    self.audit(s, name[:128], "login.failed", name[:128], ip=ip)
                else:
                    if _HASHER.check_needs_rehash(user.password_hash):
                        user.password_hash = _HASHER.hash(password)
                    s.execute(delete(LoginAttempt).where(LoginAttempt.name == name))
                    self.audit(s, name, "login", name, ip=ip)
                    principal = self._principal(s, user, "password")
        # raised after the commit: failures and refusals are counted and audited
        if throttled:
            wait = int(THROTTLE_WINDOW.total_seconds())
            msg = f"too many failed logins for '{name}'; try again in {wait // 60} minutes"
            raise ThrottledError(msg, retry_after=wait, hint="or ask an admin to reset the password "
                                 "(clvlab users password NAME)")
        if principal is None:
            msg = "wrong user name or password"
            raise AuthError(msg)
        return principal

    def open_session(self, principal: Principal, *, ip: str | None = None) -> str:
        """A new server-side session; returns its random id (for the cookie), kept as a digest."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.session() as s:
            s.add(LoginSession(id_hash=digest(token), user_id=principal.user_id, created_at=now,
                               expires_at=now + timedelta(hours=self.session_hours), ip=ip))
            s.execute(delete(LoginSession).where(LoginSession.expires_at < now))
        return token

    def expire_sessions(self, now: datetime | None = None) -> int:
        """Delete every expired session; how many were deleted."""
        with self.store.session() as s:
            result = s.execute(delete(LoginSession).where(LoginSession.expires_at <= (now or self.clock())))
            return int(getattr(result, "rowcount", 0) or 0)

    def session_user(self, token: str) -> Principal:
        """The user of a live session; :class:`AuthError` for an unknown or expired one.  At most once
        per ``sweep_every`` (per process) it deletes the expired sessions first."""
        now = self.clock()
        self._sweeper.due(now)
        with self.store.session() as s:
            row = s.get(LoginSession, digest(token))
            if row is None or row.expires_at <= now:
                msg = "not logged in, or the session has expired; log in again"
                raise AuthError(msg)
            user = s.get(User, row.user_id)
            if user is None or not user.active:
                msg = "this account is disabled"
                raise AuthError(msg)
            return self._principal(s, user, "session")

    def close_session(self, token: str, *, actor: str, ip: str | None = None) -> None:
        """Log out: the session is deleted."""
        with self.store.session() as s:
            s.execute(delete(LoginSession).where(LoginSession.id_hash == digest(token)))
            self.audit(s, actor, "logout", actor, ip=ip)

    # ------------------------------------------------------------------ tokens
    def create_token(self, name: str, *, label: str | None = None, actor: str = "cli") -> tuple[int, str]:
        """A new API token for user ``name``: its id and the token (shown once, kept as a digest)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.session() as s:
            user = self._user(s, name)
            row = ApiToken(user_id=user.id, label=label, token_hash=digest(token), prefix=token[:12],
                           created_at=self.clock())
            s.add(row)
            s.flush()
            self.audit(s, actor, "token.create", name, {"token_id": row.id, "label": label})
            return row.id, token

    def revoke_token(self, token_id: int, *, actor: str = "cli") -> None:
        """Revoke an API token by id (``clvlab tokens list`` shows the ids)."""
        with self.store.session() as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                msg = f"no API token {token_id} (clvlab tokens list shows them)"
                raise AccessError(msg)
            row.revoked_at = row.revoked_at or self.clock()
            self.audit(s, actor, "token.revoke", str(token_id))

    def list_tokens(self) -> list[dict[str, Any]]:
        """Every token: id, user, label, prefix, created, last used, revoked."""
        with self.store.session() as s:
            rows = s.execute(select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
                             .order_by(ApiToken.id)).all()
            return [{"id": t.id, "user": n, "label": t.label, "prefix": t.prefix, "created_at": t.created_at,
                     "last_used_at": t.last_used_at, "revoked_at": t.revoked_at} for t, n in rows]

    def token_user(self, token: str) -> Principal:
        """The user of a live API token; :class:`AuthError` for an unknown or revoked one."""
        with self.store.session() as s:
            row = s.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
            if row is None or row.revoked_at is not None:
                msg = "unknown or revoked API token"
                raise AuthError(msg, hint="create one: clvlab tokens create NAME")
            user = s.get(User, row.user_id)
            if user is None or not user.active:
                msg = "this account is disabled"
                raise AuthError(msg)
            row.last_used_at = self.clock()
            return self._principal(s, user, "token")

    # ------------------------------------------------------------------ audit
    def audit(self, session: Session, actor: str, action: str, target: str | None = None,
              detail: dict[str, Any] | None = None, *, ip: str | None = None) -> None:
        """Append to the audit log in the caller's transaction (``detail`` as JSON; never secrets)."""
        text = None if detail is None else json.dumps(detail, default=str, ensure_ascii=False)
        session.add(AuditEntry(at=self.clock(), actor=actor, action=action, target=target, detail=text, ip=ip))

    def audit_log(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The latest audit entries, newest first."""
        with self.store.session() as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
            return [{"at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                     "detail": e.detail, "ip": e.ip} for e in rows]

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.scalars(select(User).where(User.name == name)).first()
        if user is None:
            msg = f"no user '{name}' (clvlab users list shows the users)"
            raise AccessError(msg)
        return user

    @staticmethod
    def _principal(session: Session, user: User, via: str) -> Principal:
        stores = session.scalars(select(UserStore.store_id).where(UserStore.user_id == user.id)
                                 .order_by(UserStore.store_id))
        return Principal(user.id, user.name, user.role, tuple(stores), via)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
