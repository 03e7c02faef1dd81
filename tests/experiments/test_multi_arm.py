"""More than two arms: the draw, SRM over all arms, each arm against control, Holm over arms x metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app
from clvlab.errors import ParameterError
from clvlab.experiments.analyze import compare_arms, srm_check
from clvlab.experiments.assignment import draw_arms, parse_arms

runner = CliRunner()
ARMS = {"control": 0.2, "email": 0.4, "sms": 0.4}


def test_parse_arms_and_its_errors() -> None:
    assert parse_arms("control:0.2,Email:0.4,sms:0.4") == ARMS
    assert list(parse_arms({"sms": 0.5, "control": 0.5})) == ["control", "sms"]
    for bad in ("email:0.5,sms:0.5", "control:0.5,sms:0.6", "control:1", "control:x,sms:0.5", "control:0.5,sms:0"):
        with pytest.raises(ParameterError, match="The 'arms' parameter of assign"):
            parse_arms(bad)


def test_every_arm_within_one_customer_of_its_target_in_every_stratum() -> None:
    strata = pd.Series(np.repeat(["a", "b", "c"], [101, 37, 12]), index=[f"c{i}" for i in range(150)])
    arms = draw_arms(strata, ARMS, seed=4)
    assert arms.equals(draw_arms(strata, ARMS, seed=4))
    for name, ids in strata.groupby(strata).groups.items():
        counts = arms[ids].value_counts()
        for arm, share in ARMS.items():
            assert abs(counts.get(arm, 0) - len(ids) * share) <= 1, (name, arm)
    two = draw_arms(strata, 0.3, seed=4)  # the two-arm draw is the same cut of the same permutation
    assert two.equals(draw_arms(strata, {"control": 0.3, "treatment": 0.7}, seed=4))


def test_srm_over_three_arms() -> None:
    """Pearson's chi-squared with 2 df: 2,000 / 4,000 / 4,000 fits 20/40/40; 2,300 / 3,850 / 3,850 does not."""
    ok = srm_check({"control": 2000, "email": 4000, "sms": 4000}, ARMS)
    assert not ok["flagged"]
    assert ok["chi2"] == pytest.approx(0.0)
    bad = srm_check({"control": 2300, "email": 3850, "sms": 3850}, ARMS)
    assert bad["chi2"] == pytest.approx(300**2 / 2000 + 2 * 150**2 / 4000)
    assert bad["flagged"]
    assert "with 2 df" in ok["text"]


def _customers(rng: np.random.Generator, n: int, effect: dict[str, float]) -> pd.DataFrame:
    arm = rng.choice(list(ARMS), n, p=list(ARMS.values()))
    pre = rng.gamma(2.0, 10.0, n)
    spend = 0.7 * pre + rng.gamma(2.0, 6.0, n) + np.vectorize(lambda a: effect.get(a, 0.0))(arm)
    frame = pd.DataFrame({"arm": arm, "spend": spend, "pre_spend": pre, "pre_clv": pre,
                          "retention": (rng.random(n) < 0.3).astype(float), "pre_retention": (pre > 20).astype(float),
                          "pre_frequency": rng.poisson(2, n).astype(float), "pre_recency": rng.uniform(0, 90, n),
                          "pre_monetary": pre})
    return frame.set_index(pd.Index([f"c{i}" for i in range(n)], name="customer_id"))


@pytest.mark.slow
def test_family_wise_error_stays_near_5_percent_with_three_arms() -> None:
    """400 A/A experiments, 3 arms x 2 metrics (4 comparisons): Holm keeps the chance of any false
    alarm at or below 5% (binomial 99.9% range: at most 33 of 400); unadjusted it is far higher."""
    rng = np.random.default_rng(11)
    any_adjusted = any_raw = 0
    for _ in range(400):
        table, _ = compare_arms(_customers(rng, 1000, {}), ["retention", "spend"], bootstrap=0, winsorize=None)
        any_adjusted += bool((table["p_adjusted"] < 0.05).any())
        any_raw += bool((table["p_value"] < 0.05).any())
    assert 5 <= any_adjusted <= 33
    assert any_raw > any_adjusted + 15


def test_an_effect_in_one_arm_is_found_and_not_in_the_other() -> None:
    rng = np.random.default_rng(2)
    table, _ = compare_arms(_customers(rng, 3000, {"sms": 5.0}), ["spend"], bootstrap=0, winsorize=None)
    assert list(table.index) == ["email: spend", "sms: spend"]
    assert table.loc["sms: spend", "lower"] <= 5.0 <= table.loc["sms: spend", "upper"]
    assert table.loc["sms: spend", "p_adjusted"] < 0.001
    assert table.loc["email: spend", "p_adjusted"] > 0.05


def test_three_arms_assigned_and_analysed_on_a_workspace(shop: Path) -> None:
    args = ["experiment", "assign", "three", "-w", str(shop), "--arms", "control:0.2,email:0.4,sms:0.4",
            "--seed", "5", "--assigned-at", "1998-07-01"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "email" in shown.output
    assert "sms" in shown.output
    with clvlab.connect(shop) as ws:
        t = ws.table("experiments")
        sms = t.filter((t.experiment_id == "three") & (t.arm == "sms")).execute()["customer_id"]
        extra = pd.DataFrame({"customer_id": sms, "ordered_at": "1998-09-15", "amount": 50.0,
                              "order_id": [f"x{i}" for i in range(len(sms))]})
        ws.load_transactions(extra)
        listed = clvlab.list_experiments(ws).set_index("experiment_id").loc["three"]
    assert listed["control"] + listed["treatment"] == 2000
    out = runner.invoke(app, ["--json", "experiment", "analyze", "three", "-w", str(shop), "--metric", "spend",
                              "--metric", "retention", "--winsorize", "100", "--bootstrap", "0"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    rows = {r["metric"]: r for r in data["metrics"]}
    assert set(rows) == {"email: spend", "email: retention", "sms: spend", "sms: retention"}
    assert rows["sms: spend"]["lower"] <= 50 <= rows["sms: spend"]["upper"]
    assert rows["sms: spend"]["p_adjusted"] < 0.001
    assert rows["email: spend"]["lower"] <= 0 <= rows["email: spend"]["upper"]
    assert rows["sms: spend"]["summary"].startswith("sms vs control: Treatment customers spent")
    assert not data["srm"]["flagged"]
    assert data["srm"]["expected_shares"] == ARMS
    assert data["arms"]["control"] == 400
    again = runner.invoke(app, args)
    assert "already assigned" in again.output
