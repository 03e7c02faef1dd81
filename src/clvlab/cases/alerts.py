"""Run the alert rules over the workspace's feedback and open cases in the application store.

Usage (``clvlab alerts run`` does the same)::

    from clvlab.cases.alerts import run_alerts
    report = run_alerts(clvlab.connect("shop.duckdb"), clvlab.open_app_store())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from clvlab.cases.notify import Notifier
from clvlab.cases.rules import AlertConfig, add_text_signals, evaluate_rules
from clvlab.cases.service import CaseService, OpenReport
from clvlab.errors import DataValidationError
from clvlab.store import AppStore

FEEDBACK_COLUMNS = ("response_id", "responded_at", "metric", "score", "customer_id", "comment",
                    "store_id", "product_id")


@dataclass(frozen=True)
class AlertsReport:
    """How many responses were read, how many matched a rule, and what opening did."""

    responses: int
    matched: int
    by_rule: dict[str, int]
    opened: OpenReport

    def __str__(self) -> str:
        rules = ", ".join(f"{k}: {v:,}" for k, v in self.by_rule.items()) or "none"
        return f"{self.responses:,} responses read, {self.matched:,} matched a rule ({rules}); {self.opened}"


def read_feedback(workspace: Any, *, since: datetime | str | None = None) -> pd.DataFrame:
    """The feedback columns the rules need, from the workspace (optionally only recent responses)."""
    table = workspace.table("feedback")
    have = set(table.columns)
    missing = [c for c in ("response_id", "metric", "score") if c not in have]
    if missing:
        msg = f"the workspace's feedback table lacks {missing}"
        raise DataValidationError(msg, hint="reload it with clvlab load feedback FILE")
    if since is not None:
        table = table.filter(table.responded_at >= pd.Timestamp(since).to_pydatetime())
    return table.select([c for c in FEEDBACK_COLUMNS if c in have]).execute()


def read_clv(workspace: Any) -> pd.Series | None:
    """CLV per customer from the workspace table ``scores`` (None when it is not there)."""
    from clvlab.derived import read_derived

    scores = read_derived(workspace, "scores", columns=("clv",), where="run_alerts", missing_ok=True)
    if scores is None:
        return None
    frame = scores.select("customer_id", "clv").execute()
    return pd.Series(frame["clv"].to_numpy(dtype=float), index=frame["customer_id"].astype(str), name="clv")


def run_alerts(
    workspace: Any,
    store: AppStore,
    *,
    config: AlertConfig | None = None,
    notifiers: Sequence[Notifier] = (),
    since: datetime | str | None = None,
    actor: str = "alerts",
) -> AlertsReport:
    """Evaluate the rules over the feedback table and open a case for each new match.

    Sentiment and intents come from :func:`clvlab.cases.rules.add_text_signals` (only when some
    rule reads them, and only for responses a score rule has not already caught); priority from
    the ``scores`` table's CLV.  Running it twice opens nothing new, and gives cases opened
    before the owners were loaded their owner.  Response times are read in the workspace's
    business time zone (:attr:`clvlab.Workspace.timezone`).
    """
    config = config or AlertConfig()
    feedback = read_feedback(workspace, since=since)
    matched, by_rule = match_alerts(feedback, config)
    service = CaseService(store, policy=config.policy, notifiers=notifiers, timezone=workspace.timezone)
    opened = service.open_cases(matched, clv=read_clv(workspace), actor=actor)
    return AlertsReport(responses=len(feedback), matched=len(matched), by_rule=by_rule, opened=opened)


def match_alerts(feedback: pd.DataFrame, config: AlertConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """The feedback rows some rule matches (with ``reasons``) and the count per rule.

    Score rules first; text rules (sentiment, intents) only read the comments of rows no score
    rule caught.  Survey responses run this at once as they arrive (:mod:`clvlab.surveys.responses`).
    """
    score_rules = [r for r in config.rules if not r.needs_text]
    text_rules = [r for r in config.rules if r.needs_text]
    matched = evaluate_rules(feedback, score_rules) if score_rules else feedback.iloc[0:0].assign(reasons="")
    if text_rules:
        rest = feedback[~feedback["response_id"].isin(matched["response_id"])]
        if "comment" in rest.columns:
            rest = rest[rest["comment"].notna()]
        if len(rest):
            matched = pd.concat([matched, evaluate_rules(add_text_signals(rest), text_rules)])
    by_rule: dict[str, int] = {}
    for reasons in matched["reasons"]:
        for name in str(reasons).split(","):
            by_rule[name] = by_rule.get(name, 0) + 1
    from clvlab.cases.holdout import held_out

    matched["held_out"] = held_out(matched["response_id"], matched.get("holdout", 0.0), config.holdout_salt)
    return matched, by_rule
