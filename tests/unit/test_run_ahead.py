"""The work a run starts ahead on its own connections (clvlab.run_ahead) gives the tables of the
steps run one after the other, drops what rests on a wrong guess, and never outlives a failed run."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import clvlab
import clvlab.run_ahead
import clvlab.value.cohorts
from clvlab.datasets.synthetic import simulate_transactions
from clvlab.errors import ClvlabError
from clvlab.run_ahead import RunAhead

TABLES = {"stages": "customer_id", "health": "customer_id", "churn": "customer_id", "cohorts": "cell",
          "economics": "group"}


def _workspace(path: Path) -> clvlab.Workspace:
    ws = clvlab.connect(str(path))
    ws.load("transactions", simulate_transactions(3000, seed=7), progress=False)
    return ws


def _tables(ws: clvlab.Workspace) -> dict[str, pd.DataFrame]:
    out = {}
    for name, key in TABLES.items():
        frame = ws.table(name).execute().drop(columns=["run_id"])
        out[name] = frame.sort_values(key).reset_index(drop=True)
    return out


def test_the_tables_are_those_of_the_steps_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    churn_scores, days_as_rows = RunAhead.churn_scores, clvlab.value.cohorts._days_as_rows
    lifecycle_tables, cohorts = RunAhead.lifecycle_tables, RunAhead.cohorts

    def spy_tables(self: RunAhead, as_of: str) -> Any:
        found = lifecycle_tables(self, as_of)
        used.append("stages and health ahead" if found is not None else "stages and health in order")
        return found

    def spy_churn(self: RunAhead, as_of: str) -> Any:
        found = churn_scores(self, as_of)
        used.append("churn ahead" if found is not None else "churn in order")
        return found

    def spy_cohorts(self: RunAhead, as_of: str) -> Any:
        found = cohorts(self, as_of)
        used.append("cohorts ahead" if found is not None else "cohorts in order")
        return found

    def spy_days(source: Any) -> Any:
        found = days_as_rows(source)
        used.append("economics from the held days" if found is not None else "economics from the transactions")
        return found

    monkeypatch.setattr(RunAhead, "churn_scores", spy_churn)
    monkeypatch.setattr(RunAhead, "lifecycle_tables", spy_tables)
    monkeypatch.setattr(RunAhead, "cohorts", spy_cohorts)
    monkeypatch.setattr(clvlab.value.cohorts, "_days_as_rows", spy_days)
    with _workspace(tmp_path / "ahead.duckdb") as ws:
        run = clvlab.run_pipeline(ws)  # as of the last purchase day: the guess ahead holds
        ahead = _tables(ws)
    # computed ahead, not again in order; cohorts and economics read the purchase days held ahead
    # (the cohorts while the CLV part fits, the economics once the scores are stored)
    assert used == ["economics from the held days", "stages and health ahead", "churn ahead", "cohorts ahead",
                    "economics from the held days"]
    assert set(ahead["economics"]["model_clv"].notna()) == {True}  # read after the scores were written
    monkeypatch.setattr(clvlab.run_ahead, "_second_connection", lambda ws: None)  # every step in order
    with _workspace(tmp_path / "in_order.duckdb") as ws:
        in_order_run = clvlab.run_pipeline(ws)  # as of the last purchase day: the guess ahead holds
        in_order = _tables(ws)
    assert run.churn["customers"] == in_order_run.churn["customers"] > 1000
    for name in TABLES:
        # the engine sums floats in parallel, in no fixed order: equal to the last bits but a few
        pd.testing.assert_frame_equal(ahead[name], in_order[name], check_exact=False, rtol=1e-9, obj=name)


def test_work_ahead_on_another_date_is_dropped(tmp_path: Path) -> None:
    """Without observation_end the run guesses its date (the last purchase day); a guess the CLV
    part proves wrong is dropped and the step computes again."""
    with _workspace(tmp_path / "ws.duckdb") as ws:
        ahead = RunAhead(ws, observation_end="2025-06-30")
        try:
            with ahead.running():
                assert ahead.churn_scores("2025-06-30") is not None
                assert ahead.churn_scores("2025-12-31") is None
        finally:
            ahead.close()


def test_a_failed_run_leaves_no_work_running(tmp_path: Path) -> None:
    with _workspace(tmp_path / "ws.duckdb") as ws:
        with pytest.raises(ClvlabError):  # the CLV part refuses a date before the data
            clvlab.run_pipeline(ws, observation_end="2023-01-31")
        assert not [t for t in threading.enumerate() if t.name.startswith("clvlab-")]
        assert not {"cohorts", "economics"} & set(ws.tables())


@pytest.mark.parametrize("at", ["fitting BetaGeo", "scoring customers"])
def test_an_interrupted_run_stops_its_work_ahead(tmp_path: Path, at: str) -> None:
    """Ctrl-C while the CLV part fits (the work ahead still running), or while it scores (the
    stages and health computed or stored ahead): the run raises at once and no job ahead goes on
    (an unfinished one is interrupted, writes not begun are dropped)."""

    def interrupt(message: str, done: int, total: int) -> None:
        if message.startswith(at):
            raise KeyboardInterrupt

    with _workspace(tmp_path / "ws.duckdb") as ws:
        with pytest.raises(KeyboardInterrupt):
            clvlab.run_pipeline(ws, on_progress=interrupt)
        assert not [t for t in threading.enumerate() if t.name.startswith("clvlab-")]
        assert not {"scores", "economics", "churn"} & set(ws.tables())
        if at.startswith("fitting"):
            assert "stages" not in ws.tables()


def _threads(ws: clvlab.Workspace) -> int:
    return int(ws.con.con.execute("SELECT current_setting('threads')").fetchone()[0])


@pytest.mark.parametrize("threads", [3, 1])
def test_the_pool_is_one_thread_short_while_both_parts_query(tmp_path: Path, threads: int) -> None:
    """While the CLV part and the work ahead both run queries, each on its own calling thread,
    DuckDB's pool has one thread fewer (never none); the setting is back once the CLV part has
    ended, and after an interrupted run."""
    seen: dict[str, int] = {}

    def spy(message: str, done: int, total: int) -> None:
        if message.startswith(("fitting BetaGeo", "writing the scores table")):
            seen[message.split(" on ")[0]] = _threads(ws)

    def interrupt(message: str, done: int, total: int) -> None:
        if message.startswith("fitting BetaGeo"):
            raise KeyboardInterrupt

    with _workspace(tmp_path / "ws.duckdb") as ws:
        ws.con.con.execute(f"SET threads = {threads}")
        clvlab.run_pipeline(ws, on_progress=spy)
        assert seen == {"fitting BetaGeo": max(1, threads - 1), "writing the scores table": threads}
        assert _threads(ws) == threads
        with pytest.raises(KeyboardInterrupt):
            clvlab.run_pipeline(ws, on_progress=interrupt)
        assert _threads(ws) == threads


def test_the_churn_features_ahead_take_the_clv_parts_rfm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The weekly RFM of the run's date is summarised once, by the CLV part: the churn features
    computed ahead take it instead of summarising the purchase days again (their earlier dates
    they summarise themselves)."""
    import clvlab.features.rfm

    summarised: list[Any] = []
    rfm_summary = clvlab.features.rfm.rfm_summary

    def spy(source: Any, **kwargs: Any) -> Any:
        summarised.append(kwargs.get("observation_end"))
        return rfm_summary(source, **kwargs)

    monkeypatch.setattr(clvlab.features.rfm, "rfm_summary", spy)
    with _workspace(tmp_path / "ws.duckdb") as ws:
        run = clvlab.run_pipeline(ws)
    as_of = pd.Timestamp(run.clv.settings["observation_end"]).date()
    dates = [None if d is None else pd.Timestamp(d).date() for d in summarised]
    assert dates.count(None) == 1  # the CLV part's, as of the last purchase day
    assert as_of not in dates  # not again for the churn features of that day
    assert len([d for d in dates if d is not None and d < as_of]) == 3  # the three training snapshots
