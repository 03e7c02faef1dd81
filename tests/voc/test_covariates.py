"""voc_covariates: the first NPS class as 0/1 columns, the share of negative comments, per customer."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlab.errors import ParameterError
from clvlab.text.sentiment import sentiment
from clvlab.voc.covariates import voc_covariates

COMMENTS = ["Terrible service, never again, awful", "Great shop, love it", "Slow delivery and rude staff"]


@pytest.fixture
def feedback() -> pd.DataFrame:
    return pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "customer_id": ["a", "a", "b", "c", "c", "c"],
        "responded_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-01", "2024-01-02",
                                        "2024-01-03", "2024-06-01"]),
        "metric": ["nps", "nps", "nps", "csat", "nps", "nps"],
        "score": [3.0, 10.0, 8.0, 5.0, 9.0, 0.0],
        "comment": [COMMENTS[0], None, "", COMMENTS[1], COMMENTS[2], COMMENTS[0]],
    })


def test_first_nps_class_and_share_of_negative_comments(feedback: pd.DataFrame) -> None:
    z = voc_covariates(feedback, ["a", "b", "c", "d"])
    assert list(z.index) == ["a", "b", "c", "d"]
    # a: first answer 3 (detractor), later 10 ignored; b: 8 passive; c: csat skipped, first nps 9
    assert z["detractor"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert z["passive"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert z["no_nps"].tolist() == [0.0, 0.0, 0.0, 1.0]
    neg = sentiment(COMMENTS)["label"].eq("negative").astype(float).tolist()
    assert z["negative_share"].tolist() == pytest.approx([neg[0], 0.0, (neg[1] + neg[2] + neg[0]) / 3, 0.0])


def test_until_keeps_later_answers_out_and_constant_columns_are_dropped(feedback: pd.DataFrame) -> None:
    z = voc_covariates(feedback, ["a", "b", "c"], covariates=["nps_class"], until="2024-01-05")
    # by Jan 5: a a detractor, b no answer yet (Feb 1), c a promoter; nobody is passive
    assert z.attrs["dropped"] == ["passive"]
    assert list(z.columns) == ["detractor", "no_nps"]
    assert z["detractor"].tolist() == [1.0, 0.0, 0.0]
    assert z["no_nps"].tolist() == [0.0, 1.0, 0.0]


def test_unknown_covariate_is_a_parameter_error(feedback: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"must be a list of \['negative_share', 'nps_class'\]"):
        voc_covariates(feedback, ["a"], covariates=["tier"])
