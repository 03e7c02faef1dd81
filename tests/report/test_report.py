"""`clvlab report` / clvlab.build_report: what each section shows, computed apart with SQL; notes
for missing tables; the watchlist once a churn table exists; the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app
from clvlab.datasets import load_cdnow

runner = CliRunner()
SECTIONS = ["summary", "clv", "stages", "health", "watchlist", "nps_stage", "cohorts", "economics", "model",
            "tracking"]


def _section(page: str, key: str) -> str:
    match = re.search(rf'<section class="card" id="{key}".*?</section>', page, re.S)
    assert match, key
    return match.group(0)


def _sql(ws: Any, query: str) -> Any:
    return ws.con.con.execute(query).fetchone()


@pytest.mark.slow
def test_demo_report_shows_every_section(demo: tuple[Any, Any], demo_has_churn: bool) -> None:
    ws, store = demo
    page = clvlab.build_report(ws, currency="USD", app_store=store)
    assert page.startswith("<!DOCTYPE html>")
    assert re.findall(r'<section class="card" id="(\w+)"', page) == SECTIONS
    missing = re.findall(r'<section class="card" id="(\w+)"[^>]*data-missing', page)
    assert missing == ([] if demo_has_churn else ["watchlist"])
    if not demo_has_churn:  # until the churn model writes its table
        assert "run `clvlab run` to compute churn" in _section(page, "watchlist")
    for chart in ("chart-clv-hist", "chart-clv-deciles", "chart-stage-sizes", "chart-stage-flows",
                  "chart-health-bands", "chart-health-backtest", "chart-nps-stage", "chart-cohorts",
                  "chart-ltv-cac", "chart-model-totals", "chart-tracking", "chart-tracking-cumulative",
                  *(["chart-watchlist"] if demo_has_churn else [])):
        assert f'data-chart="{chart}"' in page, chart
    # every chart has its numbers beside it, and nothing is fetched: no src= or href= to elsewhere
    assert page.count("<details>") == page.count("data-chart=")
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r'(src|href)="(?!#)', markup)
    assert page.count("<script>") == 2  # ECharts and the page's own, both inline
    assert "demo assumption" in _section(page, "economics")
    # the demo's transactions carry no cost: LTV and payback are revenue, and the page says so
    assert "revenue, not margin" in _section(page, "economics")


@pytest.mark.slow
def test_headline_figures_equal_sql_over_the_tables(demo: tuple[Any, Any]) -> None:
    ws, store = demo
    summary = _section(clvlab.build_report(ws, currency="USD", app_store=store), "summary")
    n, total = _sql(ws, "SELECT count(*), sum(clv) FROM scores")
    top = _sql(ws, f"SELECT sum(clv) FROM (SELECT clv FROM scores ORDER BY clv DESC LIMIT {int(np.ceil(n / 10))})")[0]
    assert f">{n:,}<" in summary
    assert f">{total:,.0f}<" in summary
    assert f">{100 * top / total:.1f}%<" in summary
    promoters, detractors, answers = _sql(ws, """
        SELECT sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END), sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END), count(*)
        FROM feedback WHERE metric = 'nps' AND score IS NOT NULL""")
    assert f">{100 * (promoters - detractors) / answers:+.1f}<" in summary
    assert f"{answers:,} answers" in summary
    from clvlab.cases.service import CaseService

    n_open = len(CaseService(store).list_cases(state=["open", "in_progress"]))
    assert n_open > 0
    assert f">{n_open:,}<" in summary


@pytest.mark.slow
def test_diagnostics_track_the_holdout_to_the_comparison_totals(demo: tuple[Any, Any]) -> None:
    ws, _ = demo
    from clvlab.value.diagnostics import read_run_diagnostics

    diag = read_run_diagnostics(ws, where="test")
    models, hold = diag["model"], diag["holdout"]
    chosen = models[models["chosen"] == True].iloc[0]  # noqa: E712
    assert hold["model"].unique().tolist() == [chosen["model"]]
    assert hold["predicted"].sum() == pytest.approx(chosen["predicted_total"], rel=1e-9)
    assert hold["actual"].sum() == chosen["actual_total"]
    # the holdout weeks: 1997-10-01 (the day after the calibration end) to the week of 1998-06-30
    assert str(hold["period_start"].iloc[0])[:10] == "1997-10-01"
    assert hold["period"].tolist() == list(range(1, len(hold) + 1))
    weekly = _sql(ws, """
        WITH firsts AS (SELECT customer_id FROM transactions GROUP BY 1 HAVING min(ordered_at) <= DATE '1997-09-30'),
             weeks AS (SELECT DISTINCT t.customer_id, date_trunc('week', t.ordered_at) AS w FROM transactions t
                       JOIN firsts USING (customer_id)
                       WHERE t.ordered_at > DATE '1997-09-30' AND t.ordered_at <= DATE '1998-06-30')
        SELECT count(*) FILTER (WHERE w = DATE '1997-10-13') FROM weeks""")[0]
    assert hold.loc[hold["period"] == 2, "actual"].iloc[0] == weekly  # ISO weeks start on Monday too
    assert set(diag["param"]["model"]) == {chosen["model"], "GammaGamma"}
    assert diag["run"]["settings"]["calibration_end"] == "1997-09-30"


def _transactions_only(tmp_path: Path) -> Path:
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_transactions(load_cdnow("sample"))
    return path


def test_missing_tables_become_located_notes(tmp_path: Path) -> None:
    with clvlab.connect(_transactions_only(tmp_path), read_only=True) as ws:
        page = clvlab.build_report(ws, lang="en")
    assert re.findall(r'<section class="card" id="(\w+)"[^>]*data-missing', page) == SECTIONS
    assert "the workspace has no table &#39;scores&#39;" in _section(page, "summary")
    assert "clvlab run" in _section(page, "health")
    assert "no table &#39;feedback&#39;" in _section(page, "nps_stage")
    assert "no table &#39;diagnostics&#39;" in _section(page, "tracking")
    assert "data-chart=" not in page


def test_watchlist_once_a_churn_table_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clvlab import derived
    from clvlab.derived import DerivedColumn, DerivedContract, write_derived

    # the churn table's contract arrives with the churn model; this test stands one in for it
    churn = DerivedContract("churn", "customer_id", (
        DerivedColumn("customer_id", "string", True), DerivedColumn("p_churn", "float64", True),
        DerivedColumn("clv", "float64", True), DerivedColumn("clv_at_risk", "float64", True),
        DerivedColumn("rank", "int64", True), DerivedColumn("reason_1", "string"),
        DerivedColumn("reason_2", "string"), DerivedColumn("reason_3", "string"), *derived.RUN_COLUMNS),
        produced_by="`clvlab run`")
    monkeypatch.setitem(derived.DERIVED, "churn", churn)
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)] + ["<b>x</b>"],
                          "p_churn": rng.uniform(0.1, 0.9, 31), "clv": rng.uniform(10, 500, 31)})
    frame.loc[30, ["p_churn", "clv"]] = [0.99, 10_000.0]
    frame["clv_at_risk"] = frame["p_churn"] * frame["clv"]
    frame["rank"] = frame["clv_at_risk"].rank(ascending=False).astype(int)
    frame["reason_1"], frame["reason_2"], frame["reason_3"] = "recency", "nps detractor", None
    frame.loc[30, "reason_1"] = frame.loc[30, "reason_2"] = None  # no feature group stands out
    with clvlab.connect(_transactions_only(tmp_path)) as ws:
        write_derived(ws, "churn", frame, as_of="1998-06-30")
        section = _section(clvlab.build_report(ws, top=5), "watchlist")
    assert "data-missing" not in section
    assert 'data-chart="chart-watchlist"' in section
    expected = frame.sort_values("clv_at_risk", ascending=False).head(5)
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>([^<]*)</td>", section)
    assert [r[1] for r in rows] == ["&lt;b&gt;x&lt;/b&gt;", *expected["customer_id"][1:]]  # escaped, by CLV at risk
    assert "<b>x</b>" not in section
    assert "99.0%" in section
    assert "9,900" in section
    assert "recency; nps detractor" in section
    assert "no single reason stands out (each feature group changes P(churn) by less than 0.5 points)" in section


def test_bad_language_is_a_parameter_error(tmp_path: Path) -> None:
    with clvlab.connect(_transactions_only(tmp_path), read_only=True) as ws, \
            pytest.raises(clvlab.ParameterError, match="lang"):
        clvlab.build_report(ws, lang="fr")


@pytest.mark.slow
def test_cli_writes_the_page_and_says_what_it_left_out(demo_ws: tuple[Path, str], demo_has_churn: bool,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLVLAB_APP_STORE", raising=False)
    path, _ = demo_ws
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["--json", "report", "-w", str(path), "-o", str(out), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["path"] == str(out)
    assert payload["bytes"] == out.stat().st_size
    shown = {s["key"]: s["shown"] for s in payload["sections"]}
    assert shown == {k: k != "watchlist" or demo_has_churn for k in SECTIONS}
    page = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert "客户价值报告" in page
    assert "个工单" not in page  # no app store given: no open-cases tile
    text = runner.invoke(app, ["report", "-w", str(path), "-o", str(tmp_path / "e.html")])
    assert text.exit_code == 0, text.output
    assert f"{10 if demo_has_churn else 9} of 10 sections shown" in text.output
    assert ("not shown: Churn watchlist" in text.output) is not demo_has_churn


def test_cli_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["report", "-w", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    assert "clvlab run -w" in missing.output
    assert not (tmp_path / "none.duckdb").exists()  # the report never creates a workspace
    bad = runner.invoke(app, ["report", "-w", str(_transactions_only(tmp_path)), "--lang", "fr"])
    assert bad.exit_code == 2
    nowhere = runner.invoke(app, ["report", "-w", str(tmp_path / "shop.duckdb"), "-o",
                                  str(tmp_path / "no" / "such" / "r.html")])
    assert nowhere.exit_code == 1
    assert "No such file or directory" in nowhere.output
