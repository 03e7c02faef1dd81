"""``clvlab serve``: the server (FastAPI under uvicorn) over a workspace and an application store.

Before uvicorn starts, in this one process: the secret key is checked (refused when missing or a
default, unless ``--dev``), a new (empty) application store is created, one with an older schema
is refused (run ``clvlab db upgrade``: a server never migrates a store by surprise), the first admin is created when there is none (its password printed
once), and the workspace's serving snapshot is published when missing or older than the
workspace.  Workers then read their settings from the environment this process passes on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from clvlab.cli._common import WorkspaceOpt, console, styled, user_errors

# ``--store`` too, as in the issue's and docs' ``clvlab serve --store postgresql://...`` (serve
# has no store grants, where ``--store`` means a store of the chain)
ServeStoreOpt = Annotated[str | None, typer.Option(
    "--app-store", "--store",
    help="App store URL: sqlite:///file.sqlite or postgresql+psycopg://... "
         "\\[default: $CLVLAB_APP_STORE, else <workspace stem>-app.sqlite beside the workspace].")]


def _snapshot(workspace: Path) -> None:
    from clvlab.data.snapshot import refresh_snapshot, snapshot_path

    snap = snapshot_path(workspace)
    if snap.exists() and snap.stat().st_mtime >= workspace.stat().st_mtime:
        return
    console.print(f"publishing the serving snapshot {snap.name} ...", soft_wrap=True)
    refresh_snapshot(workspace)


@user_errors
def serve(
    workspace: WorkspaceOpt = None,
    app_store: ServeStoreOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (behind a proxy: 127.0.0.1).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    dev: Annotated[bool, typer.Option("--dev", help="Development: allow the built-in insecure secret key.")] = False,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        "--forwarded-allow-ips", help="Proxies whose X-Forwarded-* headers are trusted \\[default: 127.0.0.1].")] = None,
) -> None:
    """Serve the REST API (docs at /api/docs) over the workspace and the application store."""
    import uvicorn

    from clvlab.errors import DataValidationError
    from clvlab.server.app import secret_key
    from clvlab.server.auth.accounts import Accounts
    from clvlab.settings import get_settings
    from clvlab.store import check_current, open_app_store, upgrade

    overrides: dict[str, object] = {"dev": True} if dev else {}
    if workspace is not None:
        overrides["workspace"] = str(workspace)
    settings = get_settings(**overrides)
    store_url = app_store or settings.app_store_url()
    settings = get_settings(**overrides, app_store=store_url)
    secret_key(settings)
    ws = Path(settings.workspace)
    if not ws.exists():
        msg = f"workspace '{ws}' does not exist"
        raise DataValidationError(msg, hint="create one first: clvlab demo -w clvlab-demo.duckdb, "
                                  "or clvlab load transactions FILE -w WORKSPACE")
    with open_app_store(store_url, migrate=False) as store:
        if store.revision() is None:  # a new, empty store is created; one that is behind is refused
            console.print(f"creating the app store {store.url}", soft_wrap=True)
            upgrade(store)
        check_current(store)
        accounts = Accounts(store)
        if not accounts.has_admin():
            _, password = accounts.add_user("admin", role="admin", actor="serve")
            console.print(styled(("first start: user 'admin' created; its password (shown once): ", "bold")),
                          soft_wrap=True)
            print(password, flush=True)
    _snapshot(ws)
    os.environ["CLVLAB_WORKSPACE"] = str(ws)
    os.environ["CLVLAB_APP_STORE"] = store_url
    if dev:
        os.environ["CLVLAB_DEV"] = "true"
    console.print(f"clvlab serving {ws} on http://{host}:{port} (API docs: /api/docs), {workers} worker(s)",
                  soft_wrap=True)
    uvicorn.run("clvlab.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips or "127.0.0.1", log_level="info")
