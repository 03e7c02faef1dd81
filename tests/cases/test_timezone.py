"""The workspace keeps one business time zone; the cases service reads its naive times in it."""

from __future__ import annotations

from pathlib import Path

import pytest

import clvlab
from clvlab.cases.alerts import run_alerts
from clvlab.cases.rules import load_alert_config
from clvlab.cases.service import CaseService
from clvlab.store import open_app_store

SURVEY = (
    "答卷编号,提交时间,推荐分,评论,门店\n"
    "Q1001,2024-03-05 09:00:00,2,送货太慢,S1\n"
    "Q1002,2024-03-05 23:30:00,9,很好,S1\n"
    "Q1003,2024-03-06 00:15:00,1,客服态度差,S2\n"
)
MAP = {"response_id": "答卷编号", "responded_at": "提交时间", "score:nps": "推荐分", "comment": "评论",
       "store_id": "门店"}


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    path = tmp_path / "问卷.csv"
    path.write_text(SURVEY, encoding="utf-8")
    return path


def test_shanghai_feedback_opens_cases_at_the_right_instant(survey: Path, tmp_path: Path) -> None:
    """09:00 in Asia/Shanghai is 01:00 UTC on the case (it was read as 09:00 UTC)."""
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_feedback(survey, MAP, timezone="Asia/Shanghai")
    with clvlab.connect(path, read_only=True) as ws, open_app_store(tmp_path / "app.sqlite") as store:
        assert ws.timezone == "Asia/Shanghai"
        run_alerts(ws, store, config=load_alert_config({"rules": [
            {"name": "nps_detractor", "metric": "nps", "max_score": 6}]}))
        cases = {c.response_id: c for c in CaseService(store).list_cases()}
    assert {k: c.responded_at and c.responded_at.isoformat() for k, c in cases.items()} == {
        "Q1001:nps": "2024-03-05T01:00:00+00:00", "Q1003:nps": "2024-03-05T16:15:00+00:00"}


def test_the_first_load_fixes_the_zone_and_a_different_one_is_refused(survey: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """CLVLAB_TIMEZONE is the default of the first load; later loads keep the stored zone."""
    monkeypatch.setenv("CLVLAB_TIMEZONE", "Asia/Shanghai")
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        assert ws.timezone == "Asia/Shanghai"
        ws.load_feedback(survey, MAP)
    monkeypatch.setenv("CLVLAB_TIMEZONE", "UTC")
    with clvlab.connect(path) as ws:
        assert ws.timezone == "Asia/Shanghai"  # what the stored times mean, whatever the environment says
        with pytest.raises(clvlab.ParameterError, match=r"keeps its times in Asia/Shanghai.*asks for timezone 'UTC'"):
            ws.load_feedback(survey, MAP, timezone="UTC")
        assert ws.load_feedback(survey, MAP).inserted == 0  # the same file again, in the stored zone
        assert "clvlab_meta" not in ws.tables()
