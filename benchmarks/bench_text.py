"""Comment analytics throughput: clvlab against the offline tools a user would otherwise pick.

Real comments from ``../shared/data/text`` (Chinese e-commerce reviews, English airline tweets):
- sentiment, zh: ``clvlab.sentiment`` vs ``snownlp.SnowNLP(text).sentiments`` (timed on a
  sample: it is ~100x slower; its rate is per text, so the ratio does not depend on the sample);
- sentiment, en: ``clvlab.sentiment`` vs VADER's ``polarity_scores``, on tweets and on hotel and
  clothing reviews (longer texts: ~100 words against ~18);
- keywords, zh: ``clvlab.text.keywords.comment_keywords`` vs ``jieba.analyse.extract_tags``
  (TF-IDF, the fastest keyword extractor in DESIGN.md §9).
Rates are texts per second after a warm-up call (models loaded once, as in a server).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "text"


def _zh(n: int) -> list[str]:
    with open(SHARED / "online_shopping_10_cats.csv", encoding="utf-8") as fh:
        rows = [r["review"].lstrip("\ufeff") for r in csv.DictReader(fh) if r["review"]]
    step = max(len(rows) // n, 1)
    return rows[::step][:n]


def _en(n: int) -> list[str]:
    with open(SHARED / "twitter_us_airline_sentiment.csv", encoding="utf-8") as fh:
        rows = [r["text"] for r in csv.DictReader(fh)]
    step = max(len(rows) // n, 1)
    return rows[::step][:n]


def _en_reviews(n: int) -> list[str]:
    with open(SHARED / "tripadvisor_hotel_reviews_sample.csv", encoding="utf-8") as fh:
        rows = [r["Review"] for r in csv.DictReader(fh) if r["Review"]]
    with open(SHARED / "womens_clothing_reviews_sample.csv", encoding="utf-8") as fh:
        rows += [r["Review Text"] for r in csv.DictReader(fh) if r["Review Text"]]
    step = max(len(rows) // n, 1)
    return rows[::step][:n]


def _rate(fn: Callable[[Sequence[str]], Any], texts: Sequence[str]) -> float:
    fn(texts[:50])  # warm-up: load models and dictionaries
    start = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - start)


def _row(name: str, n: int, ours: float, theirs: float, notes: str) -> dict[str, Any]:
    # seconds per 1,000 texts, so the table reads like the other benchmarks (lower is faster)
    return {"benchmark": f"{name}, {n:,} comments (s per 1,000)", "ours_s": round(1000 / ours, 4),
            "theirs_s": round(1000 / theirs, 4), "ratio": round(ours / theirs, 2), "notes": f"{ours:,.0f} vs {theirs:,.0f} texts/s; {notes}"}


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows {benchmark, ours_s, theirs_s (seconds per 1,000 texts), ratio, notes}."""
    import jieba.analyse
    from snownlp import SnowNLP
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    import clvlab
    from clvlab.text.keywords import comment_keywords

    n = 2_000 if quick else 10_000
    zh, en, reviews = _zh(n), _en(n), _en_reviews(n // 4)
    vader = SentimentIntensityAnalyzer()
    sample = zh[: 100 if quick else 300]
    rows = [
        _row("sentiment zh", n, _rate(clvlab.sentiment, zh),
             _rate(lambda ts: [SnowNLP(t).sentiments for t in ts], sample),
             f"vs snownlp (timed on {len(sample)} texts)"),
        _row("sentiment en", n, _rate(clvlab.sentiment, en),
             _rate(lambda ts: [vader.polarity_scores(t) for t in ts], en), "vs VADER"),
        _row("sentiment en reviews", len(reviews), _rate(clvlab.sentiment, reviews),
             _rate(lambda ts: [vader.polarity_scores(t) for t in ts], reviews), "vs VADER, hotel + clothing reviews"),
        _row("keywords zh", n, _rate(lambda ts: comment_keywords(ts, top=5), zh),
             _rate(lambda ts: [jieba.analyse.extract_tags(t, topK=5) for t in ts], zh),
             "vs jieba.analyse TF-IDF"),
        _row("analyze_text zh+en (sentiment, keywords, themes, intents)", 2 * n,
             _rate(lambda ts: clvlab.analyze_text(list(ts)), [*zh, *en]),
             _rate(lambda ts: [(SnowNLP(t).sentiments, jieba.analyse.extract_tags(t, topK=5)) for t in ts],
                   sample),
             f"vs snownlp sentiment + jieba.analyse keywords (timed on {len(sample)} zh texts)"),
    ]
    return rows
