"""NPS as an experiment metric: the difference of two multinomial NPS, respondents, response rates."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab import stats
from clvlab.cli.app import app
from clvlab.errors import DataValidationError

runner = CliRunner()


def test_nps_difference_variance_by_hand() -> None:
    """50/30/20 vs 40/30/30 of 100 each: NPS 30 vs 10; Var = (0.7 - 0.09)/100 + (0.7 - 0.01)/100."""
    d, lo, hi, se, p = stats.nps_difference((50, 30, 20), (40, 30, 30))
    assert d == pytest.approx(20.0)
    assert se == pytest.approx(100 * math.sqrt((0.7 - 0.09) / 100 + (0.7 - 0.01) / 100))
    assert p == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(20 / se / math.sqrt(2)))))
    assert lo < d < hi
    assert math.isnan(stats.nps_difference((0, 0, 0), (1, 2, 3))[0])


def test_nps_difference_covers_the_true_difference_about_95_percent() -> None:
    """2,000 draws of 80 vs 120 respondents: the 95% interval covers the true +16 points 93-97% of the time."""
    rng = np.random.default_rng(0)
    pt, pc = np.array([0.45, 0.30, 0.25]), np.array([0.35, 0.35, 0.30])
    true = 100 * ((pt[0] - pt[2]) - (pc[0] - pc[2]))
    hits = 0
    for _ in range(2000):
        _, lo, hi, _, _ = stats.nps_difference(tuple(rng.multinomial(80, pt)), tuple(rng.multinomial(120, pc)))
        hits += lo <= true <= hi
    assert 0.93 <= hits / 2000 <= 0.97


def _answers(ws: clvlab.Workspace, experiment_id: str, rng: np.random.Generator, p_treat: list[float],
             p_ctrl: list[float], rate: tuple[float, float]) -> None:
    t = ws.table("experiments")
    arms = t.filter(t.experiment_id == experiment_id).execute()
    rows = []
    for cid, arm in zip(arms["customer_id"], arms["arm"], strict=True):
        treated = arm == "treatment"
        if rng.random() >= rate[treated]:
            continue
        cls = rng.choice(3, p=p_treat if treated else p_ctrl)
        rows.append((cid, [10, 8, 3][cls]))
    fb = pd.DataFrame(rows, columns=["customer_id", "score"])
    fb["response_id"] = [f"r{i}" for i in range(len(fb))]
    fb["responded_at"] = "1998-09-01"
    fb["metric"] = "nps"
    silent = sorted(set(arms["customer_id"]) - set(fb["customer_id"]))[:50]
    before = pd.DataFrame({"customer_id": silent, "score": 0, "response_id": [f"old-{c}" for c in silent],
                           "responded_at": "1998-03-01", "metric": "nps"})
    ws.load_feedback(pd.concat([fb, before]))  # answers before the assignment do not count


def test_nps_effect_found_with_respondents_and_response_rates(shop: Path) -> None:
    rng = np.random.default_rng(5)
    with clvlab.connect(shop) as ws:
        clvlab.assign(ws, "nps-test", control=0.5, seed=2, assigned_at="1998-07-01")
        with pytest.raises(DataValidationError, match="feedback"):
            clvlab.analyze_experiment(ws, "nps-test", metrics=["nps"])
        _answers(ws, "nps-test", rng, [0.5, 0.3, 0.2], [0.3, 0.3, 0.4], (0.3, 0.4))
        result = clvlab.analyze_experiment(ws, "nps-test", metrics=["spend", "nps"])
    row = result.metrics.loc["nps"]
    assert row["n_control"] + row["n_treatment"] < result.n_control + result.n_treatment  # respondents only
    assert row["response_rate_control"] == pytest.approx(row["n_control"] / result.n_control)
    se = (row["upper"] - row["lower"]) / (2 * 1.96)
    assert abs(row["effect"] - 40) < 4 * se  # true NPS 30 vs -10 (coverage: the simulation test above)
    assert row["p_adjusted"] < 0.001
    assert row["response_rate_lower"] <= 0.1 <= row["response_rate_upper"]
    words = result.summaries[1]
    assert words.startswith("Treatment customers' NPS is")
    assert "respondents" in words
    assert "response bias" in words
    out = runner.invoke(app, ["--json", "experiment", "analyze", "nps-test", "-w", str(shop), "--metric", "nps"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["metrics"][0]["kind"] == "nps"
    table = runner.invoke(app, ["experiment", "analyze", "nps-test", "-w", str(shop), "--metric", "nps"])
    assert table.exit_code == 0, table.output
    assert "nan" not in table.output


def test_an_arm_without_respondents_gives_no_nps_comparison() -> None:
    from clvlab.experiments.analyze import nps_metric

    arms = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "arm": ["control", "control", "treatment", "treatment"]})
    row = nps_metric(arms, pd.Series({"a": 10.0, "b": 3.0}), 0.95)
    assert math.isnan(row["effect"])
    assert row["response_rate_treatment"] == 0.0
    assert row["response_rate_control"] == 1.0
