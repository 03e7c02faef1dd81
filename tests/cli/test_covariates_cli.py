"""`clvlab fit bgnbd|pareto --covariate ...`: VoC covariates from the workspace's feedback."""

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
from clvlab.models import ParetoNBDCovariates, load_model
from clvlab.voc.covariates import voc_covariates

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
    scored = runner.invoke(app, ["--json", "score", str(out), "-w", str(shop)])
    assert scored.exit_code == 0, scored.output
    rows = pd.DataFrame(json.loads(scored.stdout)).set_index("customer_id")
    with clvlab.connect(shop, read_only=True) as con:
        rfm = clvlab.rfm_summary(con, freq="W")
        z = voc_covariates(con, rfm.index, covariates=["nps_class"], until=rfm.attrs["observation_end"])
    expected = clvlab.score_customers(rfm, model, covariates=z[["detractor", "passive", "no_nps"]])
    assert rows["p_alive"].to_numpy() == pytest.approx(expected["p_alive"].to_numpy(), rel=1e-6)  # JSON keeps 10 digits
    assert rows["clv"].to_numpy() == pytest.approx(expected["clv"].to_numpy(), rel=1e-6)
    assert rows["clv_lower"].notna().all()  # each covariate profile's interval
    no_ws = runner.invoke(app, ["score", str(out)])
    assert no_ws.exit_code == 2
    assert "reads each customer's covariates from the workspace's feedback; pass -w" in " ".join(no_ws.output.split())
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


def test_run_with_covariates_checks_them_on_the_holdout_and_reports_rate_ratios(shop: Path, tmp_path: Path) -> None:
    from clvlab.value.diagnostics import read_run_diagnostics

    ws = tmp_path / "run.duckdb"
    ws.write_bytes(shop.read_bytes())
    result = runner.invoke(app, ["--json", "run", "-w", str(ws), "--covariate", "nps_class"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["voc_model"]
    family = record["family"]
    assert record["model"] == f"{family}Covariates"
    assert record["covariates"] == ["nps_class"]
    assert record["scores_from"] == f"{family} without covariates"
    with clvlab.connect(ws, read_only=True) as con:
        diag = read_run_diagnostics(con, where="test")
    models = diag["model"].set_index("model")
    assert record["holdout_mae_without"] == pytest.approx(models.loc[family, "holdout_mae"])  # the same holdout
    assert 0 < record["holdout_mae"] < 5
    assert diag["run"]["voc_model"] == record  # stored with the run's diagnostics, for the report
    rows = {(r["process"], r["covariate"]): r for r in record["rate_ratios"]}
    assert set(rows) == {(p, c) for p in ("purchase", "dropout") for c in ("detractor", "passive", "no_nps")}
    assert all(r["lower"] < r["ratio"] < r["upper"] for r in rows.values())
    # the whole-period fit is the one `clvlab fit` makes with the same covariates and period
    fitted = runner.invoke(app, ["--json", "fit", "bgnbd" if family == "BetaGeo" else "pareto", "-w", str(ws),
                                 "--covariate", "nps_class", "--observation-end", diag["as_of"]])
    assert fitted.exit_code == 0, fitted.output
    expected = {(r["process"], r["covariate"]): r["ratio"] for r in json.loads(fitted.stdout)["rate_ratios"]}
    assert {k: r["ratio"] for k, r in rows.items()} == pytest.approx(expected, rel=1e-6)
    report = tmp_path / "report.html"
    made = runner.invoke(app, ["report", "-w", str(ws), "-o", str(report)])
    assert made.exit_code == 0, made.output
    html = report.read_text(encoding="utf-8")
    assert f"What customers say, inside the purchase model ({family}Covariates)" in html
    assert "detractors vs promoters" in html


def test_run_with_covariates_needs_feedback_and_a_workspace_engine(tmp_path: Path) -> None:
    ws = tmp_path / "bare.duckdb"
    with clvlab.connect(ws) as con:
        con.load_transactions(load_cdnow("sample"))
    result = runner.invoke(app, ["run", "-w", str(ws), "--covariate", "nps_class"])
    assert result.exit_code == 1
    line = " ".join(result.output.split())
    assert "voc_covariates: the workspace has no feedback table" in line
    assert "clvlab load feedback FILE" in line
    spark = runner.invoke(app, ["run", "--engine", "spark", "--covariate", "nps_class"])
    assert spark.exit_code == 2
    assert "--covariate belong to runs on a DuckDB or PostgreSQL workspace" in " ".join(spark.output.split())
