"""Language of short comments: Chinese, English, a mix of both, or something else.

The rule counts scripts, which is what matters for choosing a tokenizer and a sentiment model:

* ``c`` = CJK ideographs (U+3400-U+4DBF, U+4E00-U+9FFF, U+F900-U+FAFF),
* ``l`` = ASCII letters ``a-z``/``A-Z``,
* ``o`` = letters of other scripts (kana, hangul, Cyrillic, Arabic, accented Latin, ...).

A Chinese word is about 1.5 characters and an English word about 4.5 letters, so the Chinese share
of the *words* is estimated as ``z = c / (c + l / 3)``. A text is ``"zh"`` when ``z >= 0.8``,
``"en"`` when ``z <= 0.2``, ``"mixed"`` in between, and ``"other"`` when it has no CJK or ASCII
letter at all, or when letters of other scripts outnumber both (Japanese with kana, Korean,
Russian, ...). Latin-script languages other than English are reported as ``"en"``: telling
French from English needs a model this module deliberately does not ship.

Examples
--------
>>> from clvlab.text.language import detect_language
>>> detect_language(["物流很快，包装完好", "Great service!", "iPhone 屏幕很好 but battery sucks", "12345"])
['zh', 'en', 'mixed', 'other']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, overload

import numpy as np

from clvlab.errors import ParameterError

Language = Literal["zh", "en", "mixed", "other"]

#: one CJK ideograph (the one definition every text module uses)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ASCII = re.compile(r"[A-Za-z]")
# letters of any script (\w minus digits and underscore), used to count "other" letters
_LETTER = re.compile(r"[^\W\d_]")

#: Chinese share of words at or above which a text is "zh" (and at or below 1 - this: "en")
ZH_SHARE = 0.8


def has_cjk(text: str) -> bool:
    """True when ``text`` holds at least one CJK ideograph."""
    return CJK.search(text) is not None


def _counts(text: str) -> tuple[int, int, int]:
    c = len(CJK.findall(text))
    a = len(_ASCII.findall(text))
    letters = len(_LETTER.findall(text))
    return c, a, letters - c - a


def language_counts(texts: Iterable[object]) -> np.ndarray:
    """Count CJK ideographs, ASCII letters and other letters per text.

    Returns
    -------
    numpy.ndarray
        Integer array of shape ``(n, 3)``; ``None``/NaN count as empty text.
    """
    rows = [_counts(t) if isinstance(t, str) else (0, 0, 0) for t in texts]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def languages_from_counts(counts: np.ndarray) -> np.ndarray:
    """Vectorised decision rule of this module on the output of :func:`language_counts`."""
    c = counts[:, 0].astype(float)
    a = counts[:, 1].astype(float)
    o = counts[:, 2].astype(float)
    words = c + a / 3.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(words > 0, c / np.where(words > 0, words, 1.0), 0.0)
    out = np.where(z >= ZH_SHARE, "zh", np.where(z <= 1 - ZH_SHARE, "en", "mixed")).astype(object)
    other = (words == 0) | ((o > c) & (o > a))
    out[other] = "other"
    return out


@overload
def detect_language(texts: str) -> Language: ...  # type: ignore[overload-overlap]
@overload
def detect_language(texts: Iterable[object]) -> list[Language]: ...
def detect_language(texts: str | Iterable[object]) -> Language | list[Language]:
    """Detect ``"zh"``, ``"en"``, ``"mixed"`` or ``"other"`` for one text or many.

    Parameters
    ----------
    texts
        A string, or an iterable of strings (``None``/NaN give ``"other"``).

    Returns
    -------
    str or list of str
        One label per text, see the module docstring for the rule.
    """
    if isinstance(texts, str):
        return detect_language([texts])[0]
    if isinstance(texts, bytes):
        msg = "detect_language expects str texts, got bytes; decode them first (e.g. b.decode('utf-8'))"
        raise ParameterError(msg)
    counts = language_counts(texts)
    return list(languages_from_counts(counts))
