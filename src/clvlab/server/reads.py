"""Workspace reads that a page and its API route share (the page renders them, the route returns
them as JSON): the customer journey over the user's scope, the experiments and one experiment's
analysis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import pandas as pd
from fastapi import Path

from clvlab.server.deps import NO_NUL
from clvlab.server.scope import NotFoundError, Scope

ExperimentId = Annotated[str, Path(max_length=200, pattern=NO_NUL)]


def experiment_list(ws: Any) -> pd.DataFrame:
    """:func:`clvlab.experiments.list_experiments` of the workspace (empty without experiments)."""
    from clvlab.experiments import list_experiments

    return list_experiments(ws)


def analysis(ws: Any, experiment_id: str) -> Any:
    """The analysis of one listed experiment (:class:`NotFoundError` for an id not in the list)."""
    from clvlab.experiments import analyze_experiment

    if experiment_id not in set(experiment_list(ws)["experiment_id"].astype(str)):
        msg = f"no experiment '{experiment_id}'"
        raise NotFoundError(msg, hint="GET /api/v1/experiments lists them")
    return analyze_experiment(ws, experiment_id)


#: the events file of the bundled demo (made up: CDNOW has no site visits)
DEMO_EVENTS = "demo_events.csv.gz"
#: answers below which a touchpoint's figure is flagged as a small sample
MIN_N = 30


def journey_data(scope: Scope, ws: Any, stores: Iterable[str] | None = None) -> dict[str, Any]:
    """The touchpoints (:func:`clvlab.voc.journey.touchpoint_summary`), the funnel
    (:func:`clvlab.voc.journey.drop_away`) and the label keys of the funnel's notes, over the scope
    (and ``stores``, checked)."""
    from clvlab.voc.journey import drop_away as funnel
    from clvlab.voc.journey import touchpoint_summary

    tables = ws.tables()
    notes = []
    points = touchpoint_summary(scope.feedback(ws, stores=stores), min_n=MIN_N) if "feedback" in tables else pd.DataFrame()
    events = scope.table(ws, "events", stores=stores) if "events" in tables else None
    purchases = scope.table(ws, "transactions", stores=stores) if "transactions" in tables else None
    steps = funnel(events, purchases)
    if events is None:
        notes.append("no_events")
    elif "_source" in events.columns and DEMO_EVENTS in set(events.select("_source").distinct().execute()["_source"]):
        notes.append("demo_events")
    if scope.stores is not None:
        notes.append("funnel_scoped")
    return {"touchpoints": points, "funnel": steps, "notes": notes}
