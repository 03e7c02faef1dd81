"""Stateless text features for the shipped sentiment model (shared by inference and training).

Every block is a :class:`~sklearn.feature_extraction.text.HashingVectorizer` (binary presence,
L2-normalised per block), so nothing but the linear weights has to ship: the same text always maps
to the same columns.

* ``zh``: characters 1-3-grams of the normalised text, plus words (rjieba) 1-2-grams, in which a
  word that follows a negator (不, 没, 别, 无, 未, 非, 勿, 莫) within the same clause is prefixed by
  ``NEG_``. A second zh view, :func:`char_view`, weights character 1-3-grams by sublinear TF x IDF
  (the IDF vector is learned in training and ships with the model); :class:`LangModel` averages
  the probabilities of the two views.
* ``en``: words 1-2-grams with the same negation marking (not, no, never, n't, ...), plus character
  2-5-grams inside word boundaries.
* both: a lexicon block (:func:`lexicon_features`): the net, positive and negative valence of the
  words in a polarity lexicon made by people (:mod:`clvlab.text.lexicons`; negated words flipped
  and damped as VADER does), which carries polarity for words the training domains never used.
  In zh it enters both views.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from clvlab.text.clean import normalise

#: bump when the features change: a model file records the version it was trained with
FEATURES_VERSION = 4
N_CHAR = 2**18
N_WORD = 2**18

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_EN_TOKEN = re.compile(r"[a-z0-9']+|[!?]+|[^\sa-z0-9']")
_EN_NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
        "without",
    ]
)
_EN_CLAUSE_END = frozenset(".,;:!?")
_ZH_NEGATORS = frozenset(
    [
        "不",
        "没",
        "没有",
        "别",
        "无",
        "未",
        "非",
        "勿",
        "莫",
        "不是",
        "不太",
        "不够",
        "不会",
        "不能",
        "毫无",
        "并不",
        "并没有",
    ]
)
_ZH_CLAUSE_END = frozenset("，。！？；、,.!?;~～…\n ")


def dedupe_key(text: object) -> str:
    """Key used to find the same comment in two corpora: normalised, without spaces and punctuation."""
    return "".join(ch for ch in normalise(text) if ch.isalnum())


def _en_prepare(text: str) -> str:
    t = _URL.sub(" url ", text)
    t = _MENTION.sub(" @user ", t)
    return t.replace("&amp;", "&").replace("’", "'")


def _mark_negation(
    tokens: Sequence[str], negators: frozenset[str], ends: frozenset[str], span: int
) -> list[str]:
    out: list[str] = []
    left = 0
    for tok in tokens:
        if tok in ends or not tok.strip():
            left = 0
            out.append(tok)
            continue
        if left > 0:
            out.append("NEG_" + tok)
            left -= 1
        else:
            out.append(tok)
        if tok in negators or tok.replace("'", "") in negators or tok.endswith("n't"):
            left = span
    return out


def en_tokens(text: str) -> list[str]:
    """Word tokens of a normalised English text, negated words prefixed by ``NEG_``."""
    toks = _EN_TOKEN.findall(_en_prepare(text))
    return _mark_negation(toks, _EN_NEGATORS, _EN_CLAUSE_END, 3)


def zh_tokens(text: str) -> list[str]:
    """rjieba words of a normalised Chinese text, negated words prefixed by ``NEG_``."""
    import rjieba

    toks = rjieba.cut(text)
    return _mark_negation(toks, _ZH_NEGATORS, _ZH_CLAUSE_END, 2)


def _identity(tokens: list[str]) -> list[str]:
    return tokens


@cache
def _vectorizers() -> dict[str, HashingVectorizer]:
    common = {"alternate_sign": False, "binary": True, "dtype": np.float32, "lowercase": False}
    return {
        "zh_char": HashingVectorizer(
            analyzer="char", ngram_range=(1, 3), n_features=N_CHAR, **common
        ),
        "zh_word": HashingVectorizer(analyzer=_identity, n_features=N_WORD, **common),
        "zh_char_tf": HashingVectorizer(
            analyzer="char",
            ngram_range=(1, 3),
            n_features=N_CHAR,
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
            lowercase=False,
        ),
        "en_char": HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), n_features=N_CHAR, **common
        ),
        "en_word": HashingVectorizer(analyzer=_identity, n_features=N_WORD, **common),
    }


def _bigrams(tokens: list[str]) -> list[str]:
    return tokens + [a + " " + b for a, b in itertools.pairwise(tokens)]


#: columns of the lexicon block: net valence, positive mass, negative mass
LEX_COLS = 3


def lexicon_features(token_lists: Sequence[list[str]], lexicon: dict[str, float]) -> np.ndarray:
    """Lexicon block per text: net, positive and negative valence, each / (4 sqrt(words + 1)).

    A ``NEG_`` word counts with its valence flipped and damped (x -0.74, as VADER does); the
    scale 4 is VADER's largest valence, so one strong word in a short text gives about 1.
    """
    out = np.zeros((len(token_lists), LEX_COLS), dtype=np.float32)
    for i, toks in enumerate(token_lists):
        pos = neg = 0.0
        for tok in toks:
            if tok.startswith("NEG_"):
                v = lexicon.get(tok[4:])
                v = None if v is None else -0.74 * v
            else:
                v = lexicon.get(tok)
            if v is not None:
                if v > 0:
                    pos += v
                else:
                    neg -= v
        scale = 4.0 * np.sqrt(len(toks) + 1.0)
        out[i] = ((pos - neg) / scale, pos / scale, neg / scale)
    return out


def features(
    texts: Sequence[str], lang: str, lexicon: dict[str, float] | None = None
) -> sp.csr_matrix:
    """Feature matrix of normalised ``texts`` for the ``lang`` ("zh" or "en") model.

    With a ``lexicon``, the last :data:`LEX_COLS` columns are :func:`lexicon_features`.
    """
    vec = _vectorizers()
    if lang == "zh":
        toks = [zh_tokens(t) for t in texts]
        blocks = [vec["zh_char"].transform(texts), vec["zh_word"].transform(map(_bigrams, toks))]
    else:
        toks = [en_tokens(t) for t in texts]
        blocks = [vec["en_char"].transform(texts), vec["en_word"].transform(map(_bigrams, toks))]
    if lexicon is not None:
        blocks.append(sp.csr_matrix(lexicon_features(toks, lexicon)))
    return sp.hstack(blocks, format="csr")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def char_counts(texts: Sequence[str]) -> sp.csr_matrix:
    """Sublinear term frequencies ``1 + ln(tf)`` of hashed character 1-3-grams (no IDF, no norm)."""
    X = sp.csr_matrix(_vectorizers()["zh_char_tf"].transform(texts))
    X.data = 1.0 + np.log(X.data)
    return X


def fit_idf(counts: sp.csr_matrix, min_df: int = 2) -> np.ndarray:
    """Smoothed IDF ``ln((1 + n) / (1 + df)) + 1`` per column; 0 for columns in < ``min_df`` rows."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    return np.where(df >= min_df, idf, 0.0).astype(np.float32)


def char_tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Rows of ``counts`` weighted by ``idf`` and L2-normalised."""
    X = sp.csr_matrix(counts @ sp.diags(idf.astype(np.float32)))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ X)


def char_view(
    texts: Sequence[str], idf: np.ndarray | None, X: sp.csr_matrix | None
) -> sp.csr_matrix:
    """The second view: character TF-IDF followed by the lexicon block of ``X`` (from
    :func:`features`) if given; without ``idf`` (English), the lexicon block of ``X`` alone."""
    if idf is None:
        if X is None:
            msg = "the lexicon view needs the feature matrix with its lexicon block"
            raise ValueError(msg)
        return sp.csr_matrix(X[:, -LEX_COLS:])
    T = char_tfidf(char_counts(texts), idf)
    if X is None:
        return T
    return sp.hstack([T, X[:, -LEX_COLS:]], format="csr")


@dataclass(frozen=True)
class LangModel:
    """Decision function of one language (shared by training, evaluation and inference).

    .. math::

        z = \\operatorname{logit}\\bigl((1 - m)\\,\\sigma(w^\\top x + b) + m\\,\\sigma(v^\\top t + d)\\bigr)

    with :math:`x` the binary n-gram features of :func:`features`, :math:`t` the second view of
    :func:`char_view` (zh: character TF-IDF plus the lexicon block; en: the lexicon block alone, a
    3-weight model that carries across domains) and :math:`m` the mix (0: no second view): the
    two views' probabilities are averaged (soft voting), so neither dominates by its scale.
    """

    lang: str
    coef: np.ndarray
    intercept: float
    lexicon: dict[str, float] | None = None
    char_coef: np.ndarray | None = None
    char_intercept: float = 0.0
    char_idf: np.ndarray | None = None
    mix: float = 0.0

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """Decision values of already normalised ``texts``."""
        X = features(texts, self.lang, self.lexicon)
        z = np.asarray(X @ self.coef, dtype=np.float64) + self.intercept
        if self.mix > 0.0 and self.char_coef is not None:
            T = char_view(texts, self.char_idf, X if self.lexicon is not None else None)
            zc = np.asarray(T @ self.char_coef, dtype=np.float64) + self.char_intercept
            p = (1.0 - self.mix) * _sigmoid(z) + self.mix * _sigmoid(zc)
            p = np.clip(p, 1e-12, 1.0 - 1e-12)
            z = np.log(p) - np.log1p(-p)
        return z
