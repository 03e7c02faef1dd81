"""Next best action, promoters and loyalty tiers (see docs/experiments.md).

- :func:`next_best_actions` (:mod:`.nba`): one action per customer from stage, health, churn
  risk, open cases and NPS class, by the rule table of :mod:`.rules`; :func:`assign_action`
  makes one action the treatment of an experiment;
- :func:`promoter_list`, :func:`loyalty_tiers`, :func:`tier_transitions` (:mod:`.promoters`);
- :func:`recommend_items`, :func:`evaluate_recommendations` (:mod:`.crosssell`): cross-sell items
  from item-item co-occurrence with lift and a time decay.
"""

from clvlab.actions.crosssell import Evaluation, evaluate_recommendations, recommend_items
from clvlab.actions.nba import assign_action, next_best_actions
from clvlab.actions.promoters import PromoterReport, loyalty_tiers, promoter_list, tier_transitions
from clvlab.actions.rules import ActionRule, ActionRules

__all__ = ["ActionRule", "ActionRules", "Evaluation", "PromoterReport", "assign_action", "evaluate_recommendations",
           "loyalty_tiers", "next_best_actions", "promoter_list", "recommend_items", "tier_transitions"]
