"""Beyond a cap the time-split fits learn from a seeded sample of customers; everyone is scored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

import clvlab
from clvlab.datasets.synthetic import simulate_transactions
from clvlab.lifecycle import _features as features
from clvlab.lifecycle import churn
from clvlab.lifecycle._features import purchase_days, sample_days, shared_features
from clvlab.lifecycle.health import fit_health_weights, health_scores
from clvlab.lifecycle.thresholds import LifecycleThresholds

AS_OF = "2025-12-31"


pytestmark = pytest.mark.slow  # a few small fits on a simulated log

@pytest.fixture(scope="module")
def ws() -> Iterator[clvlab.Workspace]:
    with clvlab.connect(":memory:") as w:
        w.load("transactions", simulate_transactions(3_000, seed=7), progress=False)
        yield w


def _temporary(ws: clvlab.Workspace) -> int:
    return len(ws.con.raw_sql("select table_name from duckdb_tables() where temporary").fetchall())


def test_a_sample_is_seeded_and_about_the_cap(ws: clvlab.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    day = dt.date(2025, 6, 30)
    days = purchase_days(ws, "test")
    everyone = int(days.filter(days.day <= day).cid.nunique().execute())
    assert everyone > 2_000
    assert sample_days(days, day, everyone, 0) is days  # nobody left out: the same table
    ids = [set(sample_days(days, day, 1_000, seed).cid.execute()) for seed in (0, 0, 1)]
    assert ids[0] == ids[1] != ids[2]
    assert 850 < len(ids[0]) < 1_150
    with shared_features():
        shared_days = purchase_days(ws, "test")
        kept = sample_days(shared_days, day, 1_000, 0)
        assert set(kept.cid.execute()) == ids[0]  # kept as a temporary table: the same customers
    monkeypatch.setattr(features, "SAMPLE_CAP", 1_500)
    with shared_features():
        shared_days = purchase_days(ws, "test")
        kept = sample_days(shared_days, day, 1_000, 0)  # filtered from a sample of 1,500
        wide = sample_days(shared_days, day, 1_500, 0)
        assert set(kept.cid.execute()) == ids[0]  # the same customers as drawn from every purchase day
        assert ids[0] < set(wide.cid.execute())
        assert _temporary(ws) == 3  # the purchase days and the two samples


def test_health_weights_are_fitted_on_at_most_fit_customers(ws: clvlab.Workspace) -> None:
    capped = LifecycleThresholds(fit_customers=800)
    full = fit_health_weights(ws, label_end=AS_OF)
    first = fit_health_weights(ws, label_end=AS_OF, thresholds=capped)
    again = fit_health_weights(ws, label_end=AS_OF, thresholds=capped)
    assert full.n_customers > 2_000
    assert 650 < first.n_customers < 950
    assert (first.n_customers, first.churn_rate) == (again.n_customers, again.churn_rate)
    assert first.weights == pytest.approx(again.weights, rel=1e-9)  # the engine's sums vary in the last bits
    scores = health_scores(ws, as_of=AS_OF, thresholds=capped)
    assert len(scores) == 3_000  # every customer is scored
    with pytest.raises(clvlab.ParameterError, match="fit_customers"):
        LifecycleThresholds(fit_customers=0)


def test_the_churn_model_learns_from_a_sample_of_customers(ws: clvlab.Workspace,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(churn, "MAX_TRAIN_ROWS", 1_500)  # 500 customers per snapshot
    model = clvlab.ChurnModel().fit_workspace(ws, as_of=AS_OF)
    assert len(model.split_["features_as_of"]) == 3
    assert 900 < model.split_["rows"] <= 1_500
    again = clvlab.ChurnModel().fit_workspace(ws, as_of=AS_OF)
    assert again.split_ == model.split_
    assert len(model.score(ws, as_of=AS_OF, reasons=False)) == 3_000
