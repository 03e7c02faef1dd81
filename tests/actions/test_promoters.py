"""Promoters, loyalty tiers from CLV quantiles and the movement between tiers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.actions.promoters import tier_summary
from clvlab.cli.app import app
from clvlab.errors import ParameterError

runner = CliRunner()


def test_tiers_cut_at_the_quantiles() -> None:
    clv = pd.Series(np.arange(1.0, 101.0), index=[f"c{i}" for i in range(100)])
    tiers = clvlab.loyalty_tiers(clv)
    assert tiers.value_counts().to_dict() == {"bronze": 50, "silver": 30, "gold": 15, "platinum": 5}
    assert tiers["c99"] == "platinum"
    assert tiers["c0"] == "bronze"
    summary = tier_summary(clv).set_index("tier")
    assert summary.loc["gold", "clv_from"] == pytest.approx(np.quantile(clv, 0.8))
    assert summary["clv_share"].sum() == pytest.approx(1.0)
    two = clvlab.loyalty_tiers(clv, cuts=[0.9], names=["standard", "vip"])
    assert two.value_counts().to_dict() == {"standard": 90, "vip": 10}


def test_bad_cut_points() -> None:
    clv = pd.Series([1.0, 2.0])
    for cuts in ([0.8, 0.5], [0.0, 0.5], [1.2]):
        with pytest.raises(ParameterError, match="increasing quantiles"):
            clvlab.loyalty_tiers(clv, cuts=cuts)
    with pytest.raises(ParameterError, match="make 2 tiers; got 3 names"):
        clvlab.loyalty_tiers(clv, cuts=[0.5], names=["a", "b", "c"])


def test_transitions_are_cut_at_the_earlier_run() -> None:
    before = pd.Series([1.0, 2.0, 3.0, 4.0], index=["a", "b", "c", "d"])
    after = pd.Series([1.0, 4.0, 3.0, 9.0], index=["a", "b", "c", "e"])  # b grows, d leaves, e arrives
    m = clvlab.tier_transitions(before, after, cuts=[0.5], names=["low", "high"])
    # the earlier run's median is 2.5: a, b low; c, d high
    assert m.attrs["cut_values"] == [2.5]
    assert m.loc["low", "low"] == 1
    assert m.loc["low", "high"] == 1
    assert m.loc["high", "high"] == 1
    assert m.loc["high", "(none)"] == 1
    assert m.loc["(none)", "high"] == 1                                  # e is new
    assert int(m.to_numpy().sum()) == 5


def test_promoters_cli(shop: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--json", "promoters", "-w", str(shop), "--tiers", "0.5", "--tier-names", "std,vip"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    pro = {r["customer_id"]: r for r in payload["promoters"]}
    assert set(pro) == {"c4"}  # the only latest answer of 9-10
    assert pro["c4"]["referral_potential"] == "high"   # P(alive) 0.6 and a 10
    # CLV 100 is the median of the seven CLVs (at or above the cut: the top tier, VIP); a comment with the 10
    assert pro["c4"]["tier"] == "vip"
    assert pro["c4"]["lists"] == "vip,co-creation"
    gap = payload["clv_gap"]
    assert gap["promoters"] == 1
    assert gap["detractors"] == 2
    assert gap["promoter_clv"] == 100
    assert gap["detractor_clv"] == pytest.approx((1000 + 10) / 2)
    assert gap["clv_gap"] is None  # Welch needs two customers in each class
    assert any("two promoters and two detractors" in n for n in payload["notes"])
    assert [t["tier"] for t in payload["tiers"]] == ["std", "vip"]
    # the previous run: the same workspace, so nobody moves
    again = runner.invoke(app, ["--json", "promoters", "-w", str(shop), "--previous", str(shop)])
    matrix = json.loads(again.output)["transitions"]["matrix"]
    assert matrix["gold"]["gold"] == 1
    assert matrix["gold"]["silver"] == 0
    text = runner.invoke(app, ["promoters", "-w", str(shop)])
    assert text.exit_code == 0
    assert "detractors' 505.00 (n=2)" in text.output
