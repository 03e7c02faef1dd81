"""The command line as a user drives it: help everywhere, exit codes, located errors, a full flow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["demo", "load", "run", "rfm", "fit", "score", "evaluate", "voc metrics", "voc text", "voc drivers",
            "alerts run", "cases list", "cases start", "cases resolve", "cases resurvey", "cases recovery",
            "cases owners load", "cases resurvey-answer", "cohorts", "economics", "lifecycle", "health",
            "leads", "churn watchlist", "churn evaluate",
            "serve", "db upgrade", "db snapshot", "users add", "users grant", "users list", "users disable", "users enable",
            "tokens create",
            "actions", "promoters", "recommend"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_documented(command: str) -> None:
    """`clvlab CMD --help` works and the README documents the command."""
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert f"clvlab {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_unknown_model_is_a_usage_error() -> None:
    """A bad model name exits 2 with the list of valid names."""
    result = runner.invoke(app, ["fit", "bg-nope"])
    assert result.exit_code == 2
    assert "Unknown model 'bg-nope'. Choose one of: bgbb, bgnbd" in result.output


def _write_orders(path: Path, bad_row: int | None = None) -> None:
    rows = ["cust,date,total"]
    for i in range(1, 41):
        day = f"2024-0{1 + i % 6}-{10 + i % 15}"
        if i == bad_row:
            day = "2024-13-45"
        rows.append(f"c{i % 7},{day},{10 + i}.50")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _count(ws: Path) -> int:
    with duckdb.connect(str(ws), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if "transactions" not in tables:
            return 0
        row = con.execute("select count(*) from transactions").fetchone()
        assert row is not None
        return int(row[0])


def test_load_broken_file_names_row_and_column_and_changes_nothing(tmp_path: Path) -> None:
    """Every row bad in one column: exit 1, one line naming file, row, column and value; nothing loaded."""
    ws = tmp_path / "shop.duckdb"
    good = tmp_path / "good.csv"
    _write_orders(good)
    ok = runner.invoke(app, ["load", "transactions", str(good), "-w", str(ws),
                             "--map", "customer_id=cust", "--map", "ordered_at=date", "--map", "amount=total"])
    assert ok.exit_code == 0, ok.output
    before = _count(ws)
    assert before == 40

    broken = tmp_path / "broken.csv"
    broken.write_text("cust,date,total\nc1,yesterday,1\nc2,someday,2\n", encoding="utf-8")
    result = runner.invoke(app, ["load", "transactions", str(broken), "-w", str(ws),
                                 "--map", "customer_id=cust", "--map", "ordered_at=date", "--map", "amount=total"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert "Traceback" not in line
    assert "broken.csv" in line
    assert re.search(r"row 1\b", line)
    assert "'ordered_at'" in line or "'date'" in line
    assert "yesterday" in line
    assert _count(ws) == before


def test_load_missing_column_suggests_map(tmp_path: Path) -> None:
    """A file without the mapped column exits 1 and lists the columns it does have."""
    path = tmp_path / "orders.csv"
    _write_orders(path)
    result = runner.invoke(app, ["load", "transactions", str(path), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 1
    assert "cust" in result.output
    assert "--map" in result.output


def test_reload_is_a_no_op_json(tmp_path: Path) -> None:
    """Loading the same file twice inserts nothing the second time (--json report)."""
    ws, path = tmp_path / "w.duckdb", tmp_path / "orders.csv"
    _write_orders(path)
    args = ["--json", "load", "transactions", str(path), "-w", str(ws),
            "--map", "customer_id=cust", "--map", "ordered_at=date", "--map", "amount=total"]
    first = json.loads(runner.invoke(app, args).stdout)
    second = json.loads(runner.invoke(app, args).stdout)
    assert first["inserted"] == 40
    assert second["inserted"] == 0
    assert second["already_present"] == 40
    assert _count(ws) == 40


def test_rfm_fit_score_flow(tmp_path: Path, shared_data: Path) -> None:
    """load -> rfm -> fit bgnbd / gammagamma -> score, through files, as in the README."""
    ws = tmp_path / "cdnow.duckdb"
    load = runner.invoke(app, ["load", "transactions", str(shared_data / "cdnow" / "CDNOW_master.txt"),
                               "-w", str(ws), "--sep", "whitespace", "--date-format", "%Y%m%d",
                               "--map", "ordered_at=date", "--map", "amount=dollar_value",
                               "--map", "quantity=number_of_cds"])
    assert load.exit_code == 0, load.output
    rfm_path = tmp_path / "rfm.parquet"
    rfm = runner.invoke(app, ["rfm", "-w", str(ws), "--freq", "W", "--observation-end", "1997-09-30",
                              "-o", str(rfm_path)])
    assert rfm.exit_code == 0, rfm.output
    assert len(pd.read_parquet(rfm_path)) == 23570
    fit = runner.invoke(app, ["fit", "bgnbd", str(rfm_path), "-o", str(tmp_path / "bg.json")])
    assert fit.exit_code == 0, fit.output
    assert "alpha" in fit.output
    gg = runner.invoke(app, ["fit", "gammagamma", str(rfm_path), "-o", str(tmp_path / "gg.json")])
    assert gg.exit_code == 0, gg.output
    out = tmp_path / "scores.csv"
    score = runner.invoke(app, ["score", str(tmp_path / "bg.json"), str(rfm_path),
                                "--spend-model", str(tmp_path / "gg.json"), "-o", str(out)])
    assert score.exit_code == 0, score.output
    scores = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert len(scores) == 23570
    assert scores["p_alive"].between(0, 1).all()
    assert (scores["clv_lower"] <= scores["clv"] + 1e-9).all()
    assert (scores["clv"] <= scores["clv_upper"] + 1e-9).all()


def test_demo_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`clvlab demo` loads CDNOW, compares the models on weeks 40-78 and scores all 23,570 customers."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["--json", "demo"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["load"]["inserted"] == 69659
    assert payload["n_customers"] == 23570
    assert payload["best"] in {"BetaGeo", "ModifiedBetaGeo", "ParetoNBD"}
    assert payload["total_clv"] > 0
    scores = pd.read_csv(tmp_path / "clvlab-demo" / "scores.csv")
    assert len(scores) == 23570
    page = Path(payload["report"]).read_text(encoding="utf-8")  # the demo writes the HTML report too
    assert page.startswith("<!DOCTYPE html>")
    assert 'id="chart-tracking"' in page
    diagnostics = (tmp_path / "clvlab-demo" / "diagnostics.json").read_text(encoding="utf-8")
    json.loads(diagnostics, parse_constant=lambda c: pytest.fail(f"{c} in diagnostics.json"))  # valid JSON
    assert payload["feedback_load"]["inserted"] == 6000
    overall = payload["voc"]["nps"][0]
    assert overall["lower"] < overall["value"] < overall["upper"]
    classes = {row["nps_class"]: row for row in payload["voc"]["value_by_nps_class"]}
    assert classes["promoter"]["clv"] > classes["detractor"]["clv"]  # the demo data links NPS and CLV
    assert payload["alerts"]["opened"] == payload["alerts"]["matched"] > 0
    assert sum(payload["lifecycle"]["stages"].values()) == 23570 + 30000  # every customer, the demo prospects
    assert payload["lifecycle"]["stages"]["prospect"] == 30000
    leads = payload["leads"]
    assert leads["n_prospects"] == 30000
    assert leads["evaluation"]["auc"] > leads["evaluation"]["baseline_auc"]  # made-up data: see docs/lifecycle.md
    import clvlab
    from clvlab.derived import read_derived

    with clvlab.connect(tmp_path / "clvlab-demo.duckdb", read_only=True) as ws:
        stored = read_derived(ws, "leads", columns=("lead_score", "rank"), where="test").execute()
    assert len(stored) == 30000
    assert set(stored["run_id"]) == {payload["run_id"]}
    assert sum(payload["lifecycle"]["bands"].values()) > 0
    watch = payload["churn"]["watchlist"]  # the head of the churn watchlist, most CLV at risk first
    assert [r["rank"] for r in watch] == list(range(1, 11))
    assert [r["clv_at_risk"] for r in watch] == sorted((r["clv_at_risk"] for r in watch), reverse=True)
    assert payload["churn"]["customers"] == 23570
    assert any(r["reason_1"] for r in watch)
    rerun = runner.invoke(app, ["--json", "demo"])
    assert rerun.exit_code == 0, rerun.output
    again = json.loads(rerun.stdout)
    assert again["load"]["inserted"] == 0  # re-running the demo re-loads nothing
    assert again["feedback_load"]["inserted"] == 0
    assert again["alerts"]["opened"] == 0  # and opens no case twice


def _small_log(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,ordered_at,amount\n1,2024-01-05,10\n1,2024-02-05,12\n2,2024-01-09,7\n")
    return path


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), RuntimeError("Query interrupted"),
                                       duckdb.InterruptException("INTERRUPT Error: Interrupted!")])
def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         interrupt: BaseException) -> None:
    """Ctrl-C during a run: KeyboardInterrupt, or DuckDB's interrupt when it lands in a query."""
    import clvlab.pipeline

    def stopped(*args: object, **kwargs: object) -> None:
        raise interrupt

    ws = tmp_path / "ws.duckdb"
    assert runner.invoke(app, ["load", "transactions", str(_small_log(tmp_path)), "-w", str(ws)]).exit_code == 0
    monkeypatch.setattr(clvlab.pipeline, "run_pipeline", stopped)
    result = runner.invoke(app, ["run", "-w", str(ws)])
    assert result.exit_code == 130, result.output
    assert "interrupted (Ctrl-C)" in result.output
    assert "Traceback" not in result.output


def test_another_runtime_error_is_not_taken_for_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import clvlab.pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something else")

    ws = tmp_path / "ws.duckdb"
    assert runner.invoke(app, ["load", "transactions", str(_small_log(tmp_path)), "-w", str(ws)]).exit_code == 0
    monkeypatch.setattr(clvlab.pipeline, "run_pipeline", broken)
    result = runner.invoke(app, ["run", "-w", str(ws)])
    assert isinstance(result.exception, RuntimeError)
    assert str(result.exception) == "something else"
