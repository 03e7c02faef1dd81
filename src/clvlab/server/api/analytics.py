"""Company-wide figures for roles that see every store (403 for a store manager, through
:meth:`clvlab.server.scope.Scope.require_every_store`): ``/api/v1/models/diagnostics``, the last
run's fit diagnostics and holdout tracking (the derived table ``diagnostics``);
``/api/v1/economics``, unit economics by channel and/or cohort as of the run;
``/api/v1/cohorts``, the cohort retention table; ``/api/v1/experiments`` and one experiment's
analysis.  Lists are paginated like the cases."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clvlab.server.deps import ERRORS, Reader, UserScope
from clvlab.server.reads import ExperimentId
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


PageNo = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=200)]


class RowPage(BaseModel):
    """One page of rows (``total`` rows in all)."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


def paged(rows: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    """``rows`` cut to one page, with the total."""
    return {"items": rows[(page - 1) * per_page: page * per_page], "total": len(rows), "page": page,
            "per_page": per_page}


class Dimension(StrEnum):
    """What to group unit economics by."""

    channel = "channel"
    cohort = "cohort"


class EconomicsOut(RowPage):
    """Unit economics rows (``customers``, ``cac``, ``aov``, ``ltv``, ``ltv_cac``, ``payback_months``,
    ... as :func:`clvlab.value.economics.unit_economics` defines them), the day they are as of, the
    margin used and where it came from, and notes (e.g. which inputs are demo assumptions)."""

    by: list[str]
    as_of: str | None
    margin: float | None
    margin_source: str | None
    notes: list[str]


@router.get("/economics", response_model=EconomicsOut)
def economics(scope: UserScope, reader: Reader,
              by: Annotated[list[Dimension] | None, Query(description="channel and/or cohort (default: channel)")] = None,
              page: PageNo = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """CAC, AOV, LTV, LTV:CAC and payback by acquisition channel and/or cohort (admins and analysts)."""
    from clvlab.cli._common import plain
    from clvlab.report.sections import run_economics

    scope.require_every_store("unit economics")
    dims = list(dict.fromkeys(d.value for d in by or [Dimension.channel]))
    with reader.open() as ws:
        if "economics" not in ws.tables():
            msg = "the workspace has no economics table yet"
            raise NotFoundError(msg, hint="run the pipeline first: clvlab run")
        frame = run_economics(ws, dims, where="GET /api/v1/economics")
    attrs = frame.attrs
    return {**paged(plain(frame.to_dict("records")), page, per_page), "by": dims,
            "as_of": None if attrs.get("as_of") is None else str(attrs["as_of"]), "margin": attrs.get("margin"),
            "margin_source": attrs.get("margin_source"), "notes": [str(n) for n in attrs.get("notes", [])]}


@router.get("/cohorts", response_model=RowPage)
def cohorts(scope: UserScope, reader: Reader, page: PageNo = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """The cohort retention table of the last run: ``cohort`` (first day of the period of the first
    purchase), ``age`` (periods since), ``retention``, ``cohort_size``, ``period`` (admins and analysts)."""
    from clvlab.cli._common import plain
    from clvlab.derived import read_derived

    scope.require_every_store("cohort retention")
    with reader.open() as ws:
        if "cohorts" not in ws.tables():
            msg = "the workspace has no cohorts table yet"
            raise NotFoundError(msg, hint="run the pipeline first: clvlab run")
        t = read_derived(ws, "cohorts", columns=("cohort", "age", "retention"), where="GET /api/v1/cohorts")
        frame = t.order_by(["cohort", "age"]).execute()
    return paged(plain(frame.to_dict("records")), page, per_page)


@router.get("/experiments", response_model=RowPage)
def experiments(scope: UserScope, reader: Reader, page: PageNo = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """Every experiment: ``experiment_id``, ``name``, ``status``, arm sizes ``control`` and
    ``treatment``, ``assigned_at``, ``control_share``, ``stratify_by``, ``seed`` (admins and analysts)."""
    from clvlab.cli._common import plain
    from clvlab.server.reads import experiment_list

    scope.require_every_store("experiments")
    with reader.open() as ws:
        frame = experiment_list(ws)
    return paged(plain(frame.to_dict("records")), page, per_page)


@router.get("/experiments/{experiment_id}")
def experiment(scope: UserScope, reader: Reader, experiment_id: ExperimentId) -> dict[str, Any]:
    """One experiment's analysis (as ``clvlab experiment analyze --json``): per metric the effect
    (treatment minus control, CUPED-adjusted), its 95% interval, the arms' sizes and means, the
    adjusted p-value and a sentence in plain words; the sample-ratio check ``srm`` (admins and analysts)."""
    from clvlab.cli._common import plain
    from clvlab.server.reads import analysis

    scope.require_every_store("experiments")
    with reader.open() as ws:
        result = analysis(ws, experiment_id)
    out: dict[str, Any] = plain(result.to_dict())
    return out
