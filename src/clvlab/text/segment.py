"""Word segmentation for Chinese and English comments, with stopwords.

Chinese goes through ``rjieba`` (the Rust port of jieba: same dictionary, ~17x faster than jieba on
these machines, DESIGN.md §9) with a handful of customer-feedback words added (差评, 不满意...);
English through a regular expression, lowercased. Latin words inside Chinese text are lowercased
too, so "iPhone" and "iphone" count as one word. URLs, @handles and pure numbers are dropped.

Stopword lists ship in ``clvlab/text/resources/`` (written for clvlab, see their headers).
Inverse document frequencies for Chinese come from jieba's own ``analyse/idf.txt`` (MIT), read
from the installed package, never downloaded.

Examples
--------
>>> from clvlab.text.segment import tokenize
>>> tokenize(["物流太慢了，差评！", "The delivery was late and the box was damaged"])
[['物流', '太慢', '差评'], ['delivery', 'late', 'box', 'damaged']]
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from clvlab.errors import check_param
from clvlab.text.language import has_cjk

Lang = Literal["zh", "en", "auto"]

#: customer-feedback words jieba's dictionary splits (不满意 -> 不 / 满意); kept whole here
_EXTRA_ZH_WORDS = (
    "差评", "不满意", "不推荐", "不值", "不值得", "不好用", "不好吃", "不划算", "不新鲜", "不舒服",
    "没问题", "性价比高", "性价比低", "发货慢", "退款", "送货上门", "七天无理由",
    "再也不买", "不会再买", "换一家", "升级", "会员",
)

_URL = re.compile(r"https?://\S+|www\.\S+|@\w+", re.IGNORECASE)
_EN_WORD = re.compile(r"[a-z][a-z0-9]*(?:'[a-z]+)*|[0-9]+[a-z]+[a-z0-9]*")
_KEEP_ZH = re.compile(r"[\w\u3400-\u9fff]")
_NUMBER = re.compile(r"^[0-9.,%]+$")
#: break marker inside token sequences: a removed stopword or punctuation (phrases never span it)
BREAK = ""


@cache
def stopwords(lang: Literal["zh", "en"]) -> frozenset[str]:
    """The shipped stopword list for ``lang`` (lowercase; '#' lines are comments)."""
    check_param(lang in ("zh", "en"), "lang", "stopwords", "'zh' or 'en'", lang)
    text = resources.files("clvlab.text").joinpath(f"resources/stopwords_{lang}.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@cache
def _stop_all() -> frozenset[str]:
    return stopwords("zh") | stopwords("en")


@cache
def _jieba() -> object:
    import rjieba

    seg = rjieba.Jieba()  # our own instance: the module-level default stays untouched for others
    for word in _EXTRA_ZH_WORDS:
        seg.add_word(word, None, None)
    return seg


def _zh_tokens(text: str, stop: frozenset[str]) -> list[str]:
    seg = _jieba()
    out: list[str] = []
    for tok in seg.cut(_URL.sub(" ", text)):  # type: ignore[attr-defined]
        tok = tok.strip().lower()
        if not tok or _KEEP_ZH.search(tok) is None or _NUMBER.match(tok) or tok in stop:
            if out and out[-1] != BREAK:
                out.append(BREAK)
            continue
        out.append(tok)
    return out


def _en_tokens(text: str, stop: frozenset[str]) -> list[str]:
    text = _URL.sub(" . ", text.lower().replace("’", "'"))
    out: list[str] = []
    pos = 0
    for m in _EN_WORD.finditer(text):
        gap = text[pos : m.start()]
        pos = m.end()
        if out and out[-1] != BREAK and gap.strip():  # punctuation between words breaks a phrase
            out.append(BREAK)
        tok = m.group()
        if tok in stop or len(tok) < 2:
            if out and out[-1] != BREAK:
                out.append(BREAK)
            continue
        out.append(tok)
    return out


def token_sequences(
    texts: Iterable[str | None], lang: Lang | Sequence[str] = "auto"
) -> list[list[str]]:
    """Like :func:`tokenize` but keeps :data:`BREAK` markers where stopwords or punctuation were.

    Phrase counting uses these so that an n-gram never spans a removed word.
    """
    texts = list(texts)
    if isinstance(lang, str):
        check_param(lang in ("zh", "en", "auto"), "lang", "tokenize", "'zh', 'en', 'auto' or one per text", lang)
        langs: Sequence[str] = [lang] * len(texts)
    else:
        langs = list(lang)
        check_param(len(langs) == len(texts), "lang", "tokenize", f"one language per text ({len(texts)})", len(langs))
    stop_en, stop_all = stopwords("en"), _stop_all()
    result: list[list[str]] = []
    for text, lg in zip(texts, langs, strict=True):
        if not isinstance(text, str) or not text:
            result.append([])
            continue
        # Chinese segmentation whenever ideographs are present: rjieba splits Latin words too
        if lg == "zh" or (lg != "en" and has_cjk(text)):
            toks = _zh_tokens(text, stop_all)
        else:
            toks = _en_tokens(text, stop_en)
        if toks and toks[-1] == BREAK:
            toks.pop()
        result.append(toks)
    return result


def tokenize(texts: Iterable[str | None], lang: Lang | Sequence[str] = "auto") -> list[list[str]]:
    """Split each text into words, lowercased, stopwords and punctuation removed.

    Parameters
    ----------
    texts
        Comments; ``None`` or empty strings give an empty list.
    lang
        'zh', 'en', 'auto' (Chinese segmentation for texts holding CJK ideographs, the English
        tokenizer otherwise) or one of 'zh'/'en' per text (e.g. from :func:`clvlab.detect_language`).

    Returns
    -------
    list of list of str
        One word list per text, in text order.
    """
    return [[t for t in seq if t != BREAK] for seq in token_sequences(texts, lang)]


def _jieba_idf_path() -> Path | None:
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:  # pragma: no cover - jieba is a dependency
        return None
    path = Path(spec.origin).parent / "analyse" / "idf.txt"
    return path if path.is_file() else None


@cache
def jieba_idf() -> tuple[dict[str, float], float]:
    """jieba's shipped IDF table for Chinese words and its median (the value for unknown words)."""
    path = _jieba_idf_path()
    if path is None:  # pragma: no cover
        return {}, 10.0
    table: dict[str, float] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            word, _, val = line.rstrip("\n").rpartition(" ")
            if word:
                table[word] = float(val)
    values = sorted(table.values())
    return table, values[len(values) // 2]


def corpus_idf(docs: Sequence[Sequence[str]]) -> dict[str, float]:
    """Smoothed IDF from the comments themselves: ``log((1 + N) / (1 + df)) + 1``."""
    df: dict[str, int] = {}
    for doc in docs:
        for w in set(doc):
            df[w] = df.get(w, 0) + 1
    n = len(docs)
    return {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
