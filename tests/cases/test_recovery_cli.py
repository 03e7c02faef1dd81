"""Alerts over a real DuckDB workspace, the recovery report, and the CLI commands end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cases.alerts import run_alerts
from clvlab.cases.owners import load_owners
from clvlab.cases.recovery import recovery_report
from clvlab.cases.service import CaseService
from clvlab.cli import _common
from clvlab.cli.cases_cmds import alerts_app, cases_app
from clvlab.store import open_app_store


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Feedback from six customers (four detractors) and their later purchases; CLV scores."""
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        con = ws.con.con
        con.execute("""CREATE TABLE feedback AS SELECT * FROM (VALUES
            ('r1', TIMESTAMP '2024-01-10 10:00', 'nps', 2.0, 'c1', 'late', 'S1', NULL),
            ('r2', TIMESTAMP '2024-01-11 10:00', 'nps', 5.0, 'c2', NULL, 'S1', NULL),
            ('r3', TIMESTAMP '2024-01-12 10:00', 'nps', 6.0, 'c3', NULL, 'S2', NULL),
            ('r4', TIMESTAMP '2024-01-12 11:00', 'nps', 4.0, 'c4', NULL, 'S2', NULL),
            ('r5', TIMESTAMP '2024-01-13 10:00', 'nps', 10.0, 'c5', 'great', 'S1', NULL),
            ('r6', TIMESTAMP '2024-01-13 12:00', 'csat', 1.0, 'c6', NULL, 'S9', NULL)
        ) t(response_id, responded_at, metric, score, customer_id, comment, store_id, product_id)""")
        con.execute("""CREATE TABLE transactions AS SELECT * FROM (VALUES
            ('c1', TIMESTAMP '2024-02-01', 20.0), ('c2', TIMESTAMP '2024-01-01', 10.0),
            ('c3', TIMESTAMP '2024-03-01', 30.0), ('c4', TIMESTAMP '2024-09-01', 5.0),
            ('c5', TIMESTAMP '2024-08-01', 5.0)
        ) t(customer_id, ordered_at, amount)""")
        con.execute("""CREATE TABLE scores AS SELECT * FROM (VALUES
            ('c1', 500.0), ('c2', 10.0), ('c3', 20.0), ('c4', 30.0), ('c5', 40.0), ('c6', 50.0),
            ('c7', 1.0), ('c8', 2.0), ('c9', 3.0), ('c10', 4.0)) t(customer_id, clv)""")
    return path


def test_run_alerts_opens_cases_with_clv_priority(workspace: Path, tmp_path: Path) -> None:
    with open_app_store(tmp_path / "app.sqlite") as store, clvlab.connect(workspace, read_only=True) as ws:
        config = clvlab.cases.rules.load_alert_config({"rules": [
            {"name": "nps_detractor", "metric": "nps", "max_score": 6},
            {"name": "csat_low", "metric": "csat", "max_score": 2}]})
        report = run_alerts(ws, store, config=config)
        again = run_alerts(ws, store, config=config)
        cases = {c.response_id: c for c in CaseService(store).list_cases()}
    assert (report.responses, report.matched, report.by_rule) == (6, 5, {"nps_detractor": 4, "csat_low": 1})
    assert again.opened.opened == []
    assert sorted(cases) == ["r1", "r2", "r3", "r4", "r6"]
    assert cases["r1"].priority == "P1"  # c1 is the top decile of the scores table
    assert cases["r6"].priority == "P2"


def test_recovery_report(workspace: Path, tmp_path: Path) -> None:
    """SLA share, times, re-survey change and repurchase, computed by hand for this small case."""
    t0 = datetime(2024, 1, 14, 9, tzinfo=UTC)
    now = [t0]
    with open_app_store(tmp_path / "app.sqlite") as store, clvlab.connect(workspace, read_only=True) as ws:
        svc = CaseService(store, clock=lambda: now[0])
        fb = ws.table("feedback").execute()
        svc.open_cases(fb[fb.score <= 6])  # r1..r4 + r6 (CSAT, not a detractor); all P3: 72 h
        ids = {c.response_id: c.id for c in svc.list_cases()}
        now[0] = t0 + timedelta(hours=10)
        svc.start(ids["r1"])
        svc.start(ids["r2"])
        now[0] = t0 + timedelta(hours=30)
        svc.resolve(ids["r1"], root_cause="delivery")
        svc.close(ids["r1"])
        token = svc.resurvey(ids["r1"]).token
        svc.record_resurvey_response(token, 8)
        now[0] = t0 + timedelta(hours=80)
        svc.start(ids["r3"])  # late: 80 h > 72 h
        report = recovery_report(store, ws, window_days=60, now=now[0])
    assert report.cases == 4
    assert (report.contacted, report.sla_decided, report.contacted_within_sla) == (3, 4, 2)
    assert report.share_within_sla == 0.5
    assert report.median_hours_to_contact == 10.0
    assert report.median_hours_to_resolve == 30.0
    assert (report.resurveys_answered, report.mean_score_change) == (1, 6.0)
    rep = report.repurchase.set_index("group")
    # closed case: r1 (c1 bought 22 days later); others: r2 (no later order), r3 (49 days), r4 (>60)
    assert rep.loc["closed case", ["n", "repurchased"]].tolist() == [1, 1]
    assert rep.loc["no closed case", ["n", "repurchased"]].tolist() == [3, 1]
    assert "contacted within SLA: 2/4 (50.0%)" in str(report)


def test_cli_loop(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """owners load -> alerts run -> list -> start -> resolve -> close -> show -> resurvey -> recovery."""
    monkeypatch.setenv("CLVLAB_APP_STORE", f"sqlite:///{tmp_path / 'cli-app.sqlite'}")
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,name,email,store_id,webhook\nstore-1,Ann,ann@example.com,S1,\n"
                      "store-2,Bo,bo@example.com,S2,\n", encoding="utf-8")
    runner = CliRunner()
    w = ["--workspace", str(workspace)]
    assert runner.invoke(cases_app, ["owners", "load", str(owners), "--default", "store-2"]).exit_code == 0
    res = runner.invoke(alerts_app, ["run", *w, "--no-notify"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cases_app, ["list", "--owner", "store-1"])
    assert res.exit_code == 0, res.output
    assert "2 cases" in res.output
    for args in (["start", "1"], ["resolve", "1", "--root-cause", "delivery", "--note", "refunded, called back"],
                 ["close", "1"], ["resurvey", "1"]):
        res = runner.invoke(cases_app, args)
        assert res.exit_code == 0, (args, res.output)
    assert res.stdout.startswith("https://survey.example.com/s/")
    res = runner.invoke(cases_app, ["resurvey-answer", "1", "11"])
    assert res.exit_code == 1
    assert "off the nps scale 0-10" in res.output
    assert runner.invoke(cases_app, ["resurvey-answer", "1", "9"]).exit_code == 0
    res = runner.invoke(cases_app, ["recovery", *w])
    assert res.exit_code == 0, res.output
    assert "re-survey" in res.output
    bad = runner.invoke(cases_app, ["start", "1"])
    assert bad.exit_code == 1
    assert "case 1 cannot start: it is closed" in bad.output
    monkeypatch.setattr(_common.state, "json", True)
    shown = json.loads(runner.invoke(cases_app, ["show", "1"]).stdout)
    assert [h["action"] for h in shown["history"]] == [
        "open", "start", "resolve", "close", "resurvey", "resurvey_answered"]
    assert shown["history"][2]["note"] == "root cause delivery; refunded, called back"
    assert [r["score"] for r in shown["resurveys"]] == [9.0]
    recovery = json.loads(runner.invoke(cases_app, ["recovery", *w]).stdout)
    assert (recovery["resurveys_answered"], recovery["mean_score_change"]) == (1, 7.0)


def test_readme_order_puts_owners_and_cases_in_one_app_store(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: `cases owners load owners.csv` (no -w), `alerts run -w shop.duckdb`, `cases list --owner`:
    one app store, so the cases have their owners."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cases_app, ["owners", "load", str(_owners(tmp_path))]).exit_code == 0
    assert runner.invoke(alerts_app, ["run", "-w", str(workspace), "--no-notify"]).exit_code == 0
    res = runner.invoke(cases_app, ["list", "--owner", "store-1"])
    assert res.exit_code == 0, res.output
    assert "2 cases" in res.output
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == ["clvlab-app.sqlite"]
    with clvlab.connect(workspace) as ws:  # feedback loaded, no transactions yet: recovery without repurchase
        ws.con.con.execute("DROP TABLE transactions")
    res = runner.invoke(cases_app, ["recovery", "-w", str(workspace)])
    assert res.exit_code == 0, res.output
    assert "repurchase: n/a (needs the workspace's feedback and transactions tables)" in res.output


def test_cases_opened_before_the_owners_get_them_later(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alerts first: every case unowned; loading the owners (or rerunning alerts) gives them their owner."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_common.state, "json", True)
    runner = CliRunner()
    w = ["-w", str(workspace)]
    first = json.loads(runner.invoke(alerts_app, ["run", *w, "--no-notify"]).stdout)
    assert (len(first["opened"]), first["unassigned"]) == (5, 5)
    loaded = json.loads(runner.invoke(cases_app, ["owners", "load", str(_owners(tmp_path))]).stdout)
    assert loaded["assigned"] == 4  # r6 is in store S9, which nobody owns
    listed = json.loads(runner.invoke(cases_app, ["list"]).stdout)
    assert {c["response_id"]: c["owner_id"] for c in listed} == {
        "r1": "store-1", "r2": "store-1", "r3": "store-2", "r4": "store-2", "r6": None}
    shown = json.loads(runner.invoke(cases_app, ["show", "1"]).stdout)
    assert shown["history"][-1]["note"] == "owner None -> store-1 (from the owners table)"
    with open_app_store() as store:  # owners loaded another way: a rerun of alerts assigns
        load_owners(store, pd.DataFrame({"owner_id": ["nine"], "store_id": ["S9"]}))
    rerun = json.loads(runner.invoke(alerts_app, ["run", *w, "--no-notify"]).stdout)
    assert (rerun["opened"], rerun["assigned"]) == ([], 1)


def test_cases_list_shows_times_in_the_business_time_zone(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored in UTC, shown in CLVLAB_TIMEZONE (and said so)."""
    monkeypatch.setenv("CLVLAB_APP_STORE", str(tmp_path / "app.sqlite"))
    opened = datetime(2024, 1, 14, 1, 30, tzinfo=UTC)
    with open_app_store() as store:
        CaseService(store, clock=lambda: opened).open_cases(pd.DataFrame({"response_id": ["r1"]}))
    monkeypatch.setenv("CLVLAB_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setattr(_common.out, "width", 200)
    res = CliRunner().invoke(cases_app, ["list"])
    assert res.exit_code == 0, res.output
    assert "2024-01-14 09:30" in res.output
    assert "times in Asia/Shanghai" in res.output


def _owners(folder: Path) -> Path:
    path = folder / "owners.csv"
    path.write_text("owner_id,name,email,store_id\nstore-1,Ann,,S1\nstore-2,Bo,,S2\n", encoding="utf-8")
    return path
