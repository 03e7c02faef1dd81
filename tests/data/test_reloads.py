"""Keys that survive re-exports (issue 7, A17): a changed row under a stored key is updated and
reported, never silently kept or doubled."""

from __future__ import annotations

from pathlib import Path

import clvlab

HEAD = "order_id,customer_id,ordered_at,product_id,amount\n"


def _total(ws: clvlab.Workspace, order: str | None = None) -> float:
    where = f"WHERE order_id = '{order}'" if order else ""
    return float(ws.con.con.execute(
        f"SELECT coalesce(sum(amount), 0) FROM transactions {where}").fetchone()[0])


def test_corrected_amount_updates_the_order(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(HEAD + "1,A,2024-01-01,X,10\n2,B,2024-01-02,X,20\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f)
        f.write_text(HEAD + "1,A,2024-01-01,X,12\n2,B,2024-01-02,X,20\n")
        r = ws.load_transactions(f)
        assert (r.inserted, r.updated, r.already_present) == (0, 1, 1)
        assert "updated" in str(r)
        assert _total(ws, "1") == 12.0
        assert ws.load_transactions(f).updated == 0


def test_order_lines_without_line_column_gaining_a_line(tmp_path: Path) -> None:
    """Order 7 is A $10 + B $25 = $35; the re-export holds A $10, C $15, B $25 = $50: stored
    as exactly those three lines, none dropped, none doubled."""
    f = tmp_path / "lines.csv"
    f.write_text(HEAD + "7,A,2024-01-01,A,10\n7,A,2024-01-01,B,25\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f)
        assert _total(ws, "7") == 35.0
        f.write_text(HEAD + "7,A,2024-01-01,A,10\n7,A,2024-01-01,C,15\n7,A,2024-01-01,B,25\n")
        r = ws.load_transactions(f)
        assert (r.inserted, r.updated) == (1, 1)
        assert _total(ws, "7") == 50.0
        products = sorted(ws.table("transactions").product_id.execute())
        assert products == ["A", "B", "C"]


def test_line_corrected_into_a_refund_is_flagged(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(HEAD + "1,A,2024-01-01,X,10\n2,A,2024-01-02,X,10\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(f)
        f.write_text(HEAD + "1,A,2024-01-01,X,10\n2,A,2024-01-02,X,-10\n")
        r = ws.load_transactions(f)
        assert (r.updated, r.refunds_netted) == (1, 1)
        rows = ws.con.con.execute(
            "SELECT order_id, is_refund, refund_of FROM transactions ORDER BY 1").fetchall()
        assert rows == [("1", False, None), ("2", True, "o:1")]  # same customer and product


def test_survey_answer_resent_with_a_new_score(tmp_path: Path) -> None:
    f = tmp_path / "fb.csv"
    f.write_text("response_id,responded_at,metric,score\nR1,2024-01-01,nps,6\n"
                 "R2,2024-01-01,nps,10\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_feedback(f)
        f.write_text("response_id,responded_at,metric,score\nR1,2024-01-01,nps,9\n"
                     "R2,2024-01-01,nps,10\n")
        r = ws.load_feedback(f)
        assert (r.inserted, r.updated, r.already_present) == (0, 1, 1)
        scores = dict(ws.con.con.execute("SELECT response_id, score FROM feedback").fetchall())
        assert scores == {"R1": 9.0, "R2": 10.0}


def test_merge_duplicates_then_plain_and_back_never_doubles(tmp_path: Path) -> None:
    """Two identical $5 lines plus a $7 one: $17 whichever way the file is loaded, in any order."""
    for body in ("customer_id,ordered_at,amount\nA,2024-01-01,5\nA,2024-01-01,5\n"
                 "B,2024-01-02,7\n",
                 "order_id,customer_id,ordered_at,amount\n1,A,2024-01-01,5\n1,A,2024-01-01,5\n"
                 "2,B,2024-01-02,7\n"):
        f = tmp_path / "dups.csv"
        f.write_text(body)
        for first, second in ((True, False), (False, True)):
            with clvlab.connect(":memory:") as ws:
                ws.load_transactions(f, merge_duplicates=first)
                assert _total(ws) == 17.0
                ws.load_transactions(f, merge_duplicates=second)
                assert _total(ws) == 17.0, (body, first)
                ws.load_transactions(f, merge_duplicates=first)
                assert _total(ws) == 17.0, (body, first)
