"""The demo's finished experiment: a SIMULATED win-back campaign on the CDNOW demo data.

CDNOW's customers were never contacted by any campaign clvlab ran: the experiment replays an
assignment on 1998-01-01 of the customers who were ``declining`` or ``churned`` as of 1997-12-31
(stages computed as of that day, so nothing after the assignment decides who is eligible), 30% in
control, stratified by stage, with a fixed seed. Nobody in the treatment arm received anything,
so it is an A/A test on real purchases: the analysis should find no effect and no sample ratio
mismatch, and shows how much CUPED narrows the intervals on real data. The experiment is stored
``stopped`` (finished): its customers may enter new experiments.
"""

from __future__ import annotations

from typing import Any

from clvlab.experiments.assignment import Assignment, assign
from clvlab.experiments.definitions import get_definition, stop_experiment

DEMO_EXPERIMENT = "demo-winback-simulated"
DEMO_NAME = "SIMULATED win-back campaign on demo data (nobody was contacted: an A/A test)"
DEMO_SEED = 19980101


def demo_experiment(ws: Any) -> Assignment:
    """Assign the demo's simulated campaign (a no-op when the workspace already has it)."""
    from clvlab.lifecycle.stages import lifecycle_stages

    if get_definition(ws, DEMO_EXPERIMENT) is not None:
        return assign(ws, DEMO_EXPERIMENT, stage=["declining", "churned"], control=0.3, stratify_by="stage",
                      seed=DEMO_SEED)
    stages = lifecycle_stages(ws, as_of="1997-12-31")
    done = assign(ws, DEMO_EXPERIMENT, name=DEMO_NAME, stage=["declining", "churned"], control=0.3,
                  stratify_by="stage", seed=DEMO_SEED, assigned_at="1998-01-01", stages=stages,
                  metrics=("retention", "repurchase", "spend", "clv"))
    done.definition = stop_experiment(ws, DEMO_EXPERIMENT)  # the campaign is over: finished
    return done
