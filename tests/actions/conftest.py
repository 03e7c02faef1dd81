"""A hand-made workspace for next best action and promoters: seven customers, one per rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import clvlab
from clvlab.derived import write_derived

#: customer, stage, clv, p_churn, NPS (None: no answer), band; the action the default table gives
CUSTOMERS = [
    ("c1", "growth", 1000.0, 0.9, 3, "red"),        # detractor with an open case -> recovery_call
    ("c2", "declining", 800.0, 0.7, 8, "yellow"),   # at risk, high CLV -> retention_offer
    ("c3", "onboarding", 50.0, 0.1, None, "green"),  # onboarding -> onboarding_guide
    ("c4", "mature", 100.0, 0.2, 10, "green"),      # promoter (before cross-sell) -> referral_invitation
    ("c5", "growth", 200.0, 0.3, 7, "green"),       # growth -> cross_sell
    ("c6", "churned", 1.0, 0.95, None, "red"),      # nothing applies -> none
    ("c7", "declining", 10.0, 0.9, 2, "red"),       # detractor, no open case, low CLV -> none
]
EXPECTED = {"c1": "recovery_call", "c2": "retention_offer", "c3": "onboarding_guide", "c4": "referral_invitation",
            "c5": "cross_sell", "c6": "none", "c7": "none"}


def frame() -> pd.DataFrame:
    """The customers as the frame :func:`clvlab.actions.nba.classify` reads."""
    rows = pd.DataFrame(CUSTOMERS, columns=["customer_id", "stage", "clv", "p_churn", "nps_score", "band"])
    rows["clv_at_risk"] = rows["clv"] * rows["p_churn"]
    rows["open_cases"] = [1, 0, 0, 0, 0, 0, 0]
    return rows


def build(path: Path, *, churn: bool = True) -> Path:
    f = frame()
    scores = pd.DataFrame({"customer_id": f["customer_id"], "frequency": 2.0, "recency": 10.0, "T": 20.0,
                           "monetary_value": 30.0, "p_alive": [0.9, 0.3, 0.8, 0.6, 0.9, 0.1, 0.2],
                           "expected_purchases": 1.0, "expected_spend": 30.0, "clv": f["clv"]})
    with clvlab.connect(path) as ws:
        write_derived(ws, "stages", f.assign(n_purchases=2)[["customer_id", "stage", "n_purchases"]], as_of="1998-06-30")
        write_derived(ws, "scores", scores, as_of="1998-06-30")
        write_derived(ws, "health", f.assign(health=50.0)[["customer_id", "health", "band"]], as_of="1998-06-30")
        if churn:
            ch = f[["customer_id", "p_churn", "clv", "clv_at_risk"]].assign(
                rank=range(1, 8), reason_1=None, reason_2=None, reason_3=None)
            write_derived(ws, "churn", ch, as_of="1998-06-30")
        answers = f.dropna(subset=["nps_score"])
        fb = pd.DataFrame({"response_id": [f"r{i}" for i in range(len(answers))], "customer_id": answers["customer_id"],
                           "responded_at": pd.Timestamp("1998-06-01"), "metric": "nps",
                           "score": answers["nps_score"].astype(float),
                           "comment": ["slow", None, "love it", None, None][: len(answers)]})
        ws.con.con.register("fb_frame", fb)
        ws.con.con.execute("CREATE TABLE feedback AS SELECT * FROM fb_frame")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return build(tmp_path / "shop.duckdb")
