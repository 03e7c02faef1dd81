"""The closed-loop holdout: deterministic share, held-out cases on record, and the effect of contact recovered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cases.alerts import run_alerts
from clvlab.cases.holdout import held_out, holdout_draw
from clvlab.cases.recovery import recovery_report
from clvlab.cases.rules import load_alert_config
from clvlab.cases.service import CaseService
from clvlab.cli.cases_cmds import cases_app
from clvlab.errors import DataValidationError
from clvlab.store import open_app_store

CONFIG = {"rules": [{"name": "nps_detractor", "metric": "nps", "max_score": 6, "holdout": 0.3}],
          "holdout_salt": "test-salt"}


def test_draw_is_deterministic_uniform_and_salted() -> None:
    ids = [f"r{i}" for i in range(20000)]
    a = held_out(ids, 0.1, "s1")
    assert np.array_equal(a, held_out(ids, 0.1, "s1"))
    assert abs(a.mean() - 0.1) < 3 * np.sqrt(0.1 * 0.9 / len(ids))  # within 3 standard errors of the share
    b = held_out(ids, 0.1, "s2")
    assert (a != b).mean() > 0.1  # another salt holds out other responses
    assert holdout_draw("r1", "s1") == holdout_draw("r1", "s1")
    nested = held_out(ids, 0.2, "s1")
    assert not (a & ~nested).any()  # raising the share only adds responses: the 10 % stay held out
    assert not held_out(ids, 0.0, "s1").any()


@pytest.mark.parametrize("value", [1.0, -0.1, "ten percent", True])
def test_bad_holdout_share_is_a_located_error(value: object) -> None:
    with pytest.raises(DataValidationError, match="holdout must be a share in"):
        load_alert_config({"rules": [{"name": "det", "metric": "nps", "max_score": 6, "holdout": value}]})


def _shop(path: Path, *, n: int, effect: dict[str, float], seed: int) -> tuple[Path, np.ndarray]:
    """n detractor responses; contact (not held out) raises repurchase, the next NPS and CLV by ``effect``."""
    rng = np.random.default_rng(seed)
    ids = [f"r{i:05d}" for i in range(n)]
    customers = [f"c{i:05d}" for i in range(n)]
    treated = ~held_out(ids, 0.3, CONFIG["holdout_salt"])
    at = pd.Timestamp("2024-01-10") + pd.to_timedelta(rng.integers(0, 30 * 24, n), unit="h")
    score = rng.integers(0, 7, n).astype(float)
    fb = pd.DataFrame({"response_id": ids, "responded_at": at, "metric": "nps", "score": score,
                       "customer_id": customers, "comment": None, "store_id": "S1", "product_id": None})
    with clvlab.connect(path) as ws:
        ws.con.con.register("fb", fb)
        ws.con.con.execute("CREATE TABLE feedback AS SELECT * FROM fb")
        ws.con.con.unregister("fb")
    bought = rng.random(n) < 0.20 + effect["repurchase"] * treated
    tx = pd.DataFrame({"customer_id": np.array(customers)[bought],
                       "ordered_at": at[bought] + pd.to_timedelta(rng.integers(1, 80, bought.sum()), unit="D"),
                       "amount": 30.0})
    tx = pd.concat([tx, pd.DataFrame({"customer_id": ["zz"], "ordered_at": [pd.Timestamp("2025-01-01")],
                                      "amount": [1.0]})])
    answered = rng.random(n) < 0.5
    noise = rng.normal(1.0, 2.0, n)
    # the next answer with and without contact (same noise): kept on the 0-10 scale, so the true
    # effect is the mean difference of the two, a little under effect["nps"] where it clips at 10
    with_contact, without = (np.clip(score + noise + e, 0, 10).round() for e in (effect["nps"], 0.0))
    effect["nps_true"] = float((with_contact - without).mean())
    nxt = np.where(treated, with_contact, without)
    follow = pd.DataFrame({"response_id": [f"f{i:05d}" for i in range(n)], "responded_at": at + pd.Timedelta(days=100),
                           "metric": "nps", "score": nxt, "customer_id": customers, "comment": None,
                           "store_id": "S1", "product_id": None})[answered]
    scores = pd.DataFrame({"customer_id": customers, "clv": rng.gamma(2.0, 50.0, n) + effect["clv"] * treated})
    return path, (tx, follow, scores)  # type: ignore[return-value]


def _later(path: Path, tx: pd.DataFrame, follow: pd.DataFrame, scores: pd.DataFrame) -> None:
    """The purchases, the next answers and the scores arrive after the alerts ran."""
    with clvlab.connect(path) as ws:
        ws.con.con.register("tx", tx)
        ws.con.con.execute("CREATE TABLE transactions AS SELECT * FROM tx")
        ws.con.con.register("fw", follow)
        ws.con.con.execute("INSERT INTO feedback SELECT * FROM fw")
        ws.con.con.register("sc", scores)
        ws.con.con.execute("CREATE TABLE scores AS SELECT * FROM sc")


def _run(tmp_path: Path, effect: dict[str, float], seed: int) -> tuple[object, object]:
    path, (tx, follow, scores) = _shop(tmp_path / "shop.duckdb", n=3000, effect=effect, seed=seed)
    with open_app_store(tmp_path / "app.sqlite") as store:
        with clvlab.connect(path, read_only=True) as ws:
            report = run_alerts(ws, store, config=load_alert_config(CONFIG))
            again = run_alerts(ws, store, config=load_alert_config(CONFIG))
        _later(path, tx, follow, scores)
        with clvlab.connect(path, read_only=True) as ws:
            rec = recovery_report(store, ws, window_days=90)
        held = CaseService(store).list_cases(state="held_out")
    assert again.opened.opened == []
    assert again.opened.held_out == 0
    return (report, held), rec


def test_holdout_recovers_a_known_effect_within_its_interval(tmp_path: Path) -> None:
    effect = {"repurchase": 0.15, "nps": 2.0, "clv": 40.0}
    (report, held), rec = _run(tmp_path, effect, seed=11)
    expected = held_out([f"r{i:05d}" for i in range(3000)], 0.3, "test-salt")
    assert report.opened.held_out == int(expected.sum())  # the documented hash, nothing else
    assert {c.response_id for c in held} == {f"r{i:05d}" for i in np.flatnonzero(expected)}
    assert all(c.owner_id is None and c.state == "held_out" for c in held)
    assert abs(len(held) / 3000 - 0.3) < 3 * np.sqrt(0.3 * 0.7 / 3000)
    assert rec.cases == 3000 - len(held)  # held-out cases are nobody's work: not in the SLA figures
    loop = rec.closed_loop
    assert loop is not None
    assert (loop.contacted, loop.held_out) == (3000 - len(held), len(held))
    rows = loop.effects.set_index("metric")
    truth = {"repurchase within 90 days": 0.15, "NPS change (next answer - score)": effect["nps_true"], "CLV": 40.0}
    for metric, value in truth.items():
        row = rows.loc[metric]
        assert row["lower"] < value < row["upper"], (metric, row.to_dict())
        assert row["lower"] > 0  # detected
    assert loop.roi is not None
    assert loop.roi["lower"] < 40.0 * loop.contacted < loop.roi["upper"]
    assert "ROI of the closed loop" in str(rec)


@pytest.mark.slow
def test_aa_holdout_shows_no_effect(tmp_path: Path) -> None:
    """Contact does nothing; 20 salts draw 20 holdouts over the same customers: about 5 % of the
    60 intervals (3 metrics x 20 draws) miss 0, and no held-out share is off its 30 %."""
    path, (tx, follow, scores) = _shop(tmp_path / "shop.duckdb", n=3000,
                                       effect={"repurchase": 0.0, "nps": 0.0, "clv": 0.0}, seed=5)
    salts = [f"aa-{k}" for k in range(20)]
    with clvlab.connect(path, read_only=True) as ws:
        for salt in salts:
            with open_app_store(tmp_path / f"{salt}.sqlite") as store:
                run_alerts(ws, store, config=load_alert_config({**CONFIG, "holdout_salt": salt}))
    _later(path, tx, follow, scores)
    misses, shares = 0, []
    with clvlab.connect(path, read_only=True) as ws:
        for salt in salts:
            with open_app_store(tmp_path / f"{salt}.sqlite") as store:
                loop = recovery_report(store, ws, window_days=90).closed_loop
            assert loop is not None
            rows = loop.effects
            misses += int(((rows["lower"] > 0) | (rows["upper"] < 0)).sum())
            shares.append(loop.held_out / (loop.held_out + loop.contacted))
    assert misses <= 6  # P(more than 6 of 60 at 5 %) is about 0.03 for independent intervals
    # each share is binomial(3000, 0.3) / 3000; over 20 draws, 4 standard errors (P ~ 0.001 in all)
    assert max(abs(s - 0.3) for s in shares) < 4 * np.sqrt(0.3 * 0.7 / 3000)


def test_recovery_cli_reports_the_closed_loop(tmp_path: Path) -> None:
    _run(tmp_path, {"repurchase": 0.15, "nps": 2.0, "clv": 40.0}, seed=11)
    runner = CliRunner()
    args = ["recovery", "-w", str(tmp_path / "shop.duckdb"), "--app-store", f"sqlite:///{tmp_path / 'app.sqlite'}"]
    result = runner.invoke(cases_app, args)
    assert result.exit_code == 0, result.output
    assert "closed-loop holdout since" in result.output
    from clvlab.cli.app import app

    result = runner.invoke(app, ["--json", "cases", *args])
    loop = json.loads(result.output)["closed_loop"]
    assert loop["held_out"] > 0
    assert [e["metric"] for e in loop["effects"]] == ["repurchase within 90 days", "NPS change (next answer - score)",
                                                       "CLV"]


def test_alerts_cli_holds_out_and_lists_the_holdout(tmp_path: Path) -> None:
    """Through the CLI: a rules file with a holdout; held-out cases are listed apart and cannot be worked."""
    from clvlab.cli.app import app

    path, _ = _shop(tmp_path / "shop.duckdb", n=200, effect={"repurchase": 0.0, "nps": 0.0, "clv": 0.0}, seed=1)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: nps_detractor, metric: nps, max_score: 6, holdout: 0.3}\n"
                     "holdout_salt: test-salt\n", encoding="utf-8")
    store = ["--app-store", f"sqlite:///{tmp_path / 'app.sqlite'}"]
    runner = CliRunner()
    res = runner.invoke(app, ["--json", "alerts", "run", "-w", str(path), "--rules", str(rules), "--no-notify", *store])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    expected = int(held_out([f"r{i:05d}" for i in range(200)], 0.3, "test-salt").sum())
    assert out["held_out"] == expected
    assert len(out["opened"]) == 200 - expected
    listed = json.loads(runner.invoke(app, ["--json", "cases", "list", "--state", "held_out", *store]).output)
    assert len(listed) == expected
    assert {c["owner_id"] for c in listed} == {None}
    start = runner.invoke(app, ["cases", "start", str(listed[0]["id"]), *store])
    assert start.exit_code != 0
    assert "closed-loop holdout" in start.output
