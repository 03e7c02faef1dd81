"""The time unit travels with the RFM and the model; `score -w` writes the `scores` table.

Issue 7, items 2 and 5: `rfm` defaulted to days and `fit`/`score` to weeks, a CSV RFM lost its
unit and the model file never had one, so the same model on the same RFM gave a total CLV 6-7x
apart from CSV and from Parquet; and `score -w` did not write `scores`, so segment metrics and
value by NPS class worked only after `demo`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app
from clvlab.datasets import load_cdnow
from clvlab.datasets import path as dataset_path

runner = CliRunner()
pytestmark = pytest.mark.slow  # the shared fixture loads, summarises and fits the CDNOW sample


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _scores(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str}).set_index("customer_id")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the CDNOW sample (2,357 customers), weekly RFM in CSV and Parquet, fitted models."""
    folder = tmp_path_factory.mktemp("units")
    ws = folder / "shop.duckdb"
    with clvlab.connect(ws) as con:
        con.load_transactions(load_cdnow("sample"))
    for name in ("rfm.csv", "rfm.parquet"):  # the default unit, no --freq anywhere
        _ok(["rfm", "-w", str(ws), "-o", str(folder / name)])
    _ok(["fit", "bgnbd", str(folder / "rfm.csv"), "-o", str(folder / "bg.json")])
    _ok(["fit", "gammagamma", str(folder / "rfm.parquet"), "-o", str(folder / "gg.json")])
    return folder


def _score(shop: Path, *args: str) -> pd.DataFrame:
    out = shop / "out.csv"
    _ok(["score", str(shop / "bg.json"), *args, "--spend-model", str(shop / "gg.json"), "-o", str(out)])
    return _scores(out)


def test_csv_and_parquet_rfm_give_the_same_scores(shop: Path) -> None:
    """The same model on the same RFM scores the same from CSV and from Parquet (was 10,927 vs 68,817)."""
    from_csv = _score(shop, str(shop / "rfm.csv"))
    from_parquet = _score(shop, str(shop / "rfm.parquet"))
    assert len(from_csv) == 2357
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    # one unit everywhere: the RFM files, the model file and the scores agree on weeks
    assert set(pd.read_csv(shop / "rfm.csv")["time_unit"]) == {"W"}
    assert json.loads((shop / "bg.json").read_text(encoding="utf-8"))["time_unit"] == "W"
    assert json.loads((shop / "gg.json").read_text(encoding="utf-8"))["time_unit"] == "W"


def test_weekly_model_on_daily_rfm_is_refused_naming_both_units_and_the_flag(shop: Path) -> None:
    """A daily RFM file with a weekly model exits 1, naming weeks, days and `--freq W`; nothing is written."""
    daily = shop / "rfm_days.csv"
    _ok(["rfm", "-w", str(shop / "shop.duckdb"), "--freq", "D", "-o", str(daily)])
    out = shop / "wrong.csv"
    result = runner.invoke(app, ["score", str(shop / "bg.json"), str(daily), "-o", str(out)])
    assert result.exit_code == 1
    line = " ".join(result.output.split())
    assert "Traceback" not in line
    assert "rfm_days.csv' is in days (D)" in line
    assert "fitted on RFM in weeks (W)" in line
    assert "--freq W" in line
    assert not out.exists()
    contradicts = runner.invoke(app, ["score", str(shop / "bg.json"), str(shop / "rfm.csv"), "--freq", "D"])
    assert contradicts.exit_code == 1
    assert "--freq D contradicts" in contradicts.output


def test_scoring_from_the_workspace_computes_the_rfm_in_the_models_unit(shop: Path) -> None:
    """Without an RFM file, score computes the RFM in the model's unit: the weekly file's scores exactly."""
    from_ws = _score(shop, "-w", str(shop / "shop.duckdb"))
    pd.testing.assert_frame_equal(from_ws, _score(shop, str(shop / "rfm.csv")))


def test_hand_made_rfm_file_states_its_unit_in_a_column_or_with_freq(shop: Path) -> None:
    """A file without `time_unit` is refused until it says its unit; `week` spelled out or --freq W work."""
    weekly = _score(shop, str(shop / "rfm.csv"))
    bare = shop / "bare.csv"
    pd.read_csv(shop / "rfm.csv", dtype={"customer_id": str}).drop(
        columns=["time_unit", "observation_end"]).to_csv(bare, index=False)
    result = runner.invoke(app, ["score", str(shop / "bg.json"), str(bare)])
    assert result.exit_code == 1
    assert "does not record its time unit" in result.output
    assert "time_unit" in result.output
    assert "--freq W (or D, M)" in result.output
    pd.testing.assert_frame_equal(_score(shop, str(bare), "--freq", "W"), weekly)
    spelled = shop / "spelled.csv"
    pd.read_csv(bare, dtype={"customer_id": str}).assign(time_unit="Week").to_csv(spelled, index=False)
    pd.testing.assert_frame_equal(_score(shop, str(spelled)), weekly)


def test_an_rfm_file_with_two_units_is_refused_at_the_row(shop: Path) -> None:
    """One file holds one summary: a second unit is a located error (file, 1-based row, column, value)."""
    frame = pd.read_csv(shop / "rfm.csv", dtype={"customer_id": str})
    frame.loc[4, "time_unit"] = "D"
    mixed = shop / "mixed.csv"
    frame.to_csv(mixed, index=False)
    result = runner.invoke(app, ["fit", "bgnbd", str(mixed)])
    assert result.exit_code == 1
    line = " ".join(result.output.split())
    assert "mixed.csv'" in line
    assert "row 5, column 'time_unit', value 'D'" in line


def test_score_with_a_workspace_writes_the_scores_table_that_voc_reads(shop: Path) -> None:
    """`score -w` stores `scores` (run id, as-of date, unit); segment NPS and value by NPS class then work."""
    ws = shop / "shop.duckdb"
    with clvlab.connect(ws) as con:
        con.load_feedback(dataset_path("demo_feedback"))
    scores = _score(shop, "-w", str(ws))
    with clvlab.connect(ws, read_only=True) as con:
        stored = con.table("scores").execute().set_index("customer_id")
        value = clvlab.value_by_nps_class(con, con)
    assert len(stored) == len(scores) == 2357
    assert stored["clv"].to_numpy() == pytest.approx(scores.loc[stored.index, "clv"].to_numpy())
    assert stored["run_id"].nunique() == 1
    assert set(stored["as_of"].astype(str)) == {"1998-06-30"}
    assert set(stored["time_unit"]) == {"W"}
    assert value.loc["promoter", "n"] > 0
    metrics = runner.invoke(app, ["--json", "voc", "metrics", "-w", str(ws), "--by", "segment"])
    assert metrics.exit_code == 0, metrics.output
    segments = {row["segment"] for row in json.loads(metrics.stdout)}
    assert segments & set(scores["segment"])


def test_model_file_without_a_unit_is_scored_in_the_rfm_unit_with_a_warning(shop: Path) -> None:
    """A model saved before units were recorded still scores, and the output says what was assumed."""
    old = json.loads((shop / "bg.json").read_text(encoding="utf-8"))
    del old["time_unit"]
    (shop / "old.json").write_text(json.dumps(old), encoding="utf-8")
    result = runner.invoke(app, ["score", str(shop / "old.json"), str(shop / "rfm.csv"), "-o", str(shop / "o.csv")])
    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split())
    assert "does not record its time unit" in line
    assert "assumed to be the RFM's, weeks (W)" in line
