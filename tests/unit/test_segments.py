"""clvlab.rfm_segments on hand-made frames whose scores and segments are worked out by hand
from the rule table in clvlab.value.segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import clvlab
from clvlab.errors import DataValidationError, ParameterError
from clvlab.value.segments import _TABLE, SEGMENTS


@pytest.fixture
def five() -> pd.DataFrame:
    """Five customers with distinct values, so quintile scores are their ranks 1..5."""
    return pd.DataFrame(
        {
            "frequency": [10, 6, 0, 4, 2],
            "recency": [49, 45, 0, 30, 10],
            "T": [50, 50, 10, 50, 50],  # idle T - recency: 1, 5, 10, 20, 40
            "monetary_value": [100, 40, 0, 50, 30],
        },
        index=pd.Index(list("ABCDE"), name="customer_id"),
    )


def test_scores_and_segments_by_hand(five: pd.DataFrame) -> None:
    """A: R5 F5 M5 -> Champions; B: R4, FM=ceil(7/2)=4 -> Loyal; C: R3 FM1 -> About to sleep;
    D: R2 FM=ceil(7/2)=4 -> At risk; E: R1 FM2 -> Hibernating."""
    seg = clvlab.rfm_segments(five)
    assert seg["r_score"].tolist() == [5, 4, 3, 2, 1]
    assert seg["f_score"].tolist() == [5, 4, 1, 3, 2]
    assert seg["m_score"].tolist() == [5, 3, 1, 4, 2]
    assert seg["rfm_score"].astype(str).tolist() == ["555", "443", "311", "234", "122"]
    assert seg["segment"].astype(str).tolist() == [
        "Champions", "Loyal", "About to sleep", "At risk", "Hibernating",
    ]
    assert seg.index.equals(five.index)


def test_ties_share_a_score() -> None:
    """Six of ten customers never came back: all get f_score 1 and m_score 1; the others rank
    above 60%, 70%, 80%, 90% of customers -> 1 + floor(5 * share) = 4, 4, 5, 5."""
    rfm = pd.DataFrame({
        "frequency": [0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
        "recency": [0, 0, 0, 0, 0, 0, 5, 6, 7, 8],
        "T": [10.0] * 10,
        "monetary_value": [0, 0, 0, 0, 0, 0, 10, 20, 30, 40],
    })
    seg = clvlab.rfm_segments(rfm)
    assert seg["f_score"].tolist() == [1] * 6 + [4, 4, 5, 5]
    assert seg["m_score"].tolist() == [1] * 6 + [4, 4, 5, 5]
    # idle 10 for the six, then 5, 4, 3, 2: shares below 0, 0.6, 0.7, 0.8, 0.9 of -idle
    assert seg["r_score"].tolist() == [1] * 6 + [4, 4, 5, 5]
    assert seg["segment"].astype(str).tolist() == ["Lost"] * 6 + ["Loyal"] * 2 + ["Champions"] * 2


def test_n_bins_changes_scores_not_segments(five: pd.DataFrame) -> None:
    """With 3 bins, ranks 1..5 (shares 0, .2, .4, .6, .8) -> 1 + floor(3 * share) = 1,1,2,2,3;
    segments still use quintiles."""
    seg = clvlab.rfm_segments(five, n_bins=3)
    assert seg["r_score"].tolist() == [3, 2, 2, 1, 1]
    assert seg["rfm_score"].astype(str).tolist() == ["333", "222", "211", "122", "111"]
    assert seg["segment"].tolist() == clvlab.rfm_segments(five)["segment"].tolist()


def test_rule_table_cells() -> None:
    """Cells of the documented table, read by hand (R, FM) -> segment; every cell is named."""
    expected = {
        (5, 1): "New", (4, 1): "Promising", (3, 3): "Need attention", (1, 5): "Cannot lose them",
        (2, 5): "Cannot lose them", (1, 1): "Lost", (1, 2): "Hibernating", (2, 1): "Hibernating",
        (4, 2): "Potential loyalist", (5, 3): "Potential loyalist", (5, 4): "Champions",
        (3, 5): "Loyal", (3, 2): "About to sleep", (2, 4): "At risk", (1, 3): "At risk",
    }
    for (r, fm), name in expected.items():
        assert SEGMENTS[_TABLE[r, fm]] == name, (r, fm)
    assert (_TABLE[1:, 1:] >= 0).all()
    assert set(SEGMENTS) == {
        "Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention",
        "About to sleep", "At risk", "Cannot lose them", "Hibernating", "Lost",
    }


def test_cdnow_segments_cover_customers() -> None:
    rfm = clvlab.datasets.load_cdnow_summary()
    seg = clvlab.rfm_segments(rfm)
    assert len(seg) == 2357
    assert seg["segment"].notna().all()
    # all 1,411 customers with no repeat purchase share f_score 1 (Fader et al. 2005: 1,411 of 2,357)
    zero = rfm["frequency"] == 0
    assert zero.sum() == 1411
    assert (seg.loc[zero, "f_score"] == 1).all()
    assert set(np.unique(seg["r_score"])) <= {1, 2, 3, 4, 5}


def test_polars_frame(five: pd.DataFrame) -> None:
    seg = clvlab.rfm_segments(pl.from_pandas(five.reset_index()))
    assert list(seg.index) == list("ABCDE")
    assert seg["segment"].astype(str).tolist()[0] == "Champions"


def test_bad_input(five: pd.DataFrame) -> None:
    with pytest.raises(ParameterError) as info:
        clvlab.rfm_segments(five, n_bins=1)
    assert str(info.value) == (
        "The 'n_bins' parameter of rfm_segments must be an int in [2, 9]. Got 1 instead."
    )
    with pytest.raises(DataValidationError, match=r"lacks the column\(s\) \['T'\]"):
        clvlab.rfm_segments(five.drop(columns="T"))
