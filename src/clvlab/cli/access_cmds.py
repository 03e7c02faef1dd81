"""``clvlab db ...``, ``clvlab users ...`` and ``clvlab tokens ...``: the application store's schema,
the server's accounts and API tokens.

These commands open the application store the way every command does (``--app-store``, else the
settings); like the other commands they bring a store that is behind up to date on the spot.  The
server never does: it refuses a store that is behind and names ``clvlab db upgrade``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clvlab.cli._common import WorkspaceOpt, console, emit_json, out, state, styled, user_errors
from clvlab.cli.cases_cmds import AppStoreOpt

RoleOpt = Annotated[str | None, typer.Option("--role", help="admin, analyst or store_manager.")]
StoreOpt = Annotated[list[str] | None, typer.Option("--store", help="A store the user may see (repeatable).")]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin \\[default: generate one, printed once].")]


@contextmanager
def _accounts(app_store: str | None) -> Iterator[Any]:
    """The accounts of the application store, closed on the way out."""
    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import open_app_store

    accounts = Accounts(open_app_store(app_store))
    try:
        yield accounts
    finally:
        accounts.store.close()


def _stdin_password(flag: bool) -> str | None:
    if not flag:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        from clvlab.errors import ParameterError

        msg = "--password-stdin read an empty line; pipe the password in (printf '%s\\n' \"$PW\" | clvlab ...)"
        raise ParameterError(msg)
    return line


def _shown_once(what: str, secret: str) -> None:
    console.print(styled((f"{what} (shown once, keep it now): ", "bold")), soft_wrap=True)
    print(secret)


# ---------------------------------------------------------------------- db
@user_errors
def db_upgrade(app_store: AppStoreOpt = None) -> None:
    """Migrate the application store to this clvlab's schema (the server refuses a store that is behind)."""
    from clvlab.store import head_revision, open_app_store, upgrade

    with open_app_store(app_store, migrate=False) as store:
        before = store.revision()
        upgrade(store)
        after = store.revision()
        url = store.url
    if state.json:
        emit_json({"app_store": url, "from": before, "to": after, "head": head_revision()})
        return
    what = "already at" if before == after else f"migrated from {before or 'empty'} to"
    console.print(f"app store {url}: {what} revision {after}", soft_wrap=True)


@user_errors
def db_snapshot(workspace: WorkspaceOpt = None) -> None:
    """Publish the workspace's serving snapshot (what clvlab serve reads; clvlab run does it at its end)."""
    import time

    from clvlab.data.snapshot import refresh_snapshot
    from clvlab.settings import get_settings

    target = Path(workspace) if workspace is not None else Path(get_settings().workspace)
    if not target.exists():
        from clvlab.errors import DataValidationError

        msg = f"workspace '{target}' does not exist"
        raise DataValidationError(msg, hint="create one first: clvlab demo, or clvlab load transactions FILE")
    started = time.perf_counter()
    path = refresh_snapshot(target)
    seconds = time.perf_counter() - started
    if state.json:
        emit_json({"workspace": str(target), "snapshot": str(path), "seconds": round(seconds, 3)})
        return
    console.print(f"snapshot {path} written in {seconds:.1f} s", soft_wrap=True)


# ---------------------------------------------------------------------- users
@user_errors
def users_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. li.na.")],
    role: RoleOpt = "store_manager",
    store: StoreOpt = None,
    password_stdin: PasswordStdinOpt = False,
    app_store: AppStoreOpt = None,
) -> None:
    """Add a user of the server (a store manager needs --store; the password is generated unless piped in)."""
    password = _stdin_password(password_stdin)
    with _accounts(app_store) as accounts:
        user, generated = accounts.add_user(name, role=role or "store_manager", stores=store or [],
                                            password=password)
    if state.json:
        emit_json({"name": user.name, "role": user.role, "stores": list(user.stores), "password": generated})
        return
    stores = f" for {', '.join(user.stores)}" if user.stores else ""
    console.print(f"user {user.name} added as {user.role}{stores}", soft_wrap=True)
    if generated:
        _shown_once("password", generated)


@user_errors
def users_list(app_store: AppStoreOpt = None) -> None:
    """The users, their roles, stores and live API tokens."""
    with _accounts(app_store) as accounts:
        rows = accounts.list_users()
    if state.json:
        emit_json(rows)
        return
    table = Table("name", "role", "stores", "active", "tokens", "created (UTC)")
    for r in rows:
        stores = ", ".join(r["stores"]) if r["role"] == "store_manager" else "(all)"
        table.add_row(r["name"], r["role"], stores, "yes" if r["active"] else "no", str(r["tokens"]),
                      f"{r['created_at']:%Y-%m-%d %H:%M}")
    out.print(table)


@user_errors
def users_grant(
    name: Annotated[str, typer.Argument(help="Login name.")],
    store: StoreOpt = None,
    revoke: Annotated[list[str] | None, typer.Option("--revoke", help="Take a store away (repeatable).")] = None,
    role: RoleOpt = None,
    app_store: AppStoreOpt = None,
) -> None:
    """Grant (or --revoke) stores, or change the role of a user."""
    with _accounts(app_store) as accounts:
        user = accounts.grant(name, stores=store or [], revoke=revoke or [], role=role)
    if state.json:
        emit_json({"name": user.name, "role": user.role, "stores": list(user.stores)})
        return
    console.print(f"user {user.name}: {user.role}, stores {', '.join(user.stores) or '(all)'}", soft_wrap=True)


@user_errors
def users_password(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: PasswordStdinOpt = False,
    app_store: AppStoreOpt = None,
) -> None:
    """Set a new password (generated unless piped in); the user's sessions end."""
    password = _stdin_password(password_stdin)
    with _accounts(app_store) as accounts:
        generated = accounts.set_password(name, password)
    if state.json:
        emit_json({"name": name, "password": generated})
        return
    console.print(f"password of {name} changed; their sessions ended", soft_wrap=True)
    if generated:
        _shown_once("password", generated)


def _set_active(name: str, active: bool, app_store: str | None) -> None:
    with _accounts(app_store) as accounts:
        changed = accounts.set_active(name, active)
    if state.json:
        emit_json({"name": name, "active": active, "changed": changed})
        return
    word = "enabled" if active else "disabled"
    done = f"{name} {word}" + ("" if active else "; their sessions ended and their API tokens are refused")
    console.print(done if changed else f"{name} was {word} already", soft_wrap=True)


@user_errors
def users_disable(
    name: Annotated[str, typer.Argument(help="Login name.")],
    app_store: AppStoreOpt = None,
) -> None:
    """Disable a user at once: their sessions end, their API tokens are refused until enabled."""
    _set_active(name, False, app_store)


@user_errors
def users_enable(
    name: Annotated[str, typer.Argument(help="Login name.")],
    app_store: AppStoreOpt = None,
) -> None:
    """Enable a disabled user again (they log in anew; their unrevoked tokens work again)."""
    _set_active(name, True, app_store)


# ---------------------------------------------------------------------- tokens
@user_errors
def tokens_create(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str | None, typer.Option("--label", help="What the token is for.")] = None,
    app_store: AppStoreOpt = None,
) -> None:
    """Create an API token (Authorization: Bearer TOKEN); it is printed once and stored hashed."""
    with _accounts(app_store) as accounts:
        token_id, token = accounts.create_token(name, label=label)
    if state.json:
        emit_json({"id": token_id, "user": name, "token": token})
        return
    console.print(f"token {token_id} for {name} created", soft_wrap=True)
    _shown_once("token", token)


@user_errors
def tokens_list(app_store: AppStoreOpt = None) -> None:
    """API tokens: id, user, label, prefix, when created, last used, revoked."""
    with _accounts(app_store) as accounts:
        rows = accounts.list_tokens()
    if state.json:
        emit_json(rows)
        return
    table = Table("id", "user", "label", "prefix", "created (UTC)", "last used", "revoked")
    for r in rows:
        table.add_row(str(r["id"]), r["user"], r["label"] or "", r["prefix"] + "...",
                      f"{r['created_at']:%Y-%m-%d %H:%M}",
                      "" if r["last_used_at"] is None else f"{r['last_used_at']:%Y-%m-%d %H:%M}",
                      "" if r["revoked_at"] is None else f"{r['revoked_at']:%Y-%m-%d %H:%M}")
    out.print(table)


@user_errors
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (clvlab tokens list).")],
    app_store: AppStoreOpt = None,
) -> None:
    """Revoke an API token: it stops working at once."""
    with _accounts(app_store) as accounts:
        accounts.revoke_token(token_id)
    if state.json:
        emit_json({"id": token_id, "revoked": True})
        return
    console.print(f"token {token_id} revoked", soft_wrap=True)


db_app = typer.Typer(help="The application store: schema migrations, the workspace's serving snapshot.",
                     no_args_is_help=True)
db_app.command("upgrade")(db_upgrade)
db_app.command("snapshot")(db_snapshot)
users_app = typer.Typer(help="Users of the server: roles and store grants.", no_args_is_help=True)
users_app.command("add")(users_add)
users_app.command("list")(users_list)
users_app.command("grant")(users_grant)
users_app.command("password")(users_password)
users_app.command("disable")(users_disable)
users_app.command("enable")(users_enable)
tokens_app = typer.Typer(help="API tokens of the REST API.", no_args_is_help=True)
tokens_app.command("create")(tokens_create)
tokens_app.command("list")(tokens_list)
tokens_app.command("revoke")(tokens_revoke)
