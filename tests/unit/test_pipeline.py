"""The CLV run: model comparison on a holdout, choice, refit and scores, on the CDNOW sample."""

from __future__ import annotations

import pandas as pd

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.pipeline import DEFAULT_CANDIDATES, run_clv


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
