"""Drivers of NPS (LMG / Shapley R^2, NPS gaps) and value by NPS class, with known answers."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

import clvlab
from clvlab.cli import _common
from clvlab.cli.voc_cmds import voc_drivers, voc_metrics
from clvlab.errors import DataValidationError, ParameterError
from clvlab.voc.drivers import lmg, nps_drivers


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    if x.shape[1] == 0:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(1 - resid @ resid / ((y - y.mean()) @ (y - y.mean())))


def test_lmg_orthogonal_drivers_get_their_squared_correlations() -> None:
    """Uncorrelated drivers (Lindeman, Merenda & Gold 1980): importance = r^2, here 9/14 and 1/14
    of the variance (y = 3 q1 + q2 + e, |q1| = |q2| = 1, |e|^2 = 4, all orthogonal)."""
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(200, 3))
    q = np.linalg.qr(raw - raw.mean(axis=0))[0]
    y = 3 * q[:, 0] + q[:, 1] + 2 * q[:, 2]
    imp, r2 = lmg(q[:, :2], y)
    assert imp == pytest.approx([9 / 14, 1 / 14])
    assert r2 == pytest.approx(10 / 14)


def test_lmg_equals_the_average_over_all_orderings_and_sums_to_r2() -> None:
    """Correlated drivers: LMG = mean over the 4! entry orders of each driver's R^2 increment
    (Grömping 2007, eq. 3); the shares sum to the full R^2 and ignore the listing order."""
    rng = np.random.default_rng(11)
    z = rng.normal(size=(500, 4))
    x = z @ np.array([[1, 0.6, 0.3, 0], [0, 1, 0.5, 0], [0, 0, 1, 0.2], [0, 0, 0, 1.0]])
    y = x @ np.array([1.0, 0.5, 0.0, -0.7]) + rng.normal(scale=2, size=500)
    imp, r2 = lmg(x, y)
    brute = np.zeros(4)
    orders = list(itertools.permutations(range(4)))
    for order in orders:
        for k, j in enumerate(order):
            brute[j] += _r2(x[:, list(order[: k + 1])], y) - _r2(x[:, list(order[:k])], y)
    assert imp == pytest.approx(brute / len(orders), abs=1e-12)
    assert imp.sum() == pytest.approx(r2)
    assert r2 == pytest.approx(_r2(x, y))
    imp_rev, _ = lmg(x[:, ::-1], y)
    assert imp_rev[::-1] == pytest.approx(imp)


def _responses(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tp = rng.choice(["web", "app", "store"], n)
    themes = [list(rng.choice(["delivery", "price", "staff"], rng.integers(0, 3), replace=False)) for _ in range(n)]
    late = np.array(["delivery" in t for t in themes])
    score = np.clip(np.round(7 + 1.5 * (tp == "app") - 2.5 * late + rng.normal(0, 1.5, n)), 0, 10)
    return pd.DataFrame({"score": score, "touchpoint": tp, "themes": themes, "metric": "nps",
                         "channel": rng.choice(["sms", "email"], n)})


def test_nps_drivers_rank_the_real_drivers_and_report_gaps() -> None:
    """Delivery complaints and the app touchpoint drive the score; price, staff and channel do not.
    Importances sum to R^2; each gap is NPS with the level minus NPS without it."""
    frame = _responses()
    out = clvlab.nps_drivers(frame, drivers=["touchpoint", "themes", "channel"])
    first = out.drop_duplicates("driver")["driver"].tolist()
    assert first[:2] == ["themes:delivery", "touchpoint"]
    assert sum(out.attrs["importance"].values()) == pytest.approx(out.attrs["r2"])
    assert out.drop_duplicates("driver")["importance_pct"].sum() == pytest.approx(100.0)
    app = out[(out.driver == "touchpoint") & (out.level == "app")].iloc[0]
    inside, rest = frame[frame.touchpoint == "app"], frame[frame.touchpoint != "app"]
    assert app["n"] == len(inside)
    assert app["gap"] == pytest.approx(clvlab.nps(inside.score).value - clvlab.nps(rest.score).value)
    assert app["gap_lower"] < app["gap"] < app["gap_upper"]
    assert app["p_value"] < 1e-6
    price = out[out.driver == "themes:price"].iloc[0]
    assert price["importance_pct"] < 1
    assert price["p_value"] > 0.001


def test_themes_as_comma_separated_strings_equal_lists() -> None:
    """analyze_text may give 'delivery, price' strings or lists: same result; target='net' works."""
    frame = _responses(800)
    as_text = frame.assign(themes=frame["themes"].map(", ".join))
    a = clvlab.nps_drivers(frame, drivers="themes", target="net")
    b = clvlab.nps_drivers(as_text, drivers="themes", target="net")
    pd.testing.assert_frame_equal(a, b)


def test_drivers_errors_are_located() -> None:
    """A missing column names it; too many drivers for the exact method says how to fix it."""
    with pytest.raises(DataValidationError, match=r"\['store_id'\] not in the frame"):
        clvlab.nps_drivers(_responses(50), drivers=["store_id"])
    wide = pd.DataFrame({"score": np.arange(40) % 11, **{f"d{i}": np.arange(40) % (i + 2) * 1.0 for i in range(13)}})
    with pytest.raises(ParameterError, match=r"13 drivers; .*max_exact=12"):
        clvlab.nps_drivers(wide, drivers=[f"d{i}" for i in range(13)])


def test_value_by_nps_class_known_answers() -> None:
    """Latest answer per customer decides the class (a: 2 then 10 -> promoter); t intervals on
    the class means and Welch's interval for promoter minus detractor (as scipy computes them)."""
    fb = pd.DataFrame({
        "response_id": [str(i) for i in range(8)],
        "customer_id": ["a", "a", "b", "c", "d", "e", "f", "zz"],
        "responded_at": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-02", "2024-01-03",
                                        "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]),
        "score": [2, 10, 9, 3, 5, 8, 0, 10], "metric": "nps",
    })
    scores = pd.DataFrame({"customer_id": list("abcdef"), "clv": [120.0, 80.0, 10.0, 30.0, 55.0, 20.0],
                           "p_alive": [0.9, 0.7, 0.2, 0.4, 0.6, 0.3]}).set_index("customer_id")
    out = clvlab.value_by_nps_class(fb, scores)
    assert out.loc["promoter", "n"] == 2
    assert out.loc["detractor", "n"] == 3
    assert out.loc["passive", "n"] == 1
    assert out.loc["promoter", "clv"] == pytest.approx(100.0)
    lo, hi = stats.t.interval(0.95, 1, loc=100.0, scale=stats.sem([120.0, 80.0]))
    assert (out.loc["promoter", "clv_lower"], out.loc["promoter", "clv_upper"]) == pytest.approx((lo, hi))
    assert out.loc["detractor", "p_alive"] == pytest.approx(0.3)
    welch = stats.ttest_ind([120.0, 80.0], [10.0, 30.0, 20.0], equal_var=False).confidence_interval(0.95)
    diff = out.loc["promoter - detractor"]
    assert diff["clv"] == pytest.approx(80.0)
    assert (diff["clv_lower"], diff["clv_upper"]) == pytest.approx((welch.low, welch.high))
    assert out.attrs["unmatched"] == 1
    assert out.loc["promoter", "small_sample"]


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("metrics")(voc_metrics)
    app.command("drivers")(voc_drivers)
    return app


def test_cli_metrics_and_drivers_on_a_workspace(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`voc metrics --by store --by month` (table and --json), `voc drivers`; an unknown --by exits 2."""
    path = tmp_path / "shop.duckdb"  # type: ignore[operator]
    frame = _responses(300).drop(columns="themes").assign(
        response_id=[str(i) for i in range(300)], store_id=["s1", "s2", "s3"] * 100,
        responded_at=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(300) % 60, unit="D"))
    with clvlab.connect(path) as ws:
        ws.con.create_table("feedback", frame)
    runner = CliRunner()
    res = runner.invoke(_app(), ["metrics", "--by", "store", "--by", "month", "--workspace", str(path), "--min-n", "60"])
    assert res.exit_code == 0, res.output
    assert "NPS with 95% intervals" in res.output
    assert "s3" in res.output
    assert "group(s) with n < 60" in res.output
    monkeypatch.setattr(_common.state, "json", True)
    res = runner.invoke(_app(), ["metrics", "--by", "store", "--workspace", str(path)])
    rows = json.loads(res.stdout)
    assert [r["store_id"] for r in rows] == ["s1", "s2", "s3"]
    assert rows[0]["n"] == 100
    res = runner.invoke(_app(), ["drivers", "--driver", "touchpoint", "--driver", "channel", "--workspace", str(path)])
    doc = json.loads(res.stdout)
    assert doc["drivers"][0]["driver"] == "touchpoint"
    assert 0 < doc["r2"] < 1
    monkeypatch.setattr(_common.state, "json", False)
    res = runner.invoke(_app(), ["metrics", "--by", "region", "--workspace", str(path)])
    assert res.exit_code == 2
    assert "unknown dimension 'region'; valid dimensions:" in res.output
    assert "touchpoint" in res.output


def test_topic_drivers_from_a_workspace_use_the_comments_themes(tmp_path: Path) -> None:
    """From a workspace, the 'themes' driver is each comment's curated themes: waiting hurts NPS here."""
    rng = np.random.default_rng(7)
    n = 240
    waiting = rng.random(n) < 0.3
    comments = np.where(waiting, "排队等了很久，太慢了", "The staff were friendly and helpful")
    scores = np.where(waiting, rng.integers(0, 6, n), rng.integers(7, 11, n))
    frame = pd.DataFrame({
        "response_id": [str(i) for i in range(n)], "metric": "nps", "score": scores.astype(float),
        "comment": comments, "touchpoint": rng.choice(["app", "store"], n),
        "responded_at": pd.Timestamp("2024-03-01"),
    })
    with clvlab.connect(tmp_path / "w.duckdb") as ws:
        ws.con.create_table("feedback", frame)
        result = nps_drivers(ws, drivers=["touchpoint", "themes"])
    top = result.iloc[0]
    assert top["driver"] == "themes:waiting"
    assert top["n"] == int(waiting.sum())
    assert top["gap_upper"] < 0


def test_discovered_themes_merged_into_named_ones_count_in_drivers() -> None:
    """Issue 7 A11: delivery complaints that discovery put in an 'auto:' theme count as delivery.

    The shape of the report: most late deliveries sit in a discovered theme; unmerged, the
    curated 'delivery' driver holds a fraction of them and ranks low; merged, it is the first driver.
    """
    rng = np.random.default_rng(11)
    n = 3000
    late = rng.random(n) < 0.35
    curated = late & (rng.random(n) < 0.25)
    themes = [["delivery"] if c else ["auto:driver/door/rain"] if lt else [] for lt, c in zip(late, curated, strict=True)]
    themes = [t + (["price"] if rng.random() < 0.3 else []) for t in themes]
    score = np.clip(np.round(8 - 3.0 * late + rng.normal(0, 1.5, n)), 0, 10)
    frame = pd.DataFrame({"score": score, "themes": themes})
    before = clvlab.nps_drivers(frame, drivers="themes")
    after = clvlab.nps_drivers(frame, drivers="themes", theme_merge={"auto:driver/door/rain": "delivery"})
    row_b = before[before.level == "delivery"].iloc[0]
    row_a = after[after.level == "delivery"].iloc[0]
    assert row_b["n"] == curated.sum()
    assert row_a["n"] == late.sum()
    assert "auto:driver/door/rain" not in set(after.level)
    assert after.iloc[0]["level"] == "delivery"
    assert row_a["importance_pct"] > 95 > row_b["importance_pct"]
    with pytest.raises(clvlab.DataValidationError, match="comment"):
        clvlab.nps_drivers(frame, drivers="themes", theme_merge="auto")
