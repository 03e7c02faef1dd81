"""The clvlab server: a FastAPI application over the application store and the analytics workspace.

Folders by capability: ``auth`` (accounts, sessions, tokens, throttling, audit), ``scope`` (the one
place a store manager's view is narrowed to their stores), ``workspace`` (read-only access to the
analytics snapshot), ``deps`` (request dependencies), ``api`` (routers under ``/api/v1``).  A new
page or router is a module with an ``APIRouter`` added to :data:`clvlab.server.app.ROUTERS`.

``create_app`` is imported on first use so the CLI's account commands (which use
:mod:`clvlab.server.auth.accounts`) never import FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from clvlab.server.app import create_app

        return create_app
    raise AttributeError(name)
