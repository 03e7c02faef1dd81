"""Health score: components by hand, points summing to the score, bands separating later churn on CDNOW."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import DataValidationError
from clvlab.lifecycle.health import COMPONENTS, health_components
from clvlab.lifecycle.thresholds import LifecycleThresholds

TH = LifecycleThresholds(decline_ratio=2.0, churn_ratio=3.0, mature_purchases=4, cadence_prior=0.0, trend_days=60)


@pytest.fixture
def small() -> Iterator[clvlab.Workspace]:
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "ordered_at": ["2024-09-01", "2024-10-01", "2024-12-01", "2024-01-01", "2024-02-01", "2024-12-20"],
        "amount": [10.0, 10.0, 30.0, 10.0, 10.0, 5.0],
    })
    feedback = pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4"],
        "responded_at": ["2024-03-01", "2024-11-01", "2024-02-10", "2025-01-05"],
        "metric": ["nps", "nps", "nps", "nps"], "score": [3, 10, 2, 0],
        "customer_id": ["a", "a", "b", "c"],
        "comment": ["", "Great service, fast delivery, love it", "Terrible, rude staff, never again", "awful"],
    })
    ws = clvlab.connect(":memory:")
    ws.load_transactions(tx)
    ws.load_feedback(feedback)
    yield ws
    ws.close()


@pytest.mark.slow  # loads the sentiment model
def test_components_by_hand(small: clvlab.Workspace) -> None:
    """Recency against the own cadence, trends over the last 60 days vs the 60 before, the latest
    NPS class and comment as of the date (a later answer is ignored), no data -> NaN."""
    comp = health_components(small, as_of="2024-12-31", model=None, thresholds=TH)
    a, b, c = comp.loc["a"], comp.loc["b"], comp.loc["c"]
    # a: mean gap (Dec 1 - Sep 1) / 2 = 45.5 days; 30 days since -> 1 - 30 / (3 * 45.5)
    assert a["recency"] == pytest.approx(1 - 30 / (3 * 45.5))
    # a: one purchase day in (Nov 1, Dec 31], one in (Sep 2, Nov 1] -> 0.5; spend 30 vs 10 -> 0.75
    assert (a["frequency_trend"], a["spend_trend"]) == (pytest.approx(0.5), pytest.approx(0.75))
    assert (a["nps"], b["nps"]) == (1.0, 0.0)  # latest answers: a promoter (10), b detractor (2)
    assert a["sentiment"] > 0.5 > b["sentiment"]
    assert b["recency"] == 0.0  # 334 days since, far beyond 3x its 31-day cadence
    assert (b["frequency_trend"], b["spend_trend"]) == (0.0, 0.0)
    assert c["frequency_trend"] == 0.5  # first purchase inside the last window: no trend yet
    assert np.isnan(c["nps"])  # c answered only after the date
    assert np.isnan(c["sentiment"])
    assert comp["p_alive"].isna().all()  # model=None
    assert comp["open_cases"].isna().all()  # no application store


def test_points_sum_to_the_score_and_bands_follow_the_cut_offs(small: clvlab.Workspace) -> None:
    """health = the sum of the points, in [0, 100]; weights are >= 0; bands by red_below/green_from."""
    scores = clvlab.health_scores(small, as_of="2024-12-31", model=None, thresholds=TH)
    points = scores[[f"points_{c}" for c in COMPONENTS]].sum(axis=1)
    np.testing.assert_allclose(scores["health"], points)
    assert scores["health"].between(0, 100).all()
    weights = scores.attrs["weights"]["weights"]
    assert min(weights.values()) >= 0
    assert {"p_alive", "open_cases"} <= set(scores.attrs["weights"]["unused"])
    expected = np.select([scores["health"] < 40, scores["health"] < 70], ["red", "yellow"], "green")
    assert list(scores["band"]) == list(expected)


def test_too_little_history_to_fit_is_a_located_error(small: clvlab.Workspace) -> None:
    """Weights need one churn window of history before the date; the message says what is missing."""
    with pytest.raises(DataValidationError, match=r"needs purchases before 2023-12-03 \(180 days before "
                       r"2024-05-31\); the data start on 2024-01-01"):
        clvlab.health_scores(small, as_of="2024-05-31")


@pytest.mark.slow
def test_cdnow_bands_separate_later_churn() -> None:
    """Out of time on CDNOW (weights fitted on the window to 1998-01-01, scored then, churn = no
    purchase until 1998-06-30): churn rate red > yellow > green, and the score ranks better than chance."""
    from clvlab.datasets import load_cdnow

    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(load_cdnow("master"))
        table = clvlab.health_backtest(ws, as_of="1998-06-30")
    rate = table["churn_rate"]
    assert rate["red"] > rate["yellow"] > rate["green"]
    assert table["customers"].sum() == 23570
    assert table.attrs["auc"] > 0.7
    assert table.attrs["scored_as_of"] == "1998-01-01"


@pytest.mark.slow  # loads the sentiment model
def test_open_cases_component_reads_the_application_store(small: clvlab.Workspace, tmp_path: Path) -> None:
    """A case opened before the date and not resolved by it scores 0; resolved before it, 1."""
    from clvlab.cases.service import CaseService
    from clvlab.store import open_app_store

    store = open_app_store(f"sqlite:///{tmp_path / 'app.sqlite'}")
    try:
        svc = CaseService(store, clock=lambda: dt.datetime(2024, 12, 1, tzinfo=dt.UTC))
        alerts = pd.DataFrame({"response_id": ["r2", "r3"], "customer_id": ["a", "b"], "metric": ["nps", "nps"],
                               "score": [3.0, 2.0], "reasons": ["nps_detractor", "nps_detractor"]})
        opened = svc.open_cases(alerts).opened
        CaseService(store, clock=lambda: dt.datetime(2024, 12, 10, tzinfo=dt.UTC)).resolve(opened[1], root_cause="service")
        comp = health_components(small, as_of="2024-12-31", model=None, thresholds=TH, app_store=store)
        before = health_components(small, as_of="2024-12-05", model=None, thresholds=TH, app_store=store)
    finally:
        store.close()
    assert comp["open_cases"].to_dict() == {"a": 0.0, "b": 1.0, "c": 1.0}
    assert before["open_cases"].to_dict() == {"a": 0.0, "b": 0.0}  # c's first purchase is on Dec 20
