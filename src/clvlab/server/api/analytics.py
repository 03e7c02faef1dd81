"""Company-wide figures for roles that see every store (403 for a store manager, through
:meth:`clvlab.server.scope.Scope.require_every_store`): ``/api/v1/models/diagnostics``, the last
run's fit diagnostics and holdout tracking (the derived table ``diagnostics``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, UserScope
from clvlab.server.scope import NotFoundError

router = APIRouter(tags=["analytics"], responses=ERRORS)


class DiagnosticsOut(BaseModel):
    """The run (id, as-of day, settings), each candidate model, the chosen fits' parameters and the
    holdout tracked period by period (``period``, ``period_start``, ``predicted``, ``actual``)."""

    run_id: str | None
    as_of: str | None
    run: dict[str, Any]
    models: list[dict[str, Any]]
    params: list[dict[str, Any]]
    holdout: list[dict[str, Any]]


def _rows(frame: Any, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    from clvlab.cli._common import plain

    rows: list[dict[str, Any]] = plain(frame[[c for c in columns if c in frame.columns]].to_dict("records"))
    return rows


@router.get("/models/diagnostics", response_model=DiagnosticsOut)
def diagnostics(scope: UserScope, reader: Reader) -> DiagnosticsOut:
    """The last run's model diagnostics (admins and analysts)."""
    from clvlab.value.diagnostics import read_run_diagnostics

    scope.require_every_store("the model diagnostics")
    with reader.open() as ws:
        if "diagnostics" not in ws.tables():
            msg = "the workspace has no model diagnostics yet"
            raise NotFoundError(msg, hint="run the models first: clvlab run")
        diag = read_run_diagnostics(ws, where="GET /api/v1/models/diagnostics")
    return DiagnosticsOut(
        run_id=diag["run_id"], as_of=diag["as_of"], run=diag["run"],
        models=_rows(diag["model"], ("model", "chosen", "status", "text", "log_likelihood", "bic", "holdout_mae",
                                     "predicted_total", "actual_total")),
        params=_rows(diag["param"], ("model", "name", "value", "se", "status", "text")),
        holdout=_rows(diag["holdout"], ("model", "period", "period_start", "predicted", "actual")))
