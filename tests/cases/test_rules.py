"""Alert rules: defaults of issue 3, YAML/TOML configuration, located errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clvlab.cases.rules import DEFAULT_RULES, CasePolicy, evaluate_rules, load_alert_config
from clvlab.errors import DataValidationError, ParameterError


@pytest.fixture
def feedback() -> pd.DataFrame:
    return pd.DataFrame({
        "response_id": ["a", "b", "c", "d", "e", "f", "g"],
        "metric": ["nps", "nps", "csat", "csat", "nps", "NPS", "ces"],
        "score": [6, 7, 2, 3, 9, 0, 1],
        "sentiment_label": ["negative", "negative", None, "negative", "negative", "positive", "negative"],
        "intents": [[], ["praise"], [], "complaint", ["churn_threat"], [], ("question",)],
    })


def test_default_rules(feedback: pd.DataFrame) -> None:
    """NPS <= 6, CSAT <= 2, negative sentiment with a complaint or churn-threat intent."""
    hits = evaluate_rules(feedback, DEFAULT_RULES)
    assert dict(zip(hits["response_id"], hits["reasons"], strict=True)) == {
        "a": "nps_detractor", "c": "csat_low", "d": "negative_complaint",
        "e": "negative_complaint", "f": "nps_detractor"}


def test_yaml_and_toml_configs(tmp_path: Path, feedback: pd.DataFrame) -> None:
    yml = tmp_path / "rules.yaml"
    yml.write_text("rules:\n  - {name: ces_hard, metric: ces, max_score: 2}\n"
                   "priority: {P1: 0.95}\nsla_hours: {P1: 8, P3: 96}\n", encoding="utf-8")
    config = load_alert_config(yml)
    assert evaluate_rules(feedback, config.rules)["response_id"].tolist() == ["g"]
    assert config.policy.priority == (("P1", 0.95),)
    assert config.policy.sla_hours["P3"] == 96
    toml = tmp_path / "rules.toml"
    toml.write_text('[[rules]]\nname = "neg"\nsentiment = "negative"\n', encoding="utf-8")
    assert evaluate_rules(feedback, load_alert_config(toml).rules)["response_id"].tolist() == [
        "a", "b", "d", "e", "g"]


def test_bad_configs_are_located(tmp_path: Path, feedback: pd.DataFrame) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n  - {name: x, metric: nps, max_scor: 6}\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"rule 1 \('x'\) has unknown keys \['max_scor'\]"):
        load_alert_config(path)
    with pytest.raises(ParameterError, match="priority 'P2' has no SLA"):
        load_alert_config({"priority": {"P2": 0.8}, "sla_hours": {"P3": 72}})
    with pytest.raises(DataValidationError, match="column 'intents': required by the text rules"):
        evaluate_rules(feedback.drop(columns="intents"), DEFAULT_RULES)


def test_policy_thresholds_from_clv_distribution() -> None:
    policy = CasePolicy()
    cuts = policy.thresholds(pd.Series(range(1, 11), dtype=float))
    assert [name for name, _ in cuts] == ["P1", "P2"]
    assert [policy.priority_for(v, cuts) for v in (10.0, 8.0, 7.0, None)] == ["P1", "P2", "P3", "P3"]
