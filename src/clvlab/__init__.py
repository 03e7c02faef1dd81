"""clvlab: customer lifetime value, lifecycle and voice of the customer.

>>> import clvlab
>>> from clvlab.datasets import load_cdnow
>>> with clvlab.connect(":memory:") as ws:
...     report = ws.load_transactions(load_cdnow("sample"))
...     rfm = clvlab.rfm_summary(ws, freq="W", exact=True, observation_end="1997-09-30")
>>> bg = clvlab.BetaGeo().fit(rfm)
>>> {k: round(v, 3) for k, v in bg.params_.items()}     # Fader, Hardie & Lee (2005)
{'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}

Names are imported on first use, so ``import clvlab`` (and the CLI) start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # workspace and data
    "connect": "clvlab.data.workspace",
    "Workspace": "clvlab.data.workspace",
    "LoadReport": "clvlab.data.load",
    # features
    "rfm_summary": "clvlab.features.rfm",
    "calibration_holdout": "clvlab.features.rfm",
    # models
    "BetaGeo": "clvlab.models.beta_geo",
    "ModifiedBetaGeo": "clvlab.models.modified_beta_geo",
    "ParetoNBD": "clvlab.models.pareto_nbd",
    "BetaGeoCovariates": "clvlab.models.covariates",
    "ParetoNBDCovariates": "clvlab.models.covariates",
    "BetaGeoBetaBinom": "clvlab.models.beta_geo_beta_binom",
    "ShiftedBetaGeo": "clvlab.models.shifted_beta_geo",
    "GammaGamma": "clvlab.models.gamma_gamma",
    "load_model": "clvlab.models._base",
    "FitStatus": "clvlab.models._mle",
    # value
    "score_customers": "clvlab.value.score",
    "customer_lifetime_value": "clvlab.value.score",
    "rfm_segments": "clvlab.value.segments",
    "evaluate_holdout": "clvlab.value.evaluation",
    "cohort_matrix": "clvlab.value.cohorts",
    "unit_economics": "clvlab.value.economics",
    "read_derived": "clvlab.derived",
    "write_derived": "clvlab.derived",
    "run_pipeline": "clvlab.pipeline",
    "run": "clvlab.pipeline",
    "run_clv_at_scale": "clvlab.scale",
    # lifecycle
    "lifecycle_stages": "clvlab.lifecycle.stages",
    "stage_transitions": "clvlab.lifecycle.stages",
    "onboarding_summary": "clvlab.lifecycle.stages",
    "LifecycleThresholds": "clvlab.lifecycle.thresholds",
    "health_scores": "clvlab.lifecycle.health",
    "health_backtest": "clvlab.lifecycle.health",
    "fit_health_weights": "clvlab.lifecycle.health",
    "lead_scores": "clvlab.lifecycle.leads",
    "ChurnModel": "clvlab.lifecycle.churn",
    "churn_watchlist": "clvlab.lifecycle.churn_table",
    "churn_evaluate": "clvlab.lifecycle.churn_eval",
    # voice of the customer
    "nps": "clvlab.voc.metrics",
    "csat": "clvlab.voc.metrics",
    "ces": "clvlab.voc.metrics",
    "feedback_metrics": "clvlab.voc.metrics",
    "metric_trend": "clvlab.voc.metrics",
    "nps_drivers": "clvlab.voc.drivers",
    "value_by_nps_class": "clvlab.voc.drivers",
    "voc_covariates": "clvlab.voc.covariates",
    "voc_rate_ratios": "clvlab.voc.covariates",
    "sentiment": "clvlab.text.sentiment",
    "detect_language": "clvlab.text.language",
    "analyze_text": "clvlab.text.analyze",
    "clean_text": "clvlab.text.clean",
    "mask_pii": "clvlab.text.clean",
    "open_app_store": "clvlab.store",
    "Settings": "clvlab.settings",
    "get_settings": "clvlab.settings",
    "CaseService": "clvlab.cases.service",
    # experiments
    "assign": "clvlab.experiments",
    "analyze_experiment": "clvlab.experiments",
    "design_experiment": "clvlab.experiments",
    "list_experiments": "clvlab.experiments",
    "stop_experiment": "clvlab.experiments",
    "global_holdout": "clvlab.experiments",
    # next best action, promoters and tiers
    "next_best_actions": "clvlab.actions",
    "assign_action": "clvlab.actions",
    "ActionRules": "clvlab.actions",
    "promoter_list": "clvlab.actions",
    "loyalty_tiers": "clvlab.actions",
    "tier_transitions": "clvlab.actions",
    "recommend_items": "clvlab.actions",
    "evaluate_recommendations": "clvlab.actions",
    # server
    "create_app": "clvlab.server",
    "Accounts": "clvlab.server.auth.accounts",
    "publish_snapshot": "clvlab.data.snapshot",
    # errors
    "ClvlabError": "clvlab.errors",
    "DataValidationError": "clvlab.errors",
    "ParameterError": "clvlab.errors",
    "NotFittedError": "clvlab.errors",
    "ConvergenceError": "clvlab.errors",
    "ConvergenceWarning": "clvlab.errors",
    "DataQualityWarning": "clvlab.errors",
    "Hint": "clvlab.errors",
    # report
    "build_report": "clvlab.report",
    "write_report": "clvlab.report",
    # surveys
    "parse_survey": "clvlab.surveys.definition",
    "create_invites": "clvlab.surveys.invites",
    "Collector": "clvlab.surveys.responses",
}
_SUBMODULES = {"datasets", "errors", "models", "data", "features", "value", "voc", "text", "cases", "store",
               "derived", "pipeline", "stats", "lifecycle", "report", "experiments", "server",
               "actions", "surveys"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"clvlab.{name}")
    msg = f"module 'clvlab' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - static view of the lazy names
    from clvlab.actions import (
        ActionRules,
        assign_action,
        evaluate_recommendations,
        loyalty_tiers,
        next_best_actions,
        promoter_list,
        recommend_items,
        tier_transitions,
    )
    from clvlab.data.load import LoadReport
    from clvlab.data.snapshot import publish_snapshot
    from clvlab.data.workspace import Workspace, connect
    from clvlab.derived import read_derived, write_derived
    from clvlab.errors import (
        ClvlabError,
        ConvergenceError,
        ConvergenceWarning,
        DataQualityWarning,
        DataValidationError,
        Hint,
        NotFittedError,
        ParameterError,
    )
    from clvlab.experiments import (
        analyze_experiment,
        assign,
        design_experiment,
        global_holdout,
        list_experiments,
        stop_experiment,
    )
    from clvlab.features.rfm import calibration_holdout, rfm_summary
    from clvlab.lifecycle.churn import ChurnModel
    from clvlab.lifecycle.churn_eval import churn_evaluate
    from clvlab.lifecycle.churn_table import churn_watchlist
    from clvlab.lifecycle.health import fit_health_weights, health_backtest, health_scores
    from clvlab.lifecycle.leads import lead_scores
    from clvlab.lifecycle.stages import lifecycle_stages, onboarding_summary, stage_transitions
    from clvlab.lifecycle.thresholds import LifecycleThresholds
    from clvlab.models._base import load_model
    from clvlab.models._mle import FitStatus
    from clvlab.models.beta_geo import BetaGeo
    from clvlab.models.beta_geo_beta_binom import BetaGeoBetaBinom
    from clvlab.models.covariates import BetaGeoCovariates, ParetoNBDCovariates
    from clvlab.models.gamma_gamma import GammaGamma
    from clvlab.models.modified_beta_geo import ModifiedBetaGeo
    from clvlab.models.pareto_nbd import ParetoNBD
    from clvlab.models.shifted_beta_geo import ShiftedBetaGeo
    from clvlab.pipeline import run, run_pipeline
    from clvlab.report import build_report, write_report
    from clvlab.scale import run_clv_at_scale
    from clvlab.server.app import create_app
    from clvlab.server.auth.accounts import Accounts
    from clvlab.surveys.definition import parse_survey
    from clvlab.surveys.invites import create_invites
    from clvlab.surveys.responses import Collector
    from clvlab.value.cohorts import cohort_matrix
    from clvlab.value.economics import unit_economics
    from clvlab.value.evaluation import evaluate_holdout
    from clvlab.value.score import customer_lifetime_value, score_customers
    from clvlab.value.segments import rfm_segments
