"""Next best action: the rule table as documented, YAML overrides, the CLI and the one-command experiment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.actions.nba import classify
from clvlab.actions.rules import ActionRules
from clvlab.cli.app import app
from clvlab.errors import DataValidationError, ParameterError

from .conftest import EXPECTED, build, frame

runner = CliRunner()


def test_default_table_gives_each_customer_the_documented_action() -> None:
    out = classify(frame(), ActionRules()).set_index("customer_id")
    assert out["action"].to_dict() == EXPECTED
    # values at stake as the docstring defines them
    assert out.loc["c1", "value_at_stake"] == pytest.approx(0.9 * 1000)        # p_churn x CLV
    assert out.loc["c2", "value_at_stake"] == pytest.approx(0.7 * 800)
    assert out.loc["c3", "value_at_stake"] == pytest.approx(0.1 * 50)          # 0.1 x CLV
    assert out.loc["c4", "value_at_stake"] == pytest.approx(0.1 * 2161 / 7)    # 0.1 x mean CLV of all seven
    assert out.loc["c5", "value_at_stake"] == pytest.approx(0.1 * 200)
    # high CLV = at or above the 0.8 quantile of the seven CLVs: 200 + 0.8 x (800 - 200) = 680
    assert out.attrs["high_clv_cut"] == pytest.approx(680)
    assert out.loc["c2", "reason"] == "p_churn 0.70 >= 0.5, CLV 800 >= 680 (the 0.8 quantile)"
    assert out.loc["c1", "reason"] == "detractor (NPS 3), 1 open case"
    # sorted by value at stake, customers without an action last
    assert list(out.index[:2]) == ["c1", "c2"]
    assert set(out.index[-2:]) == {"c6", "c7"}


def test_a_detractor_without_an_open_case_gets_no_recovery_call() -> None:
    rows = frame()
    rows["open_cases"] = 0
    out = classify(rows, ActionRules()).set_index("customer_id")
    assert out.loc["c1", "action"] == "retention_offer"  # still at risk with a high CLV


def test_yaml_file_overrides_the_table(tmp_path: Path) -> None:
    path = tmp_path / "actions.yaml"
    path.write_text("high_churn: 0.95\nrules:\n"
                    "  - {action: save_call, band: [red], value: clv}\n"
                    "  - {action: upsell, stage: [growth, mature], value: {clv_share: 0.5}}\n", encoding="utf-8")
    rules = ActionRules.from_file(path)
    out = classify(frame(), rules).set_index("customer_id")
    assert out["action"].to_dict() == {"c1": "save_call", "c2": "none", "c3": "none", "c4": "upsell",
                                       "c5": "upsell", "c6": "save_call", "c7": "save_call"}
    assert out.loc["c5", "value_at_stake"] == pytest.approx(100)
    assert rules.high_churn == 0.95


@pytest.mark.parametrize(("text", "needle"), [
    ("rules:\n  - {action: x, colour: red}\n", "unknown key(s) ['colour']"),
    ("rules:\n  - {action: x, value: margin}\n", "value must be one of"),
    ("rules:\n  - {action: x, at_risk: maybe}\n", "at_risk must be true or false"),
    ("high_churn: 2\n", "high_churn must be a number in (0, 1)"),
    ("thresholds: 1\n", "unknown key(s) ['thresholds']"),
])
def test_bad_rule_files_are_located_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        ActionRules.from_file(path)
    assert needle in str(err.value)


def test_next_best_actions_reads_the_workspace(shop: Path) -> None:
    with clvlab.connect(shop, read_only=True) as ws:
        out = clvlab.next_best_actions(ws, open_cases=__import__("pandas").Series({"c1": 2}))
        top = clvlab.next_best_actions(ws, top=1)
    assert out.set_index("customer_id")["action"].to_dict() == {k: v for k, v in EXPECTED.items() if v != "none"}
    assert out.set_index("customer_id").loc["c1", "band"] == "red"
    # without open cases the detractor c1 is at risk with a high CLV: a retention offer worth 900
    assert list(top["customer_id"]) == ["c1"]
    assert top.loc[0, "action"] == "retention_offer"


def test_missing_churn_table_says_to_run_clvlab_run(tmp_path: Path) -> None:
    path = build(tmp_path / "nochurn.duckdb", churn=False)
    with clvlab.connect(path, read_only=True) as ws, pytest.raises(DataValidationError) as err:
        clvlab.next_best_actions(ws)
    assert "no churn table" in str(err.value)
    assert "clvlab run" in str(err.value.hint)
    result = runner.invoke(app, ["actions", "-w", str(path)])
    assert result.exit_code == 1
    assert "clvlab run" in result.output


def test_cli_json_and_csv(shop: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--json", "actions", "-w", str(shop), "--top", "3", "-o", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [r["customer_id"] for r in payload["actions"]] == ["c1", "c2", "c4"]
    assert payload["rules"][0] == {"order": 1, "action": "recovery_call", "when": "nps_class in (detractor) and open_case",
                                   "value": "p_churn x CLV"}
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").startswith("customer_id,action,reason")
    text = runner.invoke(app, ["actions", "-w", str(shop)])
    assert text.exit_code == 0
    assert "retention_offer" in text.output


def test_one_command_makes_an_action_the_treatment_of_an_experiment(shop: Path) -> None:
    args = ["--json", "actions", "-w", str(shop), "--experiment", "nba-1", "--action", "retention_offer",
            "--control", "0.5", "--seed", "7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    exp = json.loads(result.output)["experiment"]
    assert exp["created"]
    assert exp["definition"]["name"] == "next best action: retention_offer"
    with clvlab.connect(shop, read_only=True) as ws:
        rows = ws.table("experiments").execute()
    assert sorted(rows["customer_id"]) == ["c1", "c2"]  # c1 too: no app store, so no open case is known
    assert set(rows["stratum"]) == {"growth", "declining"}
    again = runner.invoke(app, args)
    assert json.loads(again.output)["experiment"]["created"] is False  # same arms, nothing re-drawn
    unknown = runner.invoke(app, ["actions", "-w", str(shop), "--experiment", "nba-2", "--action", "fly"])
    assert unknown.exit_code == 1
    assert "no customer in the list has the action 'fly'" in unknown.output
