"""Segmentation: rjieba for Chinese, a regex for English, shipped stopword lists."""

from __future__ import annotations

import pytest

from clvlab.errors import ParameterError
from clvlab.text.language import has_cjk
from clvlab.text.segment import (
    BREAK,
    jieba_idf,
    stopwords,
    token_sequences,
    tokenize,
)


def test_chinese_words_keep_feedback_terms_and_drop_stopwords() -> None:
    """差评 and 不满意 stay whole; 了, 很, 的 go."""
    got = tokenize(["物流太慢了，差评！客服态度很差，不满意的"], "zh")[0]
    assert got == ["物流", "太慢", "差评", "客服", "态度", "很差", "不满意"]


def test_english_is_lowercased_and_handles_urls_and_mentions_dropped() -> None:
    """URLs and @handles are no words; stopwords go; case folds."""
    got = tokenize(["@united The DELIVERY was late http://t.co/abc and the box was damaged"], "en")[0]
    assert got == ["delivery", "late", "box", "damaged"]


def test_auto_uses_chinese_segmentation_when_ideographs_present() -> None:
    """Mixed text goes through rjieba, Latin words lowercased."""
    got = tokenize(["iPhone屏幕很好 but battery sucks", "Great phone"])
    assert got[0][:2] == ["iphone", "屏幕"]
    assert "battery" in got[0]
    assert got[1] == ["great", "phone"]


def test_sequences_mark_breaks_where_words_were_removed() -> None:
    """Phrases must not span removed words or punctuation: the break marker shows where."""
    seq = token_sequences(["customer service was terrible, lost luggage"], "en")[0]
    assert seq == ["customer", "service", BREAK, "terrible", BREAK, "lost", "luggage"]


def test_missing_texts_and_language_list() -> None:
    """None gives []; a per-text language list must match the texts."""
    assert tokenize([None, ""], "auto") == [[], []]
    with pytest.raises(ParameterError, match="one language per text"):
        tokenize(["a", "b"], ["en"])


def test_stopword_lists_ship_with_the_package() -> None:
    """Both lists load from package resources and keep sentiment words out."""
    zh, en = stopwords("zh"), stopwords("en")
    assert {"的", "了", "我们"} <= zh
    assert {"the", "and", "was"} <= en
    assert not {"好", "差", "慢"} & zh
    assert not {"good", "bad", "late"} & en


def test_jieba_idf_is_read_from_the_installed_package() -> None:
    """jieba's idf.txt: rare complaint words weigh more than everyday words."""
    idf, median = jieba_idf()
    assert len(idf) > 100_000
    assert idf["难吃"] > idf["东西"]
    assert 5 < median < 15


def test_one_language_detector() -> None:
    """Issue 7 B: the tokenizer's script test is clvlab.text.language's (segment has no detector of its own)."""
    import clvlab.text.segment as seg
    from clvlab.text import language

    assert not hasattr(seg, "guess_language")
    assert seg.has_cjk is language.has_cjk
    assert has_cjk("iPhone 屏幕很好用")
    assert not has_cjk("Great service")


def test_real_reviews_segment_fast_enough(shared_data) -> None:
    """Real Chinese reviews (online_shopping_10_cats): 5,000 segment into words (speed: benchmarks/)."""
    import pandas as pd

    reviews = pd.read_csv(shared_data / "text" / "online_shopping_10_cats.csv")["review"].dropna().astype(str)
    texts = reviews.sample(5000, random_state=0).tolist()
    docs = tokenize(texts)
    assert sum(map(len, docs)) > 5000 * 5
