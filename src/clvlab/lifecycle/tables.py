"""Writing the ``stages`` and ``health`` tables of a run (through :func:`clvlab.derived.write_derived`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from clvlab.errors import DataValidationError


def write_lifecycle_tables(workspace: Any, *, as_of: str, run_id: str, app_store: Any = None,
                           model: Any = None, rfm: pd.DataFrame | None = None) -> dict[str, Any]:
    """Compute the stages and the health score as of ``as_of`` and store both with ``run_id``.

    ``model`` is the run's fitted purchase model: when it is MBG/NBD or Pareto/NBD its P(alive)
    is used (the same as in ``scores``); otherwise (BG/NBD) MBG/NBD is fitted for the stages.
    ``rfm``: the run's RFM summary as of ``as_of`` (:func:`clvlab.rfm_summary`, whose ``attrs``
    name its time unit), which the model was fitted on; inside
    :func:`~clvlab.lifecycle._features.shared_features` the stages and health take it instead of
    asking the engine again.

    Returns a JSON-ready record: customers per stage, per band, the health weights, or why
    the health score was not computed (too little history to fit its weights on a time split).
    """
    from clvlab.derived import write_derived
    from clvlab.lifecycle._features import purchase_days, share_rfm
    from clvlab.lifecycle.health import health_scores
    from clvlab.lifecycle.stages import ALIVE_MODELS, lifecycle_stages, stage_sizes

    if rfm is not None:
        share_rfm(purchase_days(workspace, "write_lifecycle_tables"), rfm)
    alive = model if type(model).__name__ in ALIVE_MODELS else "ModifiedBetaGeo"
    stages = lifecycle_stages(workspace, as_of=as_of, model=alive)
    write_derived(workspace, "stages", stages, run_id=run_id, as_of=as_of)
    record: dict[str, Any] = {"stages": stage_sizes(stages).to_dict(), "p_alive_model": stages.attrs["model"]}
    try:
        # in customer id order: the key check of write_derived compares neighbours (no hash of
        # millions of ids) and nothing is sorted; the readers order the table by health themselves
        health = health_scores(workspace, as_of=as_of, model=alive, app_store=app_store, by_health=False)
    except DataValidationError as exc:
        record["health_error"] = str(exc)
        return record
    write_derived(workspace, "health", health, run_id=run_id, as_of=as_of)
    record["bands"] = health["band"].value_counts().to_dict()
    record["health_weights"] = health.attrs["weights"]
    return record
