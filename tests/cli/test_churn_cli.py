"""``clvlab churn watchlist`` and ``clvlab churn evaluate``: JSON, the stored table, files, located errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 customers over 2023-2024, each buying every 10-150 days until a customer-specific day."""
    rng = np.random.default_rng(42)
    rows = []
    for i in range(300):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 150)))
        stop = day + pd.Timedelta(days=float(rng.exponential(350)))
        gap = float(rng.uniform(10, 150))
        while day <= min(stop, pd.Timestamp("2024-12-31")):
            rows.append((f"k{i:03d}", day.date().isoformat(), round(float(rng.gamma(2, 15)), 2)))
            day += pd.Timedelta(days=1 + float(rng.exponential(gap)))
    path = tmp_path_factory.mktemp("churn") / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_transactions(pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"]))
    return path


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


def test_watchlist_without_scores_says_to_run_the_pipeline(shop: Path) -> None:
    code, text = _invoke("churn", "watchlist", "-w", str(shop))
    assert code == 1
    assert "no table 'scores'" in text
    assert "clvlab run" in text


def test_as_of_outside_the_data_is_a_located_error(shop: Path) -> None:
    code, text = _invoke("churn", "evaluate", "-w", str(shop), "--as-of", "2019-05-01")
    assert code == 1
    assert "as_of 2019-05-01 is outside the data, whose purchases run from 2023-01-0" in text
    code, text = _invoke("--json", "churn", "evaluate", "-w", str(shop), "--as-of", "2023-05-01")
    assert code == 1
    doc = json.loads(text.splitlines()[0])
    assert doc["ok"] is False
    assert "needs purchases before 2022-11-02 (2 x 90 days before 2023-05-01)" in doc["error"]


@pytest.mark.slow
def test_evaluate_json_and_table(shop: Path) -> None:
    """--json: one row per score with AUC and lift, calibration per score, the split's dates, the
    AUC differences against the better baseline and without VoC with their bootstrap intervals;
    the human table names the better baseline and the verdict the interval gives."""
    code, text = _invoke("--json", "churn", "evaluate", "-w", str(shop), "--as-of", "2024-12-31", "--window", "60")
    assert code == 0, text
    doc = json.loads(text)
    names = [r["score"] for r in doc["scores"]]
    assert names == ["model", "model_without_voc", "p_alive_mbgnbd", "p_alive_pareto",
                     "expected_purchases_mbgnbd", "expected_purchases_pareto"]
    assert (doc["features_as_of"], doc["label_end"], doc["window"]) == ("2024-11-01", "2024-12-31", 60)
    assert doc["better_baseline"] in names[2:]
    assert all(0 <= r["auc"] <= 1 for r in doc["scores"])
    assert len(doc["calibration"]["model"]) == 10
    assert sum(r["customers"] for r in doc["calibration"]["model"]) == doc["customers"]
    aucs = {r["score"]: r["auc"] for r in doc["scores"]}
    vs, voc = doc["versus_better_baseline"], doc["voc_contribution"]
    assert vs["difference"] == pytest.approx(aucs["model"] - aucs[doc["better_baseline"]])
    assert voc["difference"] == pytest.approx(aucs["model"] - aucs["model_without_voc"])
    assert vs["lower"] <= vs["difference"] <= vs["upper"]
    assert vs["resamples"] == 200
    verdict = "above" if vs["lower"] > 0 else "below" if vs["upper"] < 0 else "level with"
    code, text = _invoke("churn", "evaluate", "-w", str(shop), "--as-of", "2024-12-31", "--window", "60")
    assert code == 0, text
    assert "better baseline" in text
    assert f"the model is {verdict} it: AUC difference {vs['difference']:+.4f}" in " ".join(text.split())
    assert "Calibration" in text


@pytest.mark.slow
def test_watchlist_reads_the_churn_table_and_writes_a_file(shop: Path, tmp_path: Path) -> None:
    """After a run (here: scores and the churn table written as the pipeline does), the watchlist
    reads table 'churn' in rank order; -o writes the same rows; another window recomputes."""
    from clvlab.derived import write_derived
    from clvlab.lifecycle.churn_table import write_churn_table

    with clvlab.connect(shop) as ws:
        rfm = clvlab.rfm_summary(ws, observation_end="2024-12-31")
        clv = np.random.default_rng(1).gamma(2, 40, size=len(rfm))
        write_derived(ws, "scores", rfm.assign(p_alive=0.5, expected_purchases=1.0, expected_spend=9.0, clv=clv),
                      as_of="2024-12-31", run_id="run-1")
        record = write_churn_table(ws, as_of="2024-12-31", run_id="run-1")
    assert record["customers"] == 300
    assert len(record["watchlist"]) == 10
    csv = tmp_path / "watch.csv"
    code, text = _invoke("--json", "churn", "watchlist", "-w", str(shop), "--top", "15", "-o", str(csv))
    assert code == 0, text
    doc = json.loads(text)
    assert doc["source"] == "table 'churn' (run run-1)"
    rows = doc["watchlist"]
    assert [r["rank"] for r in rows] == list(range(1, 16))
    risk = [r["clv_at_risk"] for r in rows]
    assert risk == sorted(risk, reverse=True)
    assert rows[0]["customer_id"] == record["watchlist"][0]["customer_id"]
    assert any(r["reason_1"] for r in rows)
    written = pd.read_csv(csv, dtype={"customer_id": str})
    assert list(written["customer_id"]) == [r["customer_id"] for r in rows]
    code, text = _invoke("--json", "churn", "watchlist", "-w", str(shop), "--top", "5", "--window", "45")
    assert code == 0, text
    doc = json.loads(text)
    assert (doc["source"], doc["window_days"]) == ("computed now", 45)
    code, text = _invoke("churn", "watchlist", "-w", str(shop), "--top", "3")
    assert code == 0, text
    assert "Churn watchlist as of 2024-12-31" in text
    assert "CLV at risk" in text


def test_terminal_watchlist_says_when_no_single_reason_stands_out_as_the_report_does() -> None:
    from rich.console import Console

    from clvlab.cli.churn_cmds import print_watchlist
    from clvlab.lifecycle.churn_table import REASONS
    from clvlab.report.labels import labels

    rows = pd.DataFrame({"rank": [1, 2, REASONS + 1], "p_churn": [0.9, 0.5, 0.4], "clv": [100.0, 80.0, 10.0],
                         "clv_at_risk": [90.0, 40.0, 4.0], "reason_1": ["no purchase for 200 days", None, None],
                         "reason_2": [None, None, None], "reason_3": [None, None, None]},
                        index=pd.Index(["a", "b", "c"], name="customer_id"))
    console = Console(record=True, width=400)
    print_watchlist(rows, "watchlist", target=console)
    lines = {line.split("│")[2].strip(): line for line in console.export_text().splitlines() if line.count("│") > 5}
    none = labels("en")["no_reason"].format(points=0.5)
    assert "no purchase for 200 days" in lines["a"]
    assert none in lines["b"]
    assert "stands out" not in lines["c"]  # below the ranks whose reasons the churn table keeps: not computed
