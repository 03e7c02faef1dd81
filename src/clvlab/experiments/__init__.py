"""Experiments: stratified assignment with a persisted seed, analysis with CUPED and regression
adjustment, power and duration (see docs/experiments.md).

- :func:`assign` (:mod:`.assignment`): eligible customers from ``stages``/``scores``, stratified,
  seeded, stored in the ``experiments`` table with a definition in ``experiment_definitions``;
- :func:`analyze_experiment` (:mod:`.analyze`): effects per metric, intervals, SRM, Holm/BH;
- :func:`design_experiment` (:mod:`.design`): sample size and duration;
- :func:`list_experiments`, :func:`stop_experiment`, :func:`global_holdout` (:mod:`.definitions`).
"""

from clvlab.experiments.analyze import ExperimentAnalysis, analyze_experiment
from clvlab.experiments.assignment import Assignment, assign
from clvlab.experiments.definitions import global_holdout, list_experiments, stop_experiment
from clvlab.experiments.design import Design, design_experiment

__all__ = ["Assignment", "Design", "ExperimentAnalysis", "analyze_experiment", "assign", "design_experiment",
           "global_holdout", "list_experiments", "stop_experiment"]
