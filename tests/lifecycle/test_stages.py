"""Lifecycle stages: every rule on a hand-checked frame, thresholds from YAML, CDNOW invariants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.derived import read_derived, write_derived
from clvlab.errors import DataValidationError, ParameterError
from clvlab.lifecycle._features import shared_features
from clvlab.lifecycle.stages import STAGES, _assign, stage_sizes
from clvlab.lifecycle.thresholds import LifecycleThresholds, ResolvedThresholds

AS_OF = "2024-12-31"
#: customer -> purchase days, and the stage worked out by hand (cadence_prior=0: own mean gap;
#: population cadence = median of the repeat buyers' mean gaps = 30 days; decline 2x, churn 3x)
HAND = {
    # one purchase 30 days ago: onboarding (<= 90 days, no second purchase yet)
    "onb": (["2024-12-01"], "onboarding"),
    # gaps 31, 30 (mean 30.5), 30 days since: active, 3 purchases < 4 -> growth
    "grow": (["2024-10-01", "2024-11-01", "2024-12-01"], "growth"),
    # 5 purchases every 30 days, the last 30 days ago -> mature
    "mat": (["2024-08-03", "2024-09-02", "2024-10-02", "2024-11-01", "2024-12-01"], "mature"),
    # gaps 30, 30, then 75 days of silence: 2.5x the cadence -> declining
    "dec": (["2024-08-18", "2024-09-17", "2024-10-17"], "declining"),
    # gaps 30, 30, then 305 days of silence: 10x -> churned
    "chu": (["2024-01-01", "2024-01-31", "2024-03-01"], "churned"),
    # gaps 30, 30, then 640 days (21x the cadence before: churned) and a purchase 30 days ago
    "won": (["2023-01-01", "2023-01-31", "2023-03-02", "2024-12-01"], "won_back"),
    # one purchase 213 days ago: past onboarding, 7x the population cadence -> churned
    "one": (["2024-06-01"], "churned"),
}


def _workspace() -> clvlab.Workspace:
    rows = [(cid, day, 10.0) for cid, (days, _) in HAND.items() for day in days]
    tx = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    customers = pd.DataFrame({"customer_id": [*HAND, "pro", "later"],
                              "first_seen_at": [None] * len(HAND) + ["2024-05-01", "2025-03-01"]})
    ws = clvlab.connect(":memory:")
    ws.load_transactions(tx)
    ws.load("customers", customers)
    return ws


@pytest.fixture
def hand_ws() -> Iterator[clvlab.Workspace]:
    ws = _workspace()
    yield ws
    ws.close()


FIXED = LifecycleThresholds(decline_ratio=2.0, churn_ratio=3.0, mature_purchases=4, cadence_prior=0.0)


def test_every_stage_rule_on_a_hand_checked_frame(hand_ws: clvlab.Workspace) -> None:
    """Each customer lands in the stage worked out by hand; a customers row without purchases is a
    prospect, one first seen after the date is nobody yet."""
    out = clvlab.lifecycle_stages(hand_ws, as_of=AS_OF, model=None, thresholds=FIXED)
    expected = {cid: stage for cid, (_, stage) in HAND.items()} | {"pro": "prospect"}
    assert out["stage"].to_dict() == expected
    assert out.attrs["thresholds"]["cadence_days"] == pytest.approx(30.0)
    assert out.loc["dec", "gap_ratio"] == pytest.approx(2.5)
    assert out.loc["pro", "n_purchases"] == 0
    assert stage_sizes(out).sum() == len(out)
    write_derived(hand_ws, "stages", out, as_of=AS_OF)  # prospects (no dates) fit the contract too
    stored = read_derived(hand_ws, "stages", columns=("stage",), where="test").execute()
    assert dict(zip(stored["customer_id"], stored["stage"], strict=True)) == expected


def test_stage_as_of_an_earlier_date(hand_ws: clvlab.Workspace) -> None:
    """As of 2024-03-15, 'chu' had bought 14 days ago (growth), 'won' was churned, not yet won back,
    and 'onb' (a customers row, no purchase yet) a prospect."""
    out = clvlab.lifecycle_stages(hand_ws, as_of="2024-03-15", model=None, thresholds=FIXED)
    assert out.loc["chu", "stage"] == "growth"
    assert out.loc["won", "stage"] == "churned"
    assert out.loc["onb", "stage"] == "prospect"


def test_p_alive_rules_decline_and_churn_whatever_the_cadence() -> None:
    """A customer buying on cadence is declining under decline_p_alive and churned under churn_p_alive."""
    day = pd.Timestamp("2024-12-01")
    frame = pd.DataFrame({
        "first": [day - pd.Timedelta(days=120)] * 3, "last": [day] * 3, "prev": [day - pd.Timedelta(days=30)] * 3,
        "n": [5] * 3, "age_days": [150.0] * 3, "since_days": [30.0] * 3, "last_gap_days": [30.0] * 3,
        "p_alive": [0.9, 0.4, 0.1],
    }, index=pd.Index(["a", "b", "c"], name="customer_id"))
    res = ResolvedThresholds(cadence_days=30.0, decline_ratio=2.0, churn_ratio=3.0, mature_purchases=4,
                             won_back_days=90)
    stages = _assign(frame, LifecycleThresholds(), res)
    assert list(stages) == ["mature", "declining", "churned"]


def test_thresholds_from_yaml_and_unknown_keys(tmp_path: Path, hand_ws: clvlab.Workspace) -> None:
    """A YAML file sets thresholds (read by the shared config reader); an unknown key names the valid ones."""
    path = tmp_path / "lifecycle.yaml"
    path.write_text("decline_ratio: 2\nchurn_ratio: 3\nmature_purchases: 4\ncadence_prior: 0\n"
                    "onboarding_days: 20\n", encoding="utf-8")
    out = clvlab.lifecycle_stages(hand_ws, as_of=AS_OF, model=None, thresholds=str(path))
    assert out.loc["onb", "stage"] == "growth"  # 30 days > 20-day onboarding, on cadence
    path.write_text("churn_ratoi: 3\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"unknown threshold\(s\) \['churn_ratoi'\]; valid: .*churn_ratio"):
        LifecycleThresholds.from_file(path)
    with pytest.raises(ParameterError, match="churn_quantile"):
        LifecycleThresholds(decline_quantile=0.9, churn_quantile=0.8)


def test_as_of_outside_the_data_and_bg_nbd_are_refused(hand_ws: clvlab.Workspace) -> None:
    """A date outside the purchases is a located error with the range; BG/NBD's P(alive) is refused."""
    with pytest.raises(DataValidationError, match=r"as_of 2030-01-01 is outside the data, whose purchases run "
                       r"from 2023-01-01 to 2024-12-01"):
        clvlab.lifecycle_stages(hand_ws, as_of="2030-01-01")
    with pytest.raises(ParameterError, match=r"BG/NBD gives P\(alive\) = 1"):
        clvlab.lifecycle_stages(hand_ws, as_of="2024-12-01", model="BetaGeo")


def test_transition_matrix_rows_sum_to_start_sizes(hand_ws: clvlab.Workspace) -> None:
    """Rows are the stages at the start (new customers in '(none)'), and each sums to its start size."""
    kw = {"model": None, "thresholds": FIXED}
    start = clvlab.lifecycle_stages(hand_ws, as_of="2024-03-15", **kw)
    matrix = clvlab.stage_transitions(hand_ws, start="2024-03-15", end=AS_OF, **kw)
    assert matrix.loc[list(STAGES)].sum(axis=1).tolist() == stage_sizes(start).tolist()
    assert matrix.loc["churned", "won_back"] == 1
    assert matrix.loc["(none)"].sum() == len(HAND) + 1 - len(start)


def test_onboarding_by_cohort_hand_checked(hand_ws: clvlab.Workspace) -> None:
    """Second purchase within 90 days, by month of the first purchase (only cohorts 90+ days old count)."""
    out = clvlab.onboarding_summary(hand_ws, as_of=AS_OF)
    jan24 = out.loc[pd.Timestamp("2024-01-01")]
    assert (jan24["customers"], jan24["second_buyers"], jan24["eligible"], jan24["within"]) == (1, 1, 1, 1)
    assert jan24["median_days_to_second"] == 30
    jun = out.loc[pd.Timestamp("2024-06-01")]
    assert (jun["second_buyers"], jun["eligible"], jun["within"], jun["share_within"]) == (0, 1, 0, 0.0)
    dec = out.loc[pd.Timestamp("2024-12-01")]
    assert dec["eligible"] == 0
    assert np.isnan(dec["share_within"])


def test_hand_checked_stages_on_postgres(pg_schema: str) -> None:
    """The same rules, with the features computed by PostgreSQL (Ibis): the same stages."""
    import ibis
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(f"CREATE TABLE {pg_schema}.transactions (customer_id VARCHAR, ordered_at TIMESTAMP, "
                    "amount DECIMAL(18,4), is_refund BOOLEAN)")
        for cid, (days, _) in HAND.items():
            for day in days:
                con.execute(f"INSERT INTO {pg_schema}.transactions VALUES (%s, %s, 10, false)", (cid, day))
    backend = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test", schema=pg_schema)
    try:
        out = clvlab.lifecycle_stages(backend.table("transactions"), as_of=AS_OF, model=None, thresholds=FIXED)
        with shared_features():  # as in a run: the purchase days kept in a PostgreSQL temporary table
            shared = clvlab.lifecycle_stages(backend.table("transactions"), as_of=AS_OF, model=None,
                                             thresholds=FIXED)
    finally:
        backend.disconnect()
    assert out["stage"].to_dict() == {cid: stage for cid, (_, stage) in HAND.items()}
    pd.testing.assert_frame_equal(shared, out)


# ---- CDNOW ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow() -> Iterator[clvlab.Workspace]:
    from clvlab.datasets import load_cdnow

    ws = clvlab.connect(":memory:")
    ws.load_transactions(load_cdnow("master"))
    yield ws
    ws.close()


@pytest.mark.slow
def test_cdnow_stages_sum_to_customers_and_won_back_is_found(cdnow: clvlab.Workspace) -> None:
    """Every CDNOW customer has one stage; churned customers who came back are won back."""
    out = clvlab.lifecycle_stages(cdnow, as_of="1998-06-30")
    sizes = stage_sizes(out)
    assert sizes.sum() == len(out) == 23570
    assert sizes["won_back"] > 0
    assert sizes["churned"] > sizes["mature"] > 0
    won = out[out["stage"] == "won_back"]
    assert (won["days_since_last"] <= 90).all()
    assert (won["n_purchases"] >= 2).all()


@pytest.mark.slow
def test_cdnow_transition_rows_sum_to_stage_sizes_at_start(cdnow: clvlab.Workspace) -> None:
    """Month over month on CDNOW: each row of the matrix sums to that stage's size at the start."""
    start = clvlab.lifecycle_stages(cdnow, as_of="1998-05-31")
    matrix = clvlab.stage_transitions(cdnow, start="1998-05-31", end="1998-06-30")
    assert matrix.loc[list(STAGES)].sum(axis=1).tolist() == stage_sizes(start).tolist()
    assert matrix.loc["(none)"].sum() == 0  # CDNOW's customers all arrived in Q1 1997
    assert matrix.loc["churned", "won_back"] > 0


def test_onboarding_by_channel(hand_ws: clvlab.Workspace) -> None:
    """by='channel' groups by customers.acquisition_channel; customers without one are '(unknown)'."""
    before = clvlab.onboarding_summary(hand_ws, as_of=AS_OF, by="channel")
    assert before["customers"].to_dict() == {"(unknown)": 7}
    hand_ws.load("customers", pd.DataFrame({"customer_id": ["grow", "mat", "chu"],
                                            "acquisition_channel": ["ads", "ads", "email"]}))
    out = clvlab.onboarding_summary(hand_ws, as_of=AS_OF, by="channel")
    assert out["customers"].to_dict() == {"(unknown)": 4, "ads": 2, "email": 1}
    assert out.loc["ads", "within"] == 2


@pytest.mark.slow
def test_a_fitted_model_is_scored_in_its_own_time_unit(cdnow: clvlab.Workspace) -> None:
    """A model fitted in days (as the pipeline's chosen model may be) gives its own P(alive), on
    RFM in days, not on weeks."""
    rfm = clvlab.rfm_summary(cdnow, freq="D", observation_end="1998-06-30")
    model = clvlab.ModifiedBetaGeo().fit(rfm)
    model.time_unit_ = "D"
    out = clvlab.lifecycle_stages(cdnow, as_of="1998-06-30", model=model)
    expected = model.probability_alive(rfm["frequency"], rfm["recency"], rfm["T"])
    np.testing.assert_allclose(out["p_alive"].reindex(rfm.index), expected)
    assert out.attrs["model"] == "ModifiedBetaGeo"
