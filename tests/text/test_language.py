"""Language detection by script counts (clvlab.text.language)."""

from __future__ import annotations

import pandas as pd
import pytest

import clvlab
from clvlab.errors import ParameterError
from clvlab.text.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("物流很快，包装完好，五星好评", "zh"),
        ("\ufeff酒店位置不错，房间有点小", "zh"),
        ("The flight was delayed for three hours.", "en"),
        ("@united thanks!! 👍", "en"),
        ("iPhone 屏幕很好 but the battery drains fast", "mixed"),
        ("买了个iPad，很好用", "zh"),
        ("12345 !!! ...", "other"),
        ("", "other"),
        ("とても良い商品です", "other"),
        ("Отличный сервис", "other"),
    ],
)
def test_detect_language_cases(text: str, lang: str) -> None:
    """Typical short comments get the script-based label of the module docstring."""
    assert detect_language(text) == lang


def test_detect_language_many_and_missing() -> None:
    """A list or Series in, one label per item out; None and NaN are 'other'."""
    s = pd.Series(["很好", None, float("nan"), "good"])
    assert detect_language(s) == ["zh", "other", "other", "en"]
    assert clvlab.detect_language(["好"]) == ["zh"]


def test_detect_language_on_real_corpora(shared_data) -> None:  # type: ignore[no-untyped-def]
    """>= 99% of the real Chinese reviews are zh and of the airline tweets en."""
    zh = (
        pd.read_csv(shared_data / "text" / "online_shopping_10_cats.csv")
        .dropna()
        .sample(2000, random_state=1)
    )
    en = pd.read_csv(shared_data / "text" / "twitter_us_airline_sentiment.csv").sample(
        2000, random_state=1
    )
    assert (pd.Series(detect_language(zh["review"])) == "zh").mean() >= 0.99
    assert (pd.Series(detect_language(en["text"])) == "en").mean() >= 0.99


def test_detect_language_rejects_bytes() -> None:
    """Bytes are not silently iterated as integers."""
    with pytest.raises(ParameterError, match="decode"):
        detect_language(b"abc")  # type: ignore[arg-type]
