"""The churn model's purchase-history features, computed in the engine, against hand-computed values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.lifecycle._features import purchase_days
from clvlab.lifecycle.churn_history import HISTORY, history_features


def test_history_features_by_hand() -> None:
    """A: purchase days 1, 11 and 31 January 2024 (two orders on the 31st), as of 1 March; B: one
    purchase on 20 February; C buys only after the date; a refund is dropped."""
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "A", "B", "C", "B"],
        "ordered_at": ["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-31", "2024-02-20", "2024-03-05",
                       "2024-02-25"],
        "amount": [10.0, 20.0, 10.0, 20.0, 5.0, 7.0, -5.0],
    })
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(tx)
        f = history_features(purchase_days(ws, "test"), dt.date(2024, 3, 1))
    assert list(f.columns) == list(HISTORY)
    assert list(f.index) == ["A", "B"]
    a, b = f.loc["A"], f.loc["B"]
    # A: gaps 10 and 20 days; 30 days of silence (2024 is a leap year); 60 days old
    assert (a["n_30d"], a["n_180d"], a["n_365d"], a["spend_30d"], a["spend_180d"]) == (0, 3, 3, 0, 60)
    assert (a["gap_std"], a["gap_max"]) == (5, 20)
    assert a["silence_vs_longest_gap"] == pytest.approx(30 / 20)
    assert a["last_gap_vs_mean"] == pytest.approx(20 / 15)
    assert a["last_spend_vs_mean"] == pytest.approx(30 / 20)
    assert a["recency_share"] == pytest.approx(30 / 60)
    # B: one purchase day (the refund is not one), 10 days old
    assert (b["n_30d"], b["spend_30d"], b["last_spend_vs_mean"], b["recency_share"]) == (1, 5, 1, 0)
    assert np.isnan(b[["gap_std", "gap_max", "silence_vs_longest_gap", "last_gap_vs_mean"]].to_numpy()).all()
