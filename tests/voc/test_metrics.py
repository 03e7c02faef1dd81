"""NPS / CSAT / CES intervals (worked examples, Rocks 2016 coverage), by dimension and as trends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import psycopg
import pytest
from scipy import stats

import clvlab
from clvlab.errors import DataValidationError, ParameterError
from clvlab.stats import nps_interval, wilson_interval


def _scores(p: int, pa: int, d: int) -> list[int]:
    return [10] * (p // 2) + [9] * (p - p // 2) + [8] * pa + [3] * d


def test_nps_worked_example_multinomial_variance() -> None:
    """50 promoters, 30 passives, 20 detractors: NPS 30, SE = sqrt((0.5+0.2-0.3^2)/100) = 0.0781,
    so the Wald interval is 30 +- 15.3 (Rocks 2016: the multinomial variance)."""
    r = clvlab.nps(_scores(50, 30, 20), method="wald")
    assert (r.n, r.promoters, r.passives, r.detractors) == (100, 50, 30, 20)
    assert r.value == pytest.approx(30.0)
    assert r.se == pytest.approx(100 * np.sqrt(0.61 / 100))
    assert r.upper - r.value == pytest.approx(15.31, abs=0.01)
    assert r.value - r.lower == pytest.approx(15.31, abs=0.01)
    assert r.shares == {"promoters": 50.0, "passives": 30.0, "detractors": 20.0}
    assert str(r).startswith("NPS +30.0 (95% CI +14.7 to +45.3), n=100")


def test_nps_adjusted_wald_adds_three_quarters_to_promoters_and_detractors() -> None:
    """Rocks (2016) adjusted Wald: (P + 3/4) / (n + 3) and (D + 3/4) / (n + 3), Wald formula on those."""
    r = clvlab.nps(_scores(50, 30, 20))
    pa, da = 50.75 / 103, 20.75 / 103
    half = 1.959964 * np.sqrt((pa + da - (pa - da) ** 2) / 103)
    assert r.value == pytest.approx(30.0)  # the point estimate is the plain NPS
    assert r.lower == pytest.approx(100 * (pa - da - half), abs=1e-4)
    assert r.upper == pytest.approx(100 * (pa - da + half), abs=1e-4)


def test_nps_all_promoters_keeps_a_real_interval() -> None:
    """Every answer a promoter: the Wald interval collapses to a point, the adjusted one does not."""
    wald = clvlab.nps([10] * 20, method="wald")
    adj = clvlab.nps([10] * 20)
    assert wald.lower == wald.upper == 100.0
    assert adj.upper == 100.0
    # (20.75 - 0.75) / 23 = 0.8696; SE = sqrt((21.5/23 - 0.8696^2) / 23) = 0.0881 -> 69.68
    assert adj.lower == pytest.approx(69.68, abs=0.01)


@pytest.mark.parametrize(("probs", "n"), [((0.5, 0.3, 0.2), 100), ((0.2, 0.3, 0.5), 100), ((0.7, 0.2, 0.1), 100)])
def test_nps_interval_coverage_by_simulation(probs: tuple[float, float, float], n: int) -> None:
    """Seeded simulation (20,000 trinomial samples of n = 100): the adjusted Wald 95% interval
    covers the true NPS 95% +- 1.5% of the time, as Rocks (2016) reports for the adjusted Wald."""
    rng = np.random.default_rng(20160127)
    counts = rng.multinomial(n, probs, size=20_000)
    _, lower, upper, _ = nps_interval(counts[:, 0], counts[:, 1], counts[:, 2])
    truth = 100 * (probs[0] - probs[2])
    coverage = float(np.mean((lower <= truth) & (truth <= upper)))
    assert coverage == pytest.approx(0.95, abs=0.015)


def test_wilson_interval_newcombe_example() -> None:
    """Newcombe (1998, Stat. Med. 17, Table I): 81/263 gives the Wilson interval 0.2553-0.3662."""
    lo, hi = wilson_interval(81, 263)
    assert float(lo) == pytest.approx(0.2553, abs=1e-4)
    assert float(hi) == pytest.approx(0.3662, abs=1e-4)


def test_csat_top2box_wilson_and_bounded_mean_interval() -> None:
    """CSAT: 7 of 10 answers are 4 or 5 (Wilson 39.7-89.2%); the mean's interval lies inside 1-5
    and is longer on the side away from the top of the scale."""
    x = [5, 4, 4, 3, 1, 5, 2, 4, 5, 5]
    r = clvlab.csat(x)
    assert r.value == r.share == 70.0
    assert (r.share_lower, r.share_upper) == pytest.approx((39.68, 89.22), abs=0.01)
    assert r.mean == pytest.approx(3.8)
    assert 1 <= r.mean_lower < r.mean < r.mean_upper <= 5
    assert r.mean_upper - r.mean < r.mean - r.mean_lower


def test_csat_interval_stays_inside_the_scale() -> None:
    """csat([5, 4, 2]): Student's t gives -0.13 to 7.46 on a 1-5 scale; ours stays in 1-5. All
    answers 5 or a single answer still give an interval, never a point or NaN."""
    r = clvlab.csat([5, 4, 2])
    lo, hi = stats.t.interval(0.95, 2, loc=11 / 3, scale=stats.sem([5, 4, 2]))
    assert lo < 1
    assert hi > 5
    assert 1 <= r.mean_lower < r.mean < r.mean_upper <= 5
    top = clvlab.csat([5] * 20)
    assert top.mean_upper == 5
    assert 4 < top.mean_lower < 5
    one = clvlab.csat([2])
    assert 1 <= one.mean_lower < 2 < one.mean_upper <= 5
    ces = clvlab.ces([1, 1, 2])
    assert 1 <= ces.mean_lower < ces.mean < ces.mean_upper <= 7


def test_ces_mean_and_top3_box() -> None:
    """CES 1-7: value is the mean; 'easy' is 5, 6 or 7."""
    r = clvlab.ces([7, 6, 5, 3, 2, 1])
    assert r.value == pytest.approx(4.0)
    assert r.share == pytest.approx(50.0)
    assert r.top_box == 5


def test_scores_out_of_scale_are_located() -> None:
    """A score of 11 or a word is rejected with its 1-based row and value."""
    with pytest.raises(DataValidationError, match=r"row 3, value 11.*row 4, value 'ten'"):
        clvlab.nps([10, 9, 11, "ten"])
    with pytest.raises(ParameterError, match="'level' parameter of nps"):
        clvlab.nps([10], level=95)


def _feedback(n: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    metric = np.where(np.arange(n) % 4 == 3, "csat", "nps")
    score = np.where(metric == "nps", rng.integers(0, 11, n), rng.integers(1, 6, n)).astype(float)
    return pd.DataFrame({
        "response_id": [f"r{i}" for i in range(n)],
        "responded_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 91, n), unit="D"),
        "metric": metric, "score": score,
        "customer_id": [f"c{i % 60:03d}" for i in range(n)],
        "store_id": rng.choice(["s1", "s2", "s3", "s9"], n, p=[0.4, 0.35, 0.2, 0.05]),
        "touchpoint": rng.choice(["delivery", "checkout"], n),
    })


@pytest.fixture
def workspace() -> Iterator[clvlab.Workspace]:
    """An in-memory DuckDB workspace with a feedback table and a scores table."""
    ws = clvlab.connect(":memory:")
    ws.con.create_table("feedback", _feedback())
    ws.con.create_table("scores", pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(50)], "segment": ["loyal"] * 25 + ["at risk"] * 25,
        "clv": np.arange(50.0), "p_alive": np.linspace(0, 1, 50)}))
    yield ws
    ws.close()


def test_feedback_metrics_by_store_and_month_equals_nps_on_each_group(workspace: clvlab.Workspace) -> None:
    """Engine-side counts per (store, month) give the same NPS and interval as nps() on the rows."""
    out = clvlab.feedback_metrics(workspace, by=("store", "month"), min_n=30)
    raw = _feedback()
    raw = raw[raw.metric == "nps"].assign(month=lambda f: f.responded_at.dt.to_period("M").dt.start_time)
    assert len(out) == raw.groupby(["store_id", "month"]).ngroups
    for row in out.itertuples():
        part = raw[(raw.store_id == row.store_id) & (raw.month == pd.Timestamp(row.month))]
        ref = clvlab.nps(part.score)
        assert (row.n, row.promoters, row.detractors) == (ref.n, ref.promoters, ref.detractors)
        assert (row.value, row.lower, row.upper) == pytest.approx((ref.value, ref.lower, ref.upper))
        assert row.small_sample == (ref.n < 30)
    assert out["small_sample"].any()
    assert not out["small_sample"].all()


def test_feedback_metrics_segment_from_scores_and_csat(workspace: clvlab.Workspace) -> None:
    """'segment' joins the scores table (customers without a score are '(unscored)'); CSAT by it."""
    out = clvlab.feedback_metrics(workspace, metric="csat", by="segment", min_n=0)
    assert list(out["segment"]) == ["(unscored)", "at risk", "loyal"]
    raw = _feedback()
    raw = raw[raw.metric == "csat"]
    assert out["n"].sum() == len(raw)
    unscored = raw[raw.customer_id.str[1:].astype(int) >= 50]
    ref = clvlab.csat(unscored.score)
    row = out.iloc[0]
    assert (row["n"], row["value"], row["mean"]) == (ref.n, pytest.approx(ref.share), pytest.approx(ref.mean))
    assert row["lower"] == pytest.approx(ref.share_lower)


def test_stage_comes_from_the_stages_table(workspace: clvlab.Workspace) -> None:
    """'stage' is read from the derived table 'stages': without it a located error says how to get
    it; with it, NPS by stage; a DataFrame of the user's own stages works too."""
    from clvlab.derived import write_derived

    with pytest.raises(DataValidationError, match=r"table 'stages'.*not available") as err:
        clvlab.feedback_metrics(workspace, by="stage")
    assert "clvlab demo" in (err.value.hint or "")
    ids = [f"c{i:03d}" for i in range(60)]
    stored = pd.DataFrame({"customer_id": ids[:30], "stage": ["growth"] * 10 + ["churned"] * 20, "n_purchases": 2})
    write_derived(workspace, "stages", stored, as_of="2024-06-30")
    out = clvlab.feedback_metrics(workspace, by="stage", min_n=0)
    assert sorted(out["stage"]) == ["(unscored)", "churned", "growth"]
    stages = pd.DataFrame({"customer_id": ids, "stage": ["new"] * 20 + ["mature"] * 40})
    out = clvlab.feedback_metrics(workspace, by="stage", scores=stages, min_n=0)
    assert sorted(out["stage"]) == ["mature", "new"]
    assert out["n"].sum() == (_feedback().metric == "nps").sum()


def test_unknown_dimension_lists_valid_ones(workspace: clvlab.Workspace) -> None:
    """An unknown --by names itself and the valid dimensions."""
    with pytest.raises(ParameterError, match=r"unknown dimension 'region'; valid dimensions: .*month.*store"):
        clvlab.feedback_metrics(workspace, by=("region",))


def test_feedback_metrics_on_postgres_equals_duckdb(pg_schema: str, workspace: clvlab.Workspace) -> None:
    """The same Ibis aggregation on a real PostgreSQL table gives DuckDB's numbers (by store, week)."""
    frame = _feedback()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(f"CREATE TABLE {pg_schema}.feedback (response_id VARCHAR, responded_at TIMESTAMP, "
                    "metric VARCHAR, score DOUBLE PRECISION, customer_id VARCHAR, store_id VARCHAR, "
                    "touchpoint VARCHAR)")
        with con.cursor().copy(f"COPY {pg_schema}.feedback FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row((row.response_id, row.responded_at.to_pydatetime(), row.metric, row.score,
                                row.customer_id, row.store_id, row.touchpoint))
    backend = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test", schema=pg_schema)
    try:
        pg = clvlab.feedback_metrics(backend.table("feedback"), by=("store", "week", "touchpoint"))
    finally:
        backend.disconnect()
    duck = clvlab.feedback_metrics(workspace, by=("store", "week", "touchpoint"))
    pg["week"], duck["week"] = pd.to_datetime(pg["week"]), pd.to_datetime(duck["week"])
    pd.testing.assert_frame_equal(pg, duck, check_dtype=False)
    assert set(pd.to_datetime(duck["week"]).dt.dayofweek) == {0}  # weeks start on Monday


def _series() -> pd.DataFrame:
    """Jan: NPS 0 (40/20/40); Feb: the same; Mar: NPS +60 (70/20/10); 100 answers a month."""
    rows = []
    for month, (p, pa, d) in (("2024-01-15", (40, 20, 40)), ("2024-02-15", (40, 20, 40)),
                              ("2024-03-15", (70, 20, 10))):
        for s in _scores(p, pa, d):
            rows.append({"responded_at": pd.Timestamp(month), "score": float(s), "metric": "nps"})
    return pd.DataFrame(rows)


def test_trend_significance_on_a_constructed_series() -> None:
    """No change Jan->Feb (p = 1); Jan->Mar +60 points with z = 60 / sqrt(se1^2 + se2^2) (Rocks 2016)."""
    out = clvlab.metric_trend(_series(), period="month")
    assert list(out["value"]) == pytest.approx([0.0, 0.0, 60.0])
    assert np.isnan(out.loc[0, "change"])
    assert not out.loc[0, "significant"]
    assert out.loc[1, "p_value"] == pytest.approx(1.0)
    assert not out.loc[1, "significant"]
    se1, se2 = 100 * np.sqrt(0.8 / 100), 100 * np.sqrt((0.8 - 0.36) / 100)
    z = 60 / np.hypot(se1, se2)
    assert out.loc[2, "change"] == pytest.approx(60.0)
    assert out.loc[2, "p_value"] == pytest.approx(2 * stats.norm.sf(z))
    assert out.loc[2, "significant"]
    assert out.loc[2, "change_lower"] == pytest.approx(60 - 1.959964 * np.hypot(se1, se2), abs=1e-4)


def test_csat_trend_uses_the_two_proportion_test() -> None:
    """CSAT top-2-box 50% -> 65% with n = 200 each: pooled two-proportion z test."""
    rows = [{"responded_at": pd.Timestamp("2024-01-03"), "score": 5.0 if i < 100 else 2.0} for i in range(200)]
    rows += [{"responded_at": pd.Timestamp("2024-01-10"), "score": 4.0 if i < 130 else 3.0} for i in range(200)]
    out = clvlab.metric_trend(pd.DataFrame(rows).assign(metric="csat"), metric="csat", period="week")
    pooled = 230 / 400
    z = 0.15 / np.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert out.loc[1, "p_value"] == pytest.approx(2 * stats.norm.sf(z))
    assert out.loc[1, "significant"]


def test_no_responses_of_the_metric_is_a_located_error(tmp_path: Path) -> None:
    """Asking for CES where there are only NPS answers says so."""
    with pytest.raises(DataValidationError, match="no ces responses"):
        clvlab.feedback_metrics(_series(), metric="ces", by=())
