"""analyze_text by group on small frames; themes over time; the CLI library path."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from clvlab.errors import DataValidationError, ParameterError
from clvlab.text.analyze import TextAnalysis, analyze_text

FRAME = pd.DataFrame({
    "comment": [
        "物流太慢了，等了一个星期才到货，差评", "快递太慢，包装也破了", "配送很慢，不满意",
        "Great staff, very friendly service", "The staff were helpful and friendly", "Friendly staff, thank you!",
        "Do you have a bigger plan?", None,
    ],
    "touchpoint": ["delivery", "delivery", "delivery", "store", "store", "store", "app", "app"],
    "responded_at": pd.to_datetime(["2024-01-03", "2024-01-20", "2024-02-02", "2024-01-05", "2024-02-11",
                                    "2024-02-12", "2024-02-13", "2024-02-14"]),
})


@pytest.fixture(scope="module")
def result() -> TextAnalysis:
    """The small frame analysed by touchpoint, with dates."""
    return analyze_text(FRAME, by="touchpoint", dates="responded_at")


def test_per_comment_columns(result: TextAnalysis) -> None:
    """One row per comment with language, sentiment, keywords, themes and intents."""
    c = result.comments
    assert len(c) == len(FRAME)
    assert {"text", "group", "date", "lang", "sentiment", "sentiment_score", "keywords", "themes", "intents"} <= set(c.columns)
    assert c["lang"].iloc[0] == "zh"
    assert c["lang"].iloc[3] == "en"
    assert "delivery" in c["themes"].iloc[0]
    assert "complaint" in c["intents"].iloc[0]
    assert c["intents"].iloc[6] == ["upsell", "question"]
    assert c["themes"].iloc[7] == []


def test_groups_summarise_words_themes_intents(result: TextAnalysis) -> None:
    """Per touchpoint: n, keywords that distinguish it, theme and intent counts."""
    g = result.groups
    assert list(g.index) == ["delivery", "store", "app"]
    assert g.loc["delivery", "n"] == 3
    assert g.loc["delivery", "themes"]["delivery"] == 3
    assert g.loc["delivery", "intents"]["complaint"] == 3
    assert "staff" in g.loc["store", "keywords"]
    assert g.loc["store", "intents"]["praise"] == 3
    assert g.loc["store", "themes"]["service"] == 3
    assert g.loc["store", "top_words"][:2] == [["friendly", 3], ["staff", 3]]  # ties alphabetical


def test_sentiment_shares_come_from_clvlab_sentiment(result: TextAnalysis) -> None:
    """Shares of labels sum to 1 where the sentiment model scored comments."""
    g = result.groups
    scored = g[["positive", "neutral", "negative"]].dropna()
    if len(scored):  # clvlab.sentiment present: delivery complaints lean negative, staff praise positive
        assert ((scored.sum(axis=1) - 1).abs() < 1e-9).all()
        assert g.loc["delivery", "negative"] > g.loc["store", "negative"]


def test_themes_over_time(result: TextAnalysis) -> None:
    """Monthly counts of each theme with the month's comment total."""
    tot = result.themes_over_time
    assert tot is not None
    jan = tot[(tot["period"] == "2024-01") & (tot["theme"] == "delivery")]
    assert int(jan["n"].iloc[0]) == 2
    assert int(jan["comments"].iloc[0]) == 3


def test_to_dict_is_json(result: TextAnalysis) -> None:
    """The result serialises to JSON (what `clvlab voc text --json` prints)."""
    doc = json.loads(json.dumps(result.to_dict(comments=True), ensure_ascii=False, default=str))
    assert doc["groups"][0]["group"] == "delivery"
    assert len(doc["comments"]) == len(FRAME)


def test_plain_list_without_groups() -> None:
    """A list of texts gives one 'all' group; lang can be forced."""
    res = analyze_text(["房间很干净", "早餐难吃", "早餐难吃，房间小"], lang="zh", with_sentiment=False)
    assert list(res.groups.index) == ["all"]
    assert res.groups.loc["all", "n"] == 3
    assert "难吃" in res.groups.loc["all", "keywords"]
    assert res.themes_over_time is None


def test_bad_arguments_are_located() -> None:
    """Unknown column, wrong length, bad lang: errors say what and how to fix."""
    with pytest.raises(DataValidationError, match="'by' names column 'store'"):
        analyze_text(FRAME, by="store")
    with pytest.raises(ParameterError, match="one value per comment"):
        analyze_text(["a", "b"], by=["x"])
    with pytest.raises(ParameterError, match="'lang' parameter"):
        analyze_text(["a"], lang="fr")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="no text column 'comment'"):
        analyze_text(pd.DataFrame({"text": ["a"]}))


@pytest.mark.slow
def test_ten_thousand_real_comments_by_group(shared_data: Path) -> None:
    """10k real comments (5k Chinese reviews + 5k airline tweets) by category/airline: every comment
    is counted in its group (throughput: benchmarks/bench_text.py)."""
    shop = pd.read_csv(shared_data / "text" / "online_shopping_10_cats.csv").dropna().sample(5000, random_state=1)
    tw = pd.read_csv(shared_data / "text" / "twitter_us_airline_sentiment.csv").sample(5000, random_state=1)
    frame = pd.DataFrame({"comment": [*shop["review"], *tw["text"]], "group": [*shop["cat"], *tw["airline"]]})
    res = analyze_text(frame, by="group", with_sentiment=False)
    assert res.groups["n"].sum() == len(frame)
    assert len(res.groups) == frame["group"].nunique()


def test_forced_language_reaches_sentiment() -> None:
    """Issue 7 A12: lang='zh' / 'en' is the language sentiment scores with, not a fresh detection."""
    from clvlab.text.sentiment import sentiment

    texts = ["质量很好 but the delivery was late and the box was damaged", "The room was 很干净"]
    for lang in ("zh", "en"):
        got = analyze_text(texts, lang=lang, discover=False).comments["sentiment_score"]
        want = sentiment(texts, lang=lang)["score"]
        assert got.tolist() == pytest.approx(want.tolist())
    auto = analyze_text(texts, discover=False).comments["sentiment_score"]
    forced = analyze_text(texts, lang="zh", discover=False).comments["sentiment_score"]
    assert auto.tolist() != pytest.approx(forced.tolist())


def test_bad_rows_are_cleaned_one_by_one() -> None:
    """Issue 7 A23: a lone surrogate fails nothing; HTML and terminal colour codes never become keywords."""
    texts = [
        "The delivery was late \ud800 again",
        "Great <script>alert(1)</script> service&nbsp;here, friendly staff",
        "\x1b[31mterrible\x1b[0m packaging, [1;33mbroken[0m box",
        "<p>Fast&nbsp;delivery &amp; good <b>price</b></p>",
        "物流很快<br/>包装完好",
    ] * 5
    res = analyze_text(texts, discover=False)
    com = res.comments
    assert len(com) == len(texts)
    assert com["sentiment"].notna().all()
    assert com["text"].iloc[0] == "The delivery was late again"
    assert com["text"].iloc[3] == "Fast delivery & good price"
    words = {w for kws in com["keywords"] for w in kws}
    words |= {w for ws in res.groups["top_words"] for w, _ in ws}
    assert not words & {"script", "alert", "nbsp", "amp", "br", "31m", "0m", "33m", "1;33m", "lt", "gt"}, words
    assert {"delivery", "terrible", "broken"} <= words
