"""load_feedback: the demo file, located rejects, masking before storage, Chinese headers,
wide files with one column per metric, configurable scales, idempotence."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import clvlab
import clvlab.datasets as ds

HEADER = "response_id,responded_at,metric,score,customer_id,comment\n"
GOOD = "R1,2024-03-01 10:00,NPS,10,00001,great\nR2,2024-03-02,csat,4,00002,\n"


def _count(ws: clvlab.Workspace) -> int:
    return int(ws.table("feedback").count().execute())


def test_demo_feedback_loads_masked_and_reload_is_noop(tmp_path: Path) -> None:
    """The shipped demo: 6,000 responses all valid; the fake phone/e-mail/ID/card in its
    comments are masked in the stored table; loading it again inserts nothing."""
    raw = ds.load_demo_feedback()
    assert len(raw) == 6000
    assert raw["comment"].str.contains("138-0013-8000").sum() == 1
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_feedback(ds.path("demo_feedback"))
        assert (r.rows_read, r.inserted, r.n_rejected) == (6000, 6000, 0)
        df = ws.table("feedback").execute()
        assert df.metric.value_counts().to_dict() == raw.metric.value_counts().to_dict()
        assert df.score.between(0, 10).all()
        comments = df.comment.dropna()
        assert len(comments) == (raw.comment != "").sum()
        for secret in ("138-0013-8000", "jane.doe@example.com", "11010519491231002X",
                       "4111 1111 1111 1111", "wang.fang@example.cn"):
            assert not comments.str.contains(secret, regex=False).any(), secret
        for token in ("[PHONE]", "[EMAIL]", "[ID]", "[CARD]"):
            assert comments.str.contains(token, regex=False).any(), token
        assert df.customer_id.isna().sum() == (raw.customer_id == "").sum()
        again = ws.load_feedback(ds.path("demo_feedback"))
        assert (again.inserted, again.already_present) == (0, 6000)
        assert _count(ws) == 6000


def test_demo_owners_cover_every_store() -> None:
    """demo_owners: 12 stores S01..S12, 10 owners, two of them with two stores, no webhook."""
    owners = ds.load_demo_owners()
    assert sorted(owners.store_id) == [f"S{i:02d}" for i in range(1, 13)]
    assert owners.owner_id.nunique() == 10
    assert (owners.owner_id.value_counts() == 2).sum() == 2
    assert (owners.webhook == "").all()


@pytest.mark.parametrize(("row", "expected"), [
    ("R9,2024-03-03,nps,11,00003,", "row 1, column 'score', value '11': outside the nps scale 0-10"),
    ("R9,2024-03-03,stars,4,00003,", "row 1, column 'metric', value 'stars': unknown metric "
     "(known: nps, csat, ces)"),
    ("R9,2024-13-45,nps,9,00003,", "row 1, column 'responded_at', value '2024-13-45': not a date"),
    (",2024-03-03,nps,9,00003,", "row 1, column 'response_id': missing response_id"),
    ("R9,2024-03-03,nps,8.5,00003,", "row 1, column 'score', value '8.5': not a whole number "
     "on the nps scale"),
    ("R9,2024-03-03,ces,0,00003,", "row 1, column 'score', value '0': outside the ces scale 1-7"),
])
def test_broken_file_gives_located_error_and_changes_nothing(tmp_path: Path, row: str,
                                                             expected: str) -> None:
    """A file with no valid row raises a located DataValidationError; stored rows stay."""
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(HEADER + GOOD)
    bad.write_text(HEADER + row + "\n")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        ws.load_feedback(good)
        with pytest.raises(clvlab.DataValidationError) as exc:
            ws.load_feedback(bad)
        assert expected in str(exc.value)
        assert _count(ws) == 2


def test_rejects_file_located_and_masked(tmp_path: Path) -> None:
    """Good rows load; each bad row is in the rejects file with its row, source column and
    reason, and its comment masked; a repeated id with other content is rejected, an identical
    repeat is stored once."""
    f = tmp_path / "fb.csv"
    f.write_text(
        HEADER + GOOD
        + "R3,2024-03-02,nps,11,00003,call 13800138000 now\n"  # row 3
        + "R1,2024-03-01 10:00,NPS,10,00001,great\n"           # row 4: identical to row 1
        + "R2,2024-03-02,csat,5,00002,\n"                      # row 5: R2 with other score
        + "R4,2024-03-05,费力度,2,00004,mail me: x.y@example.com\n"  # row 6: ok
    )
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_feedback(f)
        assert (r.rows_read, r.inserted, r.n_rejected, r.duplicates) == (6, 3, 2, 1)
        assert r.rejected == {
            "score: outside the nps scale 0-10": 1,
            "response_id: duplicate response_id with different content (first in row 2)": 1,
        }
        assert r.rejects_path is not None
        assert Path(r.rejects_path).parent == tmp_path / "w.rejects"
        assert Path(r.rejects_path).name.startswith("fb.feedback-")
        with open(r.rejects_path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [(x["row"], x["column"], x["score"]) for x in rows] == [("3", "score", "11"),
                                                                       ("5", "response_id", "5")]
        assert rows[0]["comment"] == "call [PHONE] now"
        df = ws.table("feedback").order_by("response_id").execute()
        assert df.response_id.tolist() == ["R1", "R2", "R4"]
        assert df.metric.tolist() == ["nps", "csat", "ces"]
        assert df.comment.tolist()[2] == "mail me: [EMAIL]"
        assert ws.load_feedback(f).inserted == 0


def test_chinese_headers_with_mapping(tmp_path: Path) -> None:
    """Chinese column names map with --map style pairs; Chinese metric names fold (推荐 -> nps);
    BOM, full-width digits and spaces are cleaned in comments."""
    f = tmp_path / "问卷.csv"
    f.write_bytes(
        "\ufeff编号,提交日期,类别,推荐分,会员,评论\n"
        "A1,2024/05/01,推荐,9,00007,\ufeff物流很快\u3000好评！电话：１３９１２３４５６７８\n"
        "A2,2024/05/02,满意度,2,00008,\"客服  态度差\"\n".encode()
    )
    with clvlab.connect(":memory:") as ws:
        r = ws.load_feedback(f, {"response_id": "编号", "responded_at": "提交日期",
                                 "metric": "类别", "score": "推荐分", "customer_id": "会员",
                                 "comment": "评论"})
        assert r.inserted == 2
        df = ws.table("feedback").order_by("response_id").execute()
        assert str(df.responded_at[1]) == "2024-05-02 00:00:00"
        assert df.metric.tolist() == ["nps", "csat"]
        assert df.comment.tolist() == ["物流很快 好评！电话：[PHONE]", "客服 态度差"]


def test_wide_file_one_column_per_metric(tmp_path: Path) -> None:
    """{'score:nps': '推荐分', 'score:csat': '满意度'} makes one row per answered metric with
    ids R1:nps, R1:csat; a row with no score at all is rejected, not lost; a bad value is
    located in its own wide column."""
    f = tmp_path / "wide.csv"
    f.write_text("id,日期,推荐分,满意度,评论\nR1,2024-01-02,10,5,好\nR2,2024-01-03,,3,\n"
                 "R3,2024-01-03,,,空\nR4,2024-01-04,6,9,差\n")
    with clvlab.connect(":memory:") as ws:
        r = ws.load_feedback(f, {"score:nps": "推荐分", "score:满意度": "满意度",
                                 "responded_at": "日期"})
        assert r.mapping["score:nps"] == "推荐分"
        assert r.mapping["score:csat"] == "满意度"
        assert r.rejected == {"推荐分: missing score": 1, "满意度: outside the csat scale 1-5": 1}
        df = ws.table("feedback").order_by("response_id").execute()
        assert list(zip(df.response_id, df.metric, df.score, strict=True)) == [
            ("R1:csat", "csat", 5.0), ("R1:nps", "nps", 10.0), ("R2:csat", "csat", 3.0),
            ("R4:nps", "nps", 6.0)]
        assert ws.load_feedback(f, {"score:nps": "推荐分", "score:csat": "满意度",
                                    "responded_at": "日期"}).inserted == 0


def test_scales_option_adds_metrics_and_changes_ranges(tmp_path: Path) -> None:
    """scales={'csat': [0, 10], 'stars': [1, 5]}: csat 8 and stars 4 load, csat 11 does not."""
    f = tmp_path / "s.csv"
    f.write_text(HEADER + "R1,2024-01-01,csat,8,,\nR2,2024-01-01,STARS,4,,\n"
                 "R3,2024-01-01,csat,11,,\n")
    with clvlab.connect(":memory:") as ws:
        r = ws.load_feedback(f, scales={"csat": [0, 10], "stars": [1, 5]})
        assert (r.inserted, r.rejected) == (2, {"score: outside the csat scale 0-10": 1})
        with pytest.raises(clvlab.ParameterError, match="low <= high"):
            ws.load_feedback(f, scales={"csat": [5, 1]})


def test_missing_metric_column_suggests_wide_mapping(tmp_path: Path) -> None:
    """A file with only a score column says how to name its metric."""
    f = tmp_path / "m.csv"
    f.write_text("response_id,responded_at,推荐分\nR1,2024-01-01,9\n")
    with clvlab.connect(":memory:") as ws, pytest.raises(clvlab.DataValidationError) as exc:
        ws.load_feedback(f, {"score": "推荐分"})
    assert "mapping={'score:<metric>': '<column>'}" in str(exc.value)


def test_wide_rejects_show_the_response_id_as_written(tmp_path: Path) -> None:
    """Issue 7, A12: the rejects file shows 'R100007' (the source value), not 'R100007:nps'."""
    import csv

    f = tmp_path / "wide.csv"
    f.write_text("id,日期,推荐分,满意度\nR100007,2024-01-02,11,5\nR100008,2024-01-03,9,4\n")
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        r = ws.load_feedback(f, {"score:nps": "推荐分", "score:csat": "满意度",
                                 "responded_at": "日期"})
        assert r.rejected == {"推荐分: outside the nps scale 0-10": 1}
        assert r.mapping["response_id"] == "id"
        assert r.rejects_path is not None
        with open(r.rejects_path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [(x["row"], x["column"], x["id"], x["推荐分"]) for x in rows] == [
            ("1", "推荐分", "R100007", "11")]
        ids = sorted(ws.table("feedback").response_id.execute())
        assert ids == ["R100007:csat", "R100008:csat", "R100008:nps"]


def test_duplicate_count_leaves_out_rejected_rows(tmp_path: Path) -> None:
    """Issue 7, A12: two identical rows that are both rejected are not reported as duplicates."""
    f = tmp_path / "o.csv"
    f.write_text("customer_id,ordered_at,amount\nA,2024-01-01,ten\nA,2024-01-01,ten\n"
                 "B,2024-01-02,5\nB,2024-01-02,5\n")
    with clvlab.connect(":memory:") as ws:
        r = ws.load_transactions(f)
        assert (r.duplicates, r.n_rejected, r.inserted) == (1, 2, 2)
