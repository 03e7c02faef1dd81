"""The zh report translates the sentences the library writes in English: every churn reason
:func:`clvlab.lifecycle.churn._text` can write, and the economics notes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from clvlab.lifecycle.churn import GROUPS, _text
from clvlab.report.labels import sentence
from clvlab.value.economics import _margin_column

LATIN = re.compile(r"[A-Za-z]{3,}")
#: words that stay in Latin letters in Chinese text: metric and model names, file names
KEPT = {"NPS", "CSAT", "CES", "MBG", "NBD", "alive", "LTV", "CLV", "CAC", "CDNOW", "demo", "csv", "customers",
        "marketing", "spend", "payback"}


def _english_left(text: str) -> set[str]:
    return set(LATIN.findall(text)) - KEPT


ROWS = [  # one customer per branch of _text: bought once / often, answered / not, a case open / not
    {"n": 1, "since_days": 210, "gap_ratio": np.nan, "cadence_days": np.nan, "n_recent": 0, "n_before": 1,
     "spend": 30.0, "mean_spend": 30.0, "spend_recent": 0.0, "spend_before": 30.0, "p_alive": 0.2,
     "expected_purchases": 0.1, "has_feedback": False, "nps_latest": np.nan, "nps_change": np.nan,
     "csat_latest": np.nan, "ces_latest": np.nan, "sentiment_latest": np.nan, "complaints": np.nan,
     "open_cases": 0},
    {"n": 13, "since_days": 107, "gap_ratio": 3.1, "cadence_days": 34, "n_recent": 1, "n_before": 3,
     "spend": 2417.54, "mean_spend": 201.46, "spend_recent": 12.0, "spend_before": 240.0, "p_alive": 0.81,
     "expected_purchases": 0.32, "has_feedback": True, "nps_latest": 3.0, "nps_change": -4.0,
     "csat_latest": 2.0, "ces_latest": 6.0, "sentiment_latest": -0.8, "complaints": 2.0, "open_cases": 1},
    {"n": 4, "since_days": 20, "gap_ratio": 0.5, "cadence_days": 40, "n_recent": 2, "n_before": 2,
     "spend": 80.0, "mean_spend": 20.0, "spend_recent": 40.0, "spend_before": 40.0, "p_alive": 0.9,
     "expected_purchases": 1.2, "has_feedback": True, "nps_latest": np.nan, "nps_change": np.nan,
     "csat_latest": 5.0, "ces_latest": np.nan, "sentiment_latest": 0.1, "complaints": 1.0, "open_cases": 0},
]


@pytest.mark.parametrize("typical", [{"mean_spend": 29.8},  # with and without a typical stayer's values
                                     {"mean_spend": 29.8, "cadence_days": 41.0, "expected_purchases": 0.55}])
@pytest.mark.parametrize("row", ROWS)
@pytest.mark.parametrize("group", list(GROUPS))
def test_every_churn_reason_reads_in_chinese(group: str, row: dict[str, object], typical: dict[str, float]) -> None:
    english = _text(group, row, 90, typical)
    chinese = sentence(english, "zh")
    assert not _english_left(chinese), (english, chinese)
    assert sentence(english, "en") == english


def test_numbers_and_nested_words_survive_the_translation() -> None:
    assert sentence("latest NPS 9 (promoter), +2 on the answer before", "zh") == "最近一次 NPS 9（推荐者），比上一次 +2"
    # a repeated field must repeat: two different windows are not the template's sentence
    assert sentence("2 purchase days in the last 90 days, 3 in the 60 before", "zh").startswith("2 purchase")


def test_economics_notes_read_in_chinese() -> None:
    import pandas as pd

    notes: list[str] = []
    source, share = _margin_column(pd.DataFrame({"x": [1]}), None, None, notes)
    for english in [f"margin {share:.0%}: {source}", f"margin 40%: {_margin_column(pd.DataFrame({'x': [1]}), 0.4, None, [])[0]}",
                    "LTV = margin realised per customer to as_of + the model CLV still to come",
                    "demo assumption: demo_customers.csv.gz and demo_marketing_spend.csv are made up for the demo "
                    "(CDNOW has no channels or spend): channels follow the customer id, spend an assumed CAC; CAC, "
                    "LTV:CAC and payback are illustrations"]:
        chinese = sentence(english, "zh")
        assert not _english_left(chinese.replace("as_of", "")), (english, chinese)
