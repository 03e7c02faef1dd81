"""The run's holdout tracking, period by period, in each time unit: its sums are the comparison's
totals (clvlab.evaluate_holdout's), and its periods are calendar days, weeks or months."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.pipeline import run_clv


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("diag") / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_transactions(load_cdnow("sample"))
    return path


@pytest.mark.parametrize(("freq", "second"), [("D", "1997-10-02"), ("W", "1997-10-13"), ("M", "1997-11-01")])
def test_tracking_adds_up_to_the_holdout_totals(sample: Path, freq: str, second: str) -> None:
    with clvlab.connect(sample, read_only=True) as ws:
        run = run_clv(ws, freq=freq, calibration_end="1997-09-30", observation_end="1998-06-30",  # type: ignore[arg-type]
                      candidates=("BetaGeo",))
    tracking, row = run.tracking, run.comparison.loc["BetaGeo"]
    assert tracking is not None
    assert tracking["predicted"].sum() == pytest.approx(row["predicted_total"], rel=1e-9)
    assert tracking["actual"].sum() == row["actual_total"]
    assert tracking["predicted_cumulative"].iloc[-1] == pytest.approx(row["predicted_total"], rel=1e-9)
    starts = pd.to_datetime(tracking["period_start"])
    assert str(starts.iloc[0].date()) == "1997-10-01"  # the day after the calibration end
    assert str(starts.iloc[1].date()) == second
    assert starts.is_monotonic_increasing
    assert starts.iloc[-1] <= pd.Timestamp("1998-06-30")
    assert (tracking["predicted"] > 0).all()


def test_diagnostics_table_round_trips(sample: Path, tmp_path: Path) -> None:
    from clvlab.value.diagnostics import read_run_diagnostics, write_run_diagnostics

    with clvlab.connect(sample, read_only=True) as ws:
        run = run_clv(ws, calibration_end="1997-09-30", candidates=("BetaGeo", "ParetoNBD"))
    with clvlab.connect(tmp_path / "out.duckdb") as ws:
        run_id = write_run_diagnostics(ws, run, run_id="r1")
        diag = read_run_diagnostics(ws, where="test")
    assert run_id == diag["run_id"] == "r1"
    assert diag["as_of"] == run.settings["observation_end"]
    assert diag["run"]["settings"] == run.settings
    assert diag["model"]["model"].tolist() == run.comparison.index.tolist()
    assert diag["model"]["chosen"].tolist() == [m == run.best for m in run.comparison.index]
    assert set(diag["param"]["name"][diag["param"]["model"] == run.best]) == set(run.model.params_)
    assert diag["holdout"]["actual"].tolist() == run.tracking["actual"].tolist()
