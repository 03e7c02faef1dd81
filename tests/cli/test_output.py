"""What the CLI prints: user text as written (never Rich markup), valid JSON, whole ids in tables,
counts as integers, one-line errors for paths that are not files, the README's examples as written."""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from clvlab.cli import app
from clvlab.cli._common import emit_json, fmt_number, json_text
from clvlab.datasets import path as dataset_path

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
LONG_ID = "STORE-0001-shenzhen-nanshan-district-coastal-city-mall-level-3-unit-42"


def _feedback(path: Path, stores: tuple[str, str], store_col: str = "shop") -> Path:
    rng = np.random.default_rng(7)
    rows = [f"response_id,customer_id,responded_at,metric,{store_col},score,comment"]
    for i in range(60):
        rows.append(f"R{i},C{i % 20},2024-0{1 + i % 3}-1{i % 9},nps,{stores[i % 2]},{rng.integers(0, 11)},"
                    f"\"[red]slow delivery[/b], parcel {i} arrived late\"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def markup_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A workspace loaded from a file whose folder, header, store ids and comments hold markup."""
    tmp = tmp_path_factory.mktemp("markup")
    src = _feedback(tmp / "[red]in[/b]" / "fb.csv", ("[red]S1", "S2[/b]"), store_col="shop [/b]")
    ws = tmp / "ws.duckdb"
    result = runner.invoke(app, ["load", "feedback", str(src), "-w", str(ws), "--map", "store_id=shop [/b]"])
    return ws, src, result.output


def test_markup_in_path_header_and_values_prints_as_written(markup_ws: tuple[Path, Path, str]) -> None:
    """`[/b]` and `[red]` in a folder name, a column name, store ids and comments: the load
    report, `voc metrics` and `voc text` print them as written (they crashed with MarkupError
    after the load had committed, or hid '[red]')."""
    ws, _, load_output = markup_ws
    assert "Traceback" not in load_output
    assert "store_id <- shop [/b]" in load_output
    metrics = runner.invoke(app, ["voc", "metrics", "-w", str(ws), "--by", "store"])
    assert metrics.exit_code == 0, metrics.output
    assert "[red]S1" in metrics.output
    assert "S2[/b]" in metrics.output
    text = runner.invoke(app, ["voc", "text", "-w", str(ws), "--by", "store"])
    assert text.exit_code == 0, text.output
    assert "[red]S1" in text.output
    assert "S2[/b]" in text.output


def test_markup_in_error_messages_prints_as_written(markup_ws: tuple[Path, Path, str]) -> None:
    """The error boundary prints a path or a name holding markup as written, in one line."""
    ws, src, _ = markup_ws
    missing = src.with_name("gone [red].csv")  # its folder holds the [/b]
    result = runner.invoke(app, ["load", "feedback", str(missing), "-w", str(ws)])
    assert result.exit_code == 1
    assert str(missing) in result.output
    assert "Traceback" not in result.output
    bad_dim = runner.invoke(app, ["voc", "metrics", "-w", str(ws), "--by", "[red]region[/b]"])
    assert bad_dim.exit_code == 2
    assert "unknown dimension '[red]region[/b]'" in bad_dim.output


def test_a_directory_as_input_is_a_one_line_error(tmp_path: Path) -> None:
    """A folder given where a file is expected: exit 1, one line naming it with a remedy (was an
    IsADirectoryError traceback); the same in --json, as valid JSON."""
    result = runner.invoke(app, ["load", "feedback", str(tmp_path), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = result.output.strip()
    assert "\n" not in line
    assert str(tmp_path) in line
    assert "is a directory, not a file" in line
    as_json = runner.invoke(app, ["--json", "load", "feedback", str(tmp_path), "-w", str(tmp_path / "w.duckdb")])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["status"] == 1


def test_voc_text_groups_by_store_and_month_like_voc_metrics(markup_ws: tuple[Path, Path, str]) -> None:
    """`voc text --by store` and `--by month` (refused before: not a feedback column) group the
    comments as `voc metrics` does: store ids, and the months of responded_at."""
    ws, _, _ = markup_ws
    by_month = runner.invoke(app, ["--json", "voc", "text", "-w", str(ws), "--by", "month"])
    assert by_month.exit_code == 0, by_month.output
    groups = json.loads(by_month.stdout)["groups"]
    labels = sorted(str(g.get("group")) for g in groups)
    assert labels == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert sum(g["n"] for g in groups) == 60


def test_tables_keep_long_ids_whole(tmp_path: Path) -> None:
    """A 70-character store id in a 5-column table written to a pipe prints whole on one line
    (Rich's 80-column fallback cut it)."""
    ws = tmp_path / "w.duckdb"
    src = _feedback(tmp_path / "fb.csv", (LONG_ID, "S2"))
    assert runner.invoke(app, ["load", "feedback", str(src), "-w", str(ws), "--map", "store_id=shop"]).exit_code == 0
    result = runner.invoke(app, ["voc", "metrics", "-w", str(ws), "--by", "store", "--by", "month"])
    assert result.exit_code == 0, result.output
    assert LONG_ID in result.output


def _holdout_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "cdnow.duckdb"
    load = runner.invoke(app, ["load", "transactions", str(dataset_path("cdnow_sample")), "-w", str(ws),
                               "--sep", "whitespace", "--date-format", "%Y%m%d", "--map", "customer_id=column0",
                               "--map", "ordered_at=column2", "--map", "quantity=column3",
                               "--map", "amount=column4"])
    assert load.exit_code == 0, load.output
    return ws


@pytest.mark.slow
def test_evaluate_prints_counts_as_integers_and_json_without_nan(tmp_path: Path) -> None:
    """`evaluate` on the CDNOW sample: n_customers prints as 2,357 (was 2,357.0000); with a
    one-day holdout the correlation is undefined and --json prints null (was NaN, not JSON)."""
    ws = _holdout_ws(tmp_path)
    table = runner.invoke(app, ["evaluate", "bgnbd", "-w", str(ws), "--calibration-end", "1997-09-30"])
    assert table.exit_code == 0, table.output
    assert re.search(r"n_customers\s+│\s+2,357 │", table.output)
    assert "2,357.0000" not in table.output
    result = runner.invoke(app, ["--json", "evaluate", "bgnbd", "-w", str(ws), "--calibration-end",
                                 "1997-09-30", "--observation-end", "1997-10-01"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))
    assert payload["holdout"]["correlation"] is None


def test_json_text_turns_every_non_finite_number_into_null(capsys: pytest.CaptureFixture[str]) -> None:
    """NaN, infinities (Python and NumPy), NumPy arrays, NaT and nested values: always valid JSON."""
    payload = {"a": math.nan, "b": [np.float64("inf"), -math.inf, np.nan], "c": np.array([1.0, np.nan]),
               "d": pd.NaT, "e": pd.Timestamp("2024-01-02"), "f": np.int64(3), "g": {"h": (np.float32("nan"),)}}
    emit_json(payload)
    parsed = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    assert parsed == {"a": None, "b": [None, None, None], "c": [1.0, None], "d": None,
                      "e": "2024-01-02T00:00:00", "f": 3, "g": {"h": [None]}}
    assert json_text(float("nan"), indent=None) == "null"


def test_fmt_number_counts_as_integers() -> None:
    """Counts print as 3,332 (ints, NumPy ints, integral floats when asked), other numbers as asked."""
    assert fmt_number(3332) == "3,332"
    assert fmt_number(np.int64(3332)) == "3,332"
    assert fmt_number(3332.0, whole=True) == "3,332"
    assert fmt_number(1610.34374) == "1,610.3437"
    assert fmt_number(float("nan")) == ""
    assert fmt_number(True) == "True"


def test_readme_feedback_load_runs_as_written(tmp_path: Path) -> None:
    """The README's `clvlab load feedback responses.csv ... --map ...=推荐分 --map comment=评论`, run
    as written on a file with those headers (it failed: no 'metric' column)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("$ clvlab load feedback responses.csv"))
    args = shlex.split(line.removeprefix("$ clvlab "))
    src = tmp_path / "responses.csv"
    src.write_text("response_id,customer_id,responded_at,推荐分,评论\nR1,C1,2024-01-02,9,很好\n"
                   "R2,C2,2024-01-03,3,物流太慢了\n", encoding="utf-8")
    args = [str(src) if a == "responses.csv" else str(tmp_path / a) if a == "shop.duckdb" else a for a in args]
    result = runner.invoke(app, ["--json", *args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 2
    nps = runner.invoke(app, ["--json", "voc", "metrics", "-w", str(tmp_path / "shop.duckdb"), "--by", "month"])
    assert nps.exit_code == 0, nps.output


@pytest.mark.slow
def test_score_with_bgnbd_explains_p_alive_of_one_time_buyers(tmp_path: Path) -> None:
    """CDNOW sample scored with BG/NBD: every customer without a repeat purchase has P(alive) 1,
    many in segment 'Lost'; `score` says why, with the count, and points to mbgnbd/pareto."""
    ws = _holdout_ws(tmp_path)
    rfm = tmp_path / "rfm.parquet"
    assert runner.invoke(app, ["rfm", "-w", str(ws), "--freq", "W", "-o", str(rfm)]).exit_code == 0
    assert runner.invoke(app, ["fit", "bgnbd", str(rfm), "-o", str(tmp_path / "bg.json")]).exit_code == 0
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(tmp_path / "bg.json"), str(rfm), "-o", str(out)])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    one_time = scores[scores["frequency"] == 0]
    assert (one_time["p_alive"] == 1).all()
    lost = int((one_time["segment"] == "Lost").sum())
    assert lost > 0
    expected = (f"P(alive) = 1 to every customer without a repeat purchase ({len(one_time):,} here, "
                f"{lost:,} of them in segment 'Lost')")
    assert expected in result.output
    assert "mbgnbd" in result.output


def test_voc_text_counts_a_comment_once_when_a_response_has_several_metrics(tmp_path: Path) -> None:
    """A wide survey file (NPS and CSAT columns) stores one row per metric, each with the comment:
    `voc text` analyses 2 comments, not 4."""
    src = tmp_path / "wide.csv"
    src.write_text("response_id,customer_id,responded_at,推荐分,满意度,评论\nR1,C1,2024-01-02,9,5,很好\n"
                   "R2,C2,2024-01-03,3,2,物流太慢了\n", encoding="utf-8")
    ws = str(tmp_path / "w.duckdb")
    load = runner.invoke(app, ["load", "feedback", str(src), "-w", ws, "--map", "score:nps=推荐分",
                               "--map", "score:csat=满意度", "--map", "comment=评论"])
    assert load.exit_code == 0, load.output
    result = runner.invoke(app, ["--json", "voc", "text", "-w", ws])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["comments"] == 2
