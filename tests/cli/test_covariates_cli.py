"""`clvlab fit bgnbd|pareto --covariate ...`: VoC covariates from the workspace's feedback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app
from clvlab.datasets import load_cdnow
from clvlab.datasets import path as dataset_path
from clvlab.models import ParetoNBDCovariates, load_model

runner = CliRunner()
pytestmark = pytest.mark.slow  # loads the CDNOW sample, scores the demo comments, fits 12 parameters


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the CDNOW sample and the demo feedback of its customers."""
    ws = tmp_path_factory.mktemp("covariates") / "shop.duckdb"
    with clvlab.connect(ws) as con:
        con.load_transactions(load_cdnow("sample"))
        con.load_feedback(dataset_path("demo_feedback"))
    return ws


def test_pareto_with_nps_class_reports_dropout_rate_ratios(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "pareto.json"
    result = runner.invoke(app, ["--json", "fit", "pareto", "-w", str(shop), "--covariate", "nps_class",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    assert fitted["model"] == "ParetoNBDCovariates"
    assert {"dropout:detractor", "dropout:passive", "dropout:no_nps"} <= set(fitted["params"])
    rows = {(r["process"], r["covariate"]): r for r in fitted["rate_ratios"]}
    det = rows[("dropout", "detractor")]
    assert det["lower"] < det["ratio"] < det["upper"]
    assert det["text"].startswith(f"a detractor's expected dropout rate is {det['ratio']:.2f} times a promoter's")
    model = load_model(out)
    assert isinstance(model, ParetoNBDCovariates)
    scored = runner.invoke(app, ["score", str(out), "-w", str(shop)])
    assert scored.exit_code == 2
    assert "clvlab score does not score models with covariates yet" in " ".join(scored.output.split())
    assert model.rate_ratio("dropout", {"detractor": 1, "passive": 0, "no_nps": 0},
                            {"detractor": 0, "passive": 0, "no_nps": 0}).ratio == pytest.approx(det["ratio"])


def test_covariates_need_feedback_in_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "bare.duckdb"
    with clvlab.connect(ws) as con:
        con.load_transactions(load_cdnow("sample"))
    result = runner.invoke(app, ["fit", "bgnbd", "-w", str(ws), "--covariate", "nps_class"])
    assert result.exit_code == 1
    line = " ".join(result.output.split())
    assert "voc_covariates: the workspace has no feedback table" in line
    assert "clvlab load feedback FILE" in line


def test_covariates_on_other_models_or_unknown_names_are_usage_errors(shop: Path) -> None:
    other = runner.invoke(app, ["fit", "gammagamma", "-w", str(shop), "--covariate", "nps_class"])
    assert other.exit_code == 2
    assert "--covariate works with the bgnbd and pareto models" in other.output
    unknown = runner.invoke(app, ["fit", "pareto", "-w", str(shop), "--covariate", "tier"])
    assert unknown.exit_code == 2
    assert "['negative_share', 'nps_class']" in " ".join(unknown.output.split())
