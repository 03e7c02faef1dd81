"""Word frequency, group keywords (log-odds and c-TF-IDF), per-comment keywords, phrases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clvlab.errors import ParameterError
from clvlab.text.keywords import (
    comment_keywords,
    corpus_keywords,
    group_keywords,
    phrases,
    word_frequency,
)
from clvlab.text.segment import tokenize

COMPLAINT_TERMS = {"差", "很差", "不好", "太差", "失望", "脏", "难吃", "差评", "投诉", "不满", "问题", "太慢", "不行"}


@pytest.fixture(scope="module")
def hotel(shared_data: Path) -> pd.DataFrame:
    """3,000 real hotel reviews (online_shopping_10_cats.csv, cat 酒店), labels 0/1."""
    frame = pd.read_csv(shared_data / "text" / "online_shopping_10_cats.csv").dropna()
    return frame[frame["cat"] == "酒店"].sample(3000, random_state=0)


def test_complaint_terms_surface_for_negative_hotel_reviews(hotel: pd.DataFrame) -> None:
    """Real negative hotel reviews vs positive ones: at least 3 complaint terms in the top 10."""
    docs = tokenize(hotel["review"].astype(str).tolist(), "zh")
    groups = hotel["label"].map({0: "neg", 1: "pos"}).tolist()
    kw = group_keywords(docs, groups, top=10)
    neg = {w for w, _ in kw["neg"]}
    assert len(neg & COMPLAINT_TERMS) >= 3, kw["neg"]
    assert not {w for w, _ in kw["pos"]} & COMPLAINT_TERMS, kw["pos"]


def test_complaint_terms_surface_for_negative_fruit_delivery_reviews(shared_data: Path) -> None:
    """Real fruit (e-commerce delivery) reviews: negative keywords include complaint words."""
    frame = pd.read_csv(shared_data / "text" / "online_shopping_10_cats.csv").dropna()
    fruit = frame[frame["cat"] == "水果"].sample(3000, random_state=0)
    docs = tokenize(fruit["review"].astype(str).tolist(), "zh")
    kw = group_keywords(docs, fruit["label"].map({0: "neg", 1: "pos"}).tolist(), top=15)
    neg = {w for w, _ in kw["neg"]}
    assert len(neg & (COMPLAINT_TERMS | {"烂", "坏", "坏了", "小", "酸", "不新鲜"})) >= 3, kw["neg"]


def test_log_odds_scores_shared_words_near_zero() -> None:
    """A word used equally in both groups is no keyword of either (Monroe et al. 2008)."""
    docs = [["room", "dirty"]] * 20 + [["room", "clean"]] * 20
    kw = group_keywords(docs, ["a"] * 20 + ["b"] * 20, top=5)
    assert [w for w, _ in kw["a"]] == ["dirty"]
    assert [w for w, _ in kw["b"]] == ["clean"]


def test_ctfidf_ranks_group_specific_words() -> None:
    """c-TF-IDF (Grootendorst 2022): exclusive words outrank shared ones of equal count."""
    docs = [["room", "dirty"]] * 20 + [["room", "clean"]] * 20
    kw = group_keywords(docs, ["a"] * 20 + ["b"] * 20, method="ctfidf", top=2)
    assert kw["a"][0][0] == "dirty"


def test_group_keywords_checks_lengths() -> None:
    """One group label per comment, or a ParameterError naming the counts."""
    with pytest.raises(ParameterError, match="one label per comment"):
        group_keywords([["a"]], ["x", "y"])


def test_word_frequency_counts_and_shares() -> None:
    """Counts, comments holding the word, and shares of all words."""
    wf = word_frequency([["a", "b", "a"], ["a"]])
    assert wf.to_dict("list") == {"word": ["a", "b"], "count": [3, 1], "comments": [2, 1], "share": [0.75, 0.25]}


def test_word_frequency_accepts_texts() -> None:
    """Raw texts are tokenized first."""
    wf = word_frequency(["物流太慢", "物流很快"], top=1)
    assert wf["word"].tolist() == ["物流"]


def test_comment_keywords_prefer_rare_chinese_words() -> None:
    """jieba's IDF ranks 难吃 above 东西 within a comment."""
    kw = comment_keywords(tokenize(["东西难吃，东西不新鲜"], "zh"), top=2)[0]
    assert kw[0] in {"难吃", "不新鲜"}
    assert "东西" not in kw


def test_corpus_keywords_without_groups() -> None:
    """Single group: count x IDF, words seen once dropped."""
    docs = tokenize(["早餐难吃", "早餐难吃，房间小", "房间脏"], "zh")
    words = [w for w, _ in corpus_keywords(docs, top=3)]
    assert "难吃" in words


def test_phrases_from_real_airline_tweets(shared_data: Path) -> None:
    """Real tweets (Twitter US Airline Sentiment): 'customer service' is the top phrase."""
    tweets = pd.read_csv(shared_data / "text" / "twitter_us_airline_sentiment.csv")["text"].tolist()
    ph = phrases(tweets, top=10)
    assert ph["phrase"].iloc[0] == "customer service"
    assert ph["npmi"].between(-1, 1).all()


def test_phrases_do_not_span_punctuation() -> None:
    """'late, box' is no phrase: punctuation breaks the sequence."""
    ph = phrases(["delivery late, box damaged"] * 5, min_count=2)
    assert "late box" not in set(ph["phrase"])
    assert "box damaged" in set(ph["phrase"])
