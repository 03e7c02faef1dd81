"""Assignment (deterministic, stratified, no overlap, holdout) and the analysis on a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app
from clvlab.errors import DataValidationError, ParameterError

runner = CliRunner()


def _arms(path: Path, experiment_id: str) -> pd.Series:
    with clvlab.connect(path) as ws:
        t = ws.table("experiments")
        frame = t.filter(t.experiment_id == experiment_id).execute()
    return frame.set_index("customer_id")["arm"].sort_index()


def test_same_seed_same_arms_and_rerun_is_a_no_op(shop: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    other.write_bytes(shop.read_bytes())
    for path in (shop, other):
        with clvlab.connect(path) as ws:
            clvlab.assign(ws, "e1", control=0.3, seed=99, assigned_at="1998-07-01")
    assert _arms(shop, "e1").equals(_arms(other, "e1"))
    with clvlab.connect(shop) as ws:
        again = clvlab.assign(ws, "e1", control=0.3, assigned_at="1998-07-01")
        assert not again.created
        assert again.definition.seed == 99
        with pytest.raises(ParameterError, match="control_share"):
            clvlab.assign(ws, "e1", control=0.5)
    assert _arms(shop, "e1").equals(_arms(other, "e1"))


def test_strata_shares_within_one_customer_of_target(shop: Path) -> None:
    with clvlab.connect(shop) as ws:
        result = clvlab.assign(ws, "e2", control=0.2, stratify_by="stage", seed=1)
    strata = result.strata
    assert set(strata.index) == {"growth", "mature", "declining"}
    target = (strata["control"] + strata["treatment"]) * 0.2
    assert (abs(strata["control"] - target) <= 1).all()


def test_overlap_refused_unless_allowed_and_stopped_frees_customers(shop: Path) -> None:
    with clvlab.connect(shop) as ws:
        first = clvlab.assign(ws, "e3", stage="mature", control=0.5, seed=1)
        treated = set(_arms_in(ws, "e3", "treatment"))
        second = clvlab.assign(ws, "e4", control=0.5, seed=2)
        assert second.excluded_overlap == len(treated) == first.definition.customers - len(_arms_in(ws, "e3", "control"))
        assert not treated & set(_arms_in(ws, "e4", "treatment"))
        assert not treated & set(_arms_in(ws, "e4", "control"))
        both = clvlab.assign(ws, "e5", stage="mature", control=0.5, seed=3, allow_overlap=True)
        assert both.excluded_overlap == 0
        clvlab.stop_experiment(ws, "e3")
        clvlab.stop_experiment(ws, "e5")
        clvlab.stop_experiment(ws, "e4")
        assert clvlab.assign(ws, "e6", stage="mature", control=0.5, seed=4).excluded_overlap == 0
        with pytest.raises(DataValidationError, match="no customer has stage"):
            clvlab.assign(ws, "e7", stage="vip")


def _arms_in(ws: object, experiment_id: str, arm: str) -> list[str]:
    t = ws.table("experiments")  # type: ignore[attr-defined]
    return list(t.filter((t.experiment_id == experiment_id) & (t.arm == arm)).execute()["customer_id"])


def test_global_holdout_is_stable_and_about_its_share(shop: Path) -> None:
    with clvlab.connect(shop) as ws:
        a = clvlab.assign(ws, "h1", control=0.5, seed=1, holdout=0.05)
        b = clvlab.assign(ws, "h2", control=0.5, seed=2, allow_overlap=True)
        assert a.excluded_holdout == b.excluded_holdout
        assert 0.03 < a.excluded_holdout / 2000 < 0.07
        with pytest.raises(ParameterError, match="already keeps a global holdout"):
            clvlab.global_holdout(ws, 0.08)


def test_a_a_experiment_has_no_effect_and_no_srm(shop: Path) -> None:
    """Nobody was treated: no metric's Holm-adjusted p is below 0.05 and the SRM check passes."""
    with clvlab.connect(shop) as ws:
        clvlab.assign(ws, "aa", control=0.5, seed=21, assigned_at="1998-07-01")
        result = clvlab.analyze_experiment(ws, "aa", metrics=["retention", "repurchase", "spend"])
    assert not result.srm["flagged"]
    assert result.srm["checked"]
    assert (result.metrics["p_adjusted"] > 0.05).all()
    assert ((result.metrics["lower"] <= 0) & (result.metrics["upper"] >= 0)).all()
    assert result.pre_period[1] == pd.Timestamp("1998-06-30").date()  # the day before the post period
    assert result.pre_period[1] - result.pre_period[0] == result.post_period[1] - result.post_period[0]
    assert (result.metrics["cuped_r2"] > 0.05).all()  # the pre period predicts the post period


def test_injected_effect_is_found_in_plain_words(shop: Path, tmp_path: Path) -> None:
    """Treated customers get one extra 50.00 purchase after assignment: the spend effect is ~50 x 1."""
    with clvlab.connect(shop) as ws:
        clvlab.assign(ws, "lift", control=0.5, seed=8, assigned_at="1998-07-01")
        treated = _arms_in(ws, "lift", "treatment")
        extra = pd.DataFrame({"customer_id": treated, "ordered_at": "1998-09-15", "amount": 50.0,
                              "order_id": [f"x{i}" for i in range(len(treated))]})
        ws.load_transactions(extra)
        result = clvlab.analyze_experiment(ws, "lift", metrics=["retention", "spend"], winsorize=None)
    spend = result.metrics.loc["spend"]
    assert spend["lower"] <= 50 <= spend["upper"]
    assert result.metrics.loc["retention", "p_adjusted"] < 0.001
    assert result.summaries[1].startswith("Treatment customers spent 5")
    assert "Holm-adjusted p" in result.summaries[1]
    assert "CUPED narrowed the interval" in result.summaries[1]


def test_loaded_experiment_is_analysed(shop: Path, tmp_path: Path) -> None:
    """An experiment made elsewhere loads through the contract (arm spellings folded) and is analysed."""
    rng = np.random.default_rng(0)
    ids = [f"c{i:04d}" for i in range(2000)]
    csv = tmp_path / "exp.csv"
    pd.DataFrame({"campaign": "ext", "customer": ids, "group": rng.choice(["Control", "Test"], 2000),
                  "start_date": "1998-07-01"}).to_csv(csv, index=False)
    result = runner.invoke(app, ["--json", "load", "experiments", str(csv), "-w", str(shop)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 2000
    again = runner.invoke(app, ["--json", "load", "experiments", str(csv), "-w", str(shop)])
    assert json.loads(again.stdout)["inserted"] == 0
    with clvlab.connect(shop) as ws:
        listed = clvlab.list_experiments(ws)
        analysed = clvlab.analyze_experiment(ws, "ext", metrics=["spend"], control=0.5)
    assert listed.set_index("experiment_id").loc["ext", "status"] == "loaded"
    assert analysed.n_control + analysed.n_treatment == 2000


def test_cli_assign_list_analyze_design_json(shop: Path) -> None:
    w = ["-w", str(shop)]
    r = runner.invoke(app, ["--json", "experiment", "assign", "winback", *w, "--stage", "declining",
                            "--control", "0.2", "--seed", "5", "--assigned-at", "1998-07-01"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["definition"]["seed"] == 5
    r = runner.invoke(app, ["--json", "experiment", "list", *w])
    assert json.loads(r.stdout)["experiments"][0]["experiment_id"] == "winback"
    r = runner.invoke(app, ["--json", "experiment", "analyze", "winback", *w, "--metric", "retention",
                            "--metric", "spend", "--correction", "bh", "--bootstrap", "200"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["correction"] == "Benjamini-Hochberg"
    assert [m["metric"] for m in doc["metrics"]] == ["retention", "spend"]
    r = runner.invoke(app, ["experiment", "analyze", "winback", *w, "--metric", "retention"])
    assert r.exit_code == 0
    assert "no sample ratio mismatch" in r.output
    r = runner.invoke(app, ["--json", "experiment", "design", "--metric", "repurchase", "--baseline", "0.20",
                            "--mde", "0.05", "--inflow-per-week", "500"])
    assert json.loads(r.stdout)["n_control"] == 1134
    assert json.loads(r.stdout)["weeks"] == 5
    r = runner.invoke(app, ["experiment", "assign", "x", *w, "--segment", "nope"])
    assert r.exit_code == 1
    assert "scores" in r.output
    r = runner.invoke(app, ["experiment", "analyze", "winback", *w, "--pre-period", "1998"])
    assert r.exit_code == 2
    assert "FIRST:LAST" in r.output


def test_clv_at_assignment_is_the_pre_period_clv(shop: Path) -> None:
    """Scores as of the day before assignment are stored as baselines and used as the CLV covariate;
    a customer without a score gets the mean."""
    from clvlab.derived import write_derived

    rng = np.random.default_rng(1)
    ids = [f"c{i:04d}" for i in range(1, 2000)]  # c0000 has no score
    clv = rng.gamma(2.0, 20.0, len(ids))
    scores = pd.DataFrame({"customer_id": ids, "frequency": 1.0, "recency": 1.0, "T": 2.0, "monetary_value": 1.0,
                           "p_alive": 0.5, "expected_purchases": 1.0, "expected_spend": 1.0, "clv": clv})
    with clvlab.connect(shop) as ws:
        write_derived(ws, "scores", scores, as_of="1998-06-30")
        made = clvlab.assign(ws, "base", control=0.5, seed=2, assigned_at="1998-07-01")
        result = clvlab.analyze_experiment(ws, "base", metrics=["clv", "spend"], bootstrap=0)
    assert "stored from the scores as of 1998-06-30" in made.notes[0]
    assert result.notes == ["pre-period CLV covariate: clv at assignment"]
    clv_row = result.metrics.loc["clv"]
    assert clv_row["n_control"] + clv_row["n_treatment"] == 1999
    assert clv_row["cuped_r2"] > 0.99  # the CLV did not change: its value at assignment explains it
