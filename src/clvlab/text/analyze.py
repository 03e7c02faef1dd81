"""``clvlab.analyze_text``: language, sentiment, keywords, themes and intents per comment and per group.

Examples
--------
>>> import clvlab
>>> res = clvlab.analyze_text(["物流太慢了，差评！", "Great service, thank you!"] * 3,
...                           by=["app", "store"] * 3)              # doctest: +SKIP
>>> res.groups[["n", "keywords", "themes", "intents"]]               # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, check_param
from clvlab.text.clean import clean_text
from clvlab.text.intents import INTENTS, detect_intents
from clvlab.text.keywords import (
    comment_keywords,
    corpus_keywords,
    group_keywords,
    phrases,
    word_frequency,
)
from clvlab.text.segment import BREAK, token_sequences
from clvlab.text.themes import THEMES, Theme, assign_themes

SENTIMENT_LABELS = ("positive", "neutral", "negative")


@dataclass
class TextAnalysis:
    """What :func:`analyze_text` found.

    Attributes
    ----------
    comments
        One row per comment: ``text`` (as cleaned by :func:`clvlab.clean_text`), ``group``, ``date`` (when given), ``lang``, ``sentiment``
        (label), ``sentiment_score`` (in [-1, 1]), ``keywords``, ``themes``, ``intents`` (lists).
    groups
        One row per group (index ``group``; a single ``"all"`` row without ``by``): ``n``,
        ``top_words`` (list of [word, count]), ``keywords`` (what distinguishes the group),
        ``phrases``, ``themes`` and ``intents`` (dict name -> comments), and the shares
        ``positive``, ``neutral``, ``negative`` of comments by sentiment label.
    themes
        The themes found: ``theme``, ``label``, ``source`` ('curated' or 'discovered'),
        ``keywords`` (the terms that matched, most frequent first), ``n`` (comments, merged
        discovered themes included) and ``merged_into`` (for a merged discovered theme).
    themes_over_time
        With dates: long table ``period``, ``theme``, ``n``, ``comments`` (all comments in the
        period) and ``share``; otherwise ``None``.
    """

    comments: pd.DataFrame
    groups: pd.DataFrame
    themes: pd.DataFrame
    themes_over_time: pd.DataFrame | None = None

    def to_dict(self, *, comments: bool = False) -> dict[str, Any]:
        """Plain JSON-ready dict (groups, themes, themes over time; per-comment rows on request)."""
        out: dict[str, Any] = {
            "groups": [{"group": str(g), **_plain(row)} for g, row in self.groups.iterrows()],
            "themes": [_plain(r) for _, r in self.themes.iterrows()],
        }
        if self.themes_over_time is not None:
            out["themes_over_time"] = [_plain(r) for _, r in self.themes_over_time.iterrows()]
        if comments:
            out["comments"] = [_plain(r) for _, r in self.comments.iterrows()]
        return out


def _plain(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, float | np.floating) and np.isnan(v):
            out[str(k)] = None
        elif isinstance(v, np.generic):
            out[str(k)] = v.item()
        elif isinstance(v, pd.Timestamp | pd.Period):
            out[str(k)] = str(v)
        else:
            out[str(k)] = v
    return out


def _column(values: Any, frame: pd.DataFrame | None, name: str, n: int) -> list[Any] | None:
    if values is None:
        return None
    if isinstance(values, str):
        if frame is None or values not in frame.columns:
            have = ", ".join(map(str, frame.columns)) if frame is not None else "none (texts is not a DataFrame)"
            msg = f"analyze_text: '{name}' names column {values!r}, which is not there (columns: {have})"
            raise DataValidationError(msg, hint=f"pass a DataFrame holding {values!r}, or a sequence with one value per comment")
        return list(frame[values])
    out = list(values)
    check_param(len(out) == n, name, "analyze_text", f"a column name or one value per comment ({n})", f"{len(out)} values")
    return out


def _languages(texts: list[str | None], lang: str) -> list[str]:
    """Language of each comment: clvlab.detect_language, or the forced ``lang``."""
    if lang != "auto":
        return [lang] * len(texts)
    from clvlab.text.language import detect_language

    return [str(x) for x in detect_language(texts)]


def _sentiment(texts: list[str | None], lang: str) -> tuple[list[Any], list[float]]:
    """Sentiment label and score per comment from clvlab.sentiment (the one place it is called).

    ``lang`` is analyze_text's: 'auto' lets sentiment detect it per comment, 'zh' or 'en' forces
    that model. Missing texts, or a missing sentiment module, give ``None`` / NaN.
    """
    try:
        from clvlab.text.sentiment import sentiment
    except ImportError:  # the sentiment model is optional for keywords, themes and intents
        return [None] * len(texts), [float("nan")] * len(texts)
    idx = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    labels: list[Any] = [None] * len(texts)
    scores = [float("nan")] * len(texts)
    if idx:
        frame = sentiment([texts[i] for i in idx], lang=None if lang == "auto" else lang)
        for j, i in enumerate(idx):
            labels[i] = frame["label"].iloc[j]
            scores[i] = float(frame["score"].iloc[j])
    return labels, scores


def analyze_text(
    texts: Sequence[str | None] | pd.Series | pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    dates: str | Sequence[Any] | None = None,
    lang: Literal["auto", "zh", "en"] = "auto",
    text_column: str = "comment",
    top: int = 10,
    freq: str = "M",
    discover: bool = True,
    n_themes: int = 5,
    themes: Sequence[Theme] = THEMES,
    merge: Mapping[str, str] | Literal["auto"] | None = None,
    with_sentiment: bool = True,
) -> TextAnalysis:
    """Analyse comments: language, sentiment, keywords, themes and intents, per comment and group.

    Parameters
    ----------
    texts
        Comments (a sequence or Series), or a DataFrame holding them in ``text_column``.
    by
        Group of each comment (a sequence), or a column of ``texts`` (e.g. 'touchpoint').
    dates
        Date of each comment, or a column; adds :attr:`TextAnalysis.themes_over_time` by ``freq``.
    lang
        'auto' (per comment, :func:`clvlab.detect_language`), or force 'zh' or 'en'.
    top
        Words, keywords and phrases kept per group; keywords per comment are ``min(top, 5)``.
    freq
        Period of ``themes_over_time``: 'D', 'W', 'M', 'Q' or 'Y'.
    discover
        Propose NMF themes for comments no curated theme matches.
    n_themes
        Upper bound on discovered themes.
    themes
        The curated taxonomy (default :data:`clvlab.text.themes.THEMES`).
    merge
        Count discovered themes under named ones: a mapping (discovered id -> theme id), or
        ``"auto"`` for the suggestion by keyword overlap (:func:`clvlab.text.themes.suggest_merges`).
        The themes table then says which discovered theme went where (``merged_into``).
    with_sentiment
        Score sentiment with :func:`clvlab.sentiment` (off: the columns stay empty). The scores
        also feed complaint and praise in :func:`~clvlab.text.intents.detect_intents`.

    Returns
    -------
    TextAnalysis
    """
    check_param(lang in ("auto", "zh", "en"), "lang", "analyze_text", "'auto', 'zh' or 'en'", lang)
    check_param(isinstance(top, int) and top >= 1, "top", "analyze_text", "an int >= 1", top)
    check_param(freq in ("D", "W", "M", "Q", "Y"), "freq", "analyze_text", "one of 'D', 'W', 'M', 'Q', 'Y'", freq)
    frame: pd.DataFrame | None = None
    if isinstance(texts, pd.DataFrame):
        frame = texts
        if text_column not in frame.columns:
            msg = f"analyze_text: no text column {text_column!r} (columns: {', '.join(map(str, frame.columns))})"
            raise DataValidationError(msg, hint="pass text_column='<your comment column>'")
        raw = list(frame[text_column])
    else:
        raw = list(texts)
    # each comment cleaned on its own (markup, lone surrogates, controls): one bad row never fails the batch
    txt: list[str | None] = clean_text([t if isinstance(t, str) else None for t in raw])
    n = len(txt)
    groups = _column(by, frame, "by", n)
    group_of: list[Hashable] = ["all"] * n if groups is None else ["(missing)" if _isna(g) else g for g in groups]
    date_list = _column(dates, frame, "dates", n)

    langs = _languages(txt, lang)
    tok_lang = ["zh" if lg == "zh" else "en" if lg in ("en", "other") else "auto" for lg in langs]
    seqs = token_sequences(txt, tok_lang)
    docs = [[t for t in s if t != BREAK] for s in seqs]
    labels, scores = _sentiment(txt, lang) if with_sentiment else ([None] * n, [float("nan")] * n)
    kw = comment_keywords(docs, top=min(top, 5))
    theme_lists, theme_rows = assign_themes(
        txt, docs, themes=themes, discover=discover, n_themes=n_themes, merge=merge
    )
    intents = detect_intents(txt, scores=scores)  # NaN scores (no sentiment): rules only

    comments = pd.DataFrame({
        "text": txt, "group": group_of, "lang": langs, "sentiment": labels, "sentiment_score": scores,
        "keywords": kw, "themes": theme_lists, "intents": intents,
    })
    if date_list is not None:
        comments.insert(2, "date", pd.to_datetime(pd.Series(date_list), errors="coerce"))
    per_group = _groups(comments, docs, seqs, top)
    over_time = _over_time(comments, freq) if date_list is not None else None
    return TextAnalysis(comments=comments, groups=per_group, themes=theme_rows, themes_over_time=over_time)


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _groups(comments: pd.DataFrame, docs: list[list[str]], seqs: list[list[str]], top: int) -> pd.DataFrame:
    group_of = list(comments["group"])
    names = list(dict.fromkeys(group_of))
    if len(names) > 1:
        kws = {g: [w for w, _ in v] for g, v in group_keywords(docs, group_of, top=top).items()}
    else:
        kws = {names[0]: [w for w, _ in corpus_keywords(docs, top=top)]} if names else {}
    rows = []
    for g in names:
        idx = [i for i, x in enumerate(group_of) if x == g]
        sub = comments.iloc[idx]
        freq = word_frequency([docs[i] for i in idx], top=top)
        ph = phrases([seqs[i] for i in idx], min_count=2, top=top)
        theme_counts = Counter(t for ts in sub["themes"] for t in ts)
        intent_counts = Counter(t for ts in sub["intents"] for t in ts)
        scored = sub["sentiment"].dropna()
        shares = {lab: (float((scored == lab).mean()) if len(scored) else float("nan")) for lab in SENTIMENT_LABELS}
        rows.append({
            "group": g, "n": len(idx),
            "top_words": [[w, int(c)] for w, c in zip(freq["word"], freq["count"], strict=True)],
            "keywords": kws.get(g, []),
            "phrases": list(ph["phrase"]),
            "themes": dict(theme_counts.most_common()),
            "intents": {k: intent_counts[k] for k in INTENTS if intent_counts[k]},
            **shares,
            "sentiment_score": float(np.nanmean(sub["sentiment_score"])) if sub["sentiment_score"].notna().any() else float("nan"),
        })
    return pd.DataFrame(rows).set_index("group") if rows else pd.DataFrame(columns=["n"])


def _over_time(comments: pd.DataFrame, freq: str) -> pd.DataFrame:
    dated = comments.dropna(subset=["date"])
    if dated.empty:
        return pd.DataFrame(columns=["period", "theme", "n", "comments", "share"])
    dates = dated["date"]
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    period = dates.dt.to_period(freq).astype(str)
    totals = period.value_counts()
    long = pd.DataFrame({"period": period, "theme": dated["themes"]}).explode("theme").dropna(subset=["theme"])
    counts = long.groupby(["period", "theme"]).size().rename("n").reset_index()
    counts["comments"] = counts["period"].map(totals).astype(int)
    counts["share"] = counts["n"] / counts["comments"]
    return counts.sort_values(["period", "n", "theme"], ascending=[True, False, True]).reset_index(drop=True)
