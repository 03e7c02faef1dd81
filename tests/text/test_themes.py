"""Curated themes on hand-written zh/en examples, and NMF themes for the rest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clvlab.errors import ParameterError
from clvlab.text.segment import tokenize
from clvlab.text.themes import (
    THEMES,
    Theme,
    discover_themes,
    find_themes,
    match_themes,
    theme_table,
)

EXAMPLES = [
    ("物流太慢了，等了一个星期才到货", {"delivery", "waiting"}),
    ("快递员态度很差，包装也破损了", {"delivery", "service", "packaging"}),
    ("价格实惠，性价比很高", {"price"}),
    ("质量不行，用了两天就坏了，申请退货", {"quality", "returns"}),
    ("这个APP老是闪退，登录不了", {"website_app"}),
    ("排队排了半个小时，收银员还算客气", {"waiting", "payment"}),
    ("酒店环境很好，房间干净，就是隔音差", {"environment"}),
    ("尺码偏小，建议买大一号", {"size_fit"}),
    ("水果不新鲜，有的都烂了", {"taste_freshness"}),
    ("收到的颜色和图片不一样", {"as_described"}),
    ("The delivery was late and the box was damaged", {"delivery", "waiting", "packaging"}),
    ("Way too expensive for what you get", {"price"}),
    ("Customer service was rude and unhelpful", {"service"}),
    ("I asked for a refund two weeks ago", {"returns"}),
    ("The website keeps crashing at checkout", {"website_app", "payment"}),
    ("Waited 2 hours on hold", {"waiting"}),
    ("The store was dirty and noisy", {"environment"}),
    ("Shirt is too small, poor quality fabric", {"size_fit", "quality"}),
    ("The food was stale", {"taste_freshness"}),
    ("Item not as described", {"as_described"}),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_curated_themes_on_hand_written_examples(text: str, expected: set[str]) -> None:
    """Hand-written comments get exactly the themes a reader would assign."""
    assert set(match_themes([text])[0]) == expected


def test_no_false_theme_from_substrings() -> None:
    """'happy' is no app, '宝贵' no price, 'return flight' no refund, '出差' nothing."""
    assert match_themes(["happy with it", "宝贵的经验", "my return flight", "出差住了一晚"]) == [[], [], [], []]


def test_english_terms_match_inside_chinese_text() -> None:
    """'APP' between Chinese characters is found (no \\b there)."""
    assert "website_app" in match_themes(["这个APP不好用"])[0]


def test_find_themes_returns_matched_terms() -> None:
    """The evidence words come back lowercased, in order."""
    assert find_themes(["Refund please, the Box was crushed"])[0] == {"packaging": ["box"], "returns": ["refund"]}


def test_custom_taxonomy() -> None:
    """A user theme list replaces the default."""
    mine = [Theme("wifi", "Wi-Fi", "无线网络", ("网络", "wifi"), ("wi-?fi",))]
    assert match_themes(["酒店网络太慢", "no wifi in the room"], themes=mine) == [["wifi"], ["wifi"]]


def test_taxonomy_table_documents_every_theme() -> None:
    """Every curated theme has both labels, a description and terms in both languages."""
    table = theme_table()
    assert len(table) == len(THEMES) >= 10
    assert table["theme"].is_unique
    for col in ("label_en", "label_zh", "description"):
        assert (table[col].str.len() > 0).all()
    assert (table["zh_terms"].map(len) > 0).all()
    assert (table["en_terms"].map(len) > 0).all()


def test_discover_themes_on_unmatched_real_reviews(shared_data: Path) -> None:
    """Real reviews no curated theme matches get NMF themes named by their keywords."""
    frame = pd.read_csv(shared_data / "text" / "online_shopping_10_cats.csv").dropna()
    texts = frame.sample(3000, random_state=0)["review"].astype(str).tolist()
    rest = [t for t, th in zip(texts, match_themes(texts), strict=True) if not th]
    assert len(rest) > 200
    assigned, table = discover_themes(tokenize(rest), n_themes=4)
    assert 1 <= len(table) <= 4
    assert table["theme"].str.startswith("auto:").all()
    assert sum(a is not None for a in assigned) == table["n"].sum()
    assert all(len(k) >= 3 for k in table["keywords"])


def test_discover_themes_needs_enough_comments() -> None:
    """Too few comments: nothing proposed, nothing assigned."""
    assigned, table = discover_themes([["a", "b"]] * 5)
    assert assigned == [None] * 5
    assert table.empty


@pytest.fixture(scope="module")
def airline_complaints(shared_data: Path) -> list[str]:
    """3,000 real complaint tweets: late and cancelled flights, lost luggage, customer service."""
    tw = pd.read_csv(shared_data / "text" / "twitter_us_airline_sentiment.csv")
    reasons = ["Late Flight", "Lost Luggage", "Customer Service Issue", "Cancelled Flight"]
    return list(tw[tw["negativereason"].isin(reasons)].sample(3000, random_state=1)["text"])


@pytest.mark.slow
def test_discovered_themes_merge_into_named_ones(airline_complaints: list[str]) -> None:
    """Issue 7 A11: discovered themes can be counted under named ones, by mapping or by suggestion.

    Lost-luggage tweets ("my bags never arrived") say little the delivery terms match; discovery
    puts them in themes named by 'bags'/'bag', which share their keywords with the words of the
    comments the delivery terms did match, so 'auto' merges them into delivery and its count grows.
    """
    from clvlab.text.analyze import analyze_text
    from clvlab.text.themes import assign_themes

    plain = analyze_text(airline_complaints, with_sentiment=False).themes.set_index("theme")
    auto = analyze_text(airline_complaints, with_sentiment=False, merge="auto")
    table = auto.themes.set_index("theme")
    merged = table[table["merged_into"].notna()]
    bag_themes = [t for t in merged.index if "bag" in t]
    assert bag_themes
    assert set(merged.loc[bag_themes, "merged_into"]) == {"delivery"}
    assert table.loc["delivery", "n"] == plain.loc["delivery", "n"] + merged.loc[merged["merged_into"] == "delivery", "n"].sum()
    plain_lists = analyze_text(airline_complaints, with_sentiment=False).comments["themes"]
    for before, after in zip(plain_lists, auto.comments["themes"], strict=True):
        if set(before) & set(bag_themes):
            assert after == ["delivery"]
        else:
            assert after == before
    # a mapping of your own, and a located refusal of an unknown target
    docs = tokenize(airline_complaints)
    first = plain[plain["source"] == "discovered"].index[0]
    lists, mine = assign_themes(airline_complaints, docs, merge={first: "service"})
    assert mine.set_index("theme").loc[first, "merged_into"] == "service"
    assert not any(first in ts for ts in lists)
    with pytest.raises(ParameterError, match="merge"):
        assign_themes(airline_complaints, docs, merge={first: "no_such_theme"})
