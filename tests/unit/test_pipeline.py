"""The CLV run: model comparison on a holdout, choice, refit and scores, on the CDNOW sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.pipeline import DEFAULT_CANDIDATES, data_hash, run_clv


def test_run_clv_splits_compares_and_scores_every_customer() -> None:
    """Without a calibration end, the last third of the period is the holdout; all customers are scored."""
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(load_cdnow("sample"))
        run = run_clv(ws, freq="W")
    assert run.settings["observation_end"] == "1998-06-30"
    cal_end = pd.Timestamp(run.settings["calibration_end"])
    # first purchases start 1997-01-01: two thirds of the 78 weeks end at week 52, late December 1997
    assert pd.Timestamp("1997-12-15") <= cal_end <= pd.Timestamp("1998-01-15")
    assert set(run.comparison.index) == set(DEFAULT_CANDIDATES)
    assert run.best == run.comparison["holdout_mae"].idxmin()
    assert len(run.scores) == 2357
    assert run.scores["p_alive"].between(0, 1).all()
    assert run.scores["clv"].ge(0).all()
    record = run.diagnostics()
    assert record["n_customers"] == 2357
    assert record["model"]["model"] == run.best
    assert len(record["data_hash"]) == 16


def test_the_data_hash_is_of_the_ids_and_figures_only() -> None:
    rfm = pd.DataFrame({"frequency": [1.0, 2.0], "recency": [1.0, 2.0], "T": [3.0, 4.0], "monetary_value": [5.0, 6.0]},
                       index=pd.Index(["ab", "c"], name="customer_id"))
    same = pd.concat([rfm.rename(index={"ab": "x"}), rfm]).iloc[2:]  # a slice of a longer frame
    assert data_hash(same) == data_hash(rfm) == data_hash(rfm.assign(monetary_value=0.0))
    assert data_hash(rfm.set_axis(pd.Index(["ab", "c"], dtype=object))) == data_hash(rfm)
    assert data_hash(rfm.set_axis(pd.Index(["a", "bc"]))) != data_hash(rfm)  # the same letters, other ids
    assert data_hash(rfm.assign(T=[3.0, 4.5])) != data_hash(rfm)


@pytest.mark.slow
def test_run_pipeline_reports_progress_writes_scores_and_is_idempotent(tmp_path: Path) -> None:
    """Loads, CLV, `scores` (with its run id), feedback summary and cases in one call; steps go to the
    callback in order up to done == total; a second run loads nothing and opens no case twice."""
    from clvlab.datasets import path as dataset_path
    from clvlab.derived import read_derived
    from clvlab.pipeline import Source, run_pipeline
    from clvlab.store import open_app_store

    events: list[tuple[str, int, int]] = []
    sources = [Source("transactions", load_cdnow("sample")), Source("feedback", dataset_path("demo_feedback"))]
    path = tmp_path / "shop.duckdb"
    runs = []
    for _ in range(2):
        with clvlab.connect(path) as ws:
            store = open_app_store(workspace=path)
            try:
                runs.append(run_pipeline(ws, sources=sources, app_store=store, owners=dataset_path("demo_owners"),
                                         on_progress=lambda *e: events.append(e)))
            finally:
                store.close()
            stored = read_derived(ws, "scores", columns=("clv", "run_id"), where="test").execute()
            lifecycle = {n: read_derived(ws, n, columns=("run_id",), where="test").execute()
                         for n in ("stages", "health")}
            by_stage = clvlab.feedback_metrics(ws, by="stage", min_n=0)
    first, second = runs
    assert first.load("transactions").inserted == 6919
    assert second.load("transactions").inserted == second.load("feedback").inserted == 0
    assert first.alerts.matched > 0
    assert len(first.alerts.opened.opened) == first.alerts.matched
    assert len(second.alerts.opened.opened) == 0
    assert set(stored["run_id"]) == {second.run_id} != {first.run_id}
    assert len(stored) == len(second.clv.scores) == 2357
    assert first.voc["value_by_nps_class"].loc["promoter", "n"] > 0
    assert len(lifecycle["stages"]) == len(lifecycle["health"]) == 2357
    assert set(lifecycle["stages"]["run_id"]) == set(lifecycle["health"]["run_id"]) == {second.run_id}
    assert sum(second.lifecycle["stages"].values()) == 2357
    assert set(by_stage["stage"]) <= {"onboarding", "growth", "mature", "won_back", "declining", "churned",
                                      "(unscored)"}
    per_run = len(events) // 2
    messages, done, totals = zip(*events[:per_run], strict=True)
    assert messages[0] == "loading transactions"
    assert messages[-1] == "done"
    assert "writing the scores table" in messages
    assert "lifecycle stages and health" in messages
    assert list(done) == [*range(per_run - 1), totals[0]]
    assert set(totals) == {per_run - 1}
