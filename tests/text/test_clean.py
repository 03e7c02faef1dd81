"""clean_text and mask_pii: normalisation, each kind of personal data, checksums, speed."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlab.text.clean import clean_text, is_valid_luhn, is_valid_resident_id, mask_pii


def test_clean_text_bom_controls_fullwidth_and_whitespace() -> None:
    """BOM, control and zero-width characters go; full-width letters, digits and spaces fold to
    ASCII; Chinese full-width punctuation stays; whitespace runs become one space."""
    raw = "\ufeff  快递\u3000太慢了！\x07 ＡＢＣ１２３\u200b\r\n\tok  "
    assert clean_text(raw) == "快递 太慢了！ ABC123 ok"
    assert clean_text("  \n\t ") is None
    assert clean_text(["a  b", None, "a  b"]) == ["a b", None, "a b"]
    s = clean_text(pd.Series(["x\u00a0y", None]))
    assert s.tolist() == ["x y", None]


@pytest.mark.parametrize(("text", "expected"), [
    ("电话 +86 138-0013-8000，邮箱 li.lei@example.com", "电话 [PHONE]，邮箱 [EMAIL]"),
    ("手机13800138000谢谢", "手机[PHONE]谢谢"),
    ("0086 139 1234 5678", "[PHONE]"),
    ("座机010-62345678，(021) 6123 4567", "座机[PHONE]，[PHONE]"),
    ("call me at (415) 555-2671 or +44 20 7946 0958", "call me at [PHONE] or [PHONE]"),
    ("１３８００１３８０００ 和 ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "[PHONE] 和 [EMAIL]"),
    ("card 4111 1111 1111 1111 charged", "card [CARD] charged"),
    ("卡号6222-0200-0000-0000-009", "卡号6222-0200-0000-0000-009"),  # Luhn fails
    ("order #123456789 arrived 2015-02-24 11:35, 3 days late",
     "order #123456789 arrived 2015-02-24 11:35, 3 days late"),
    ("I paid $1,234.50 on 12/01/2015, flight 1234", "I paid $1,234.50 on 12/01/2015, flight 1234"),
])
def test_mask_pii_cases(text: str, expected: str) -> None:
    """Each kind of personal data becomes its token; dates, prices, short numbers stay."""
    assert mask_pii(text) == expected


def test_resident_id_checksum_decides() -> None:
    """GB 11643-1999 example ID 11010519491231002X (MOD 11-2 check 'X') is masked; the same
    digits with a wrong check character are an order number and stay; so does a valid
    checksum with an impossible date (Feb 30)."""
    assert is_valid_resident_id("11010519491231002X")
    assert is_valid_resident_id("11010519491231002x")
    assert not is_valid_resident_id("110105194912310021")
    assert mask_pii("身份证11010519491231002X") == "身份证[ID]"
    assert mask_pii("订单110105194912310021") == "订单110105194912310021"
    # 440524188001010014 is the second GB 11643 example (check digit 4)
    assert is_valid_resident_id("440524188001010014")
    assert mask_pii("ID 440524188001010014.") == "ID [ID]."
    assert not is_valid_resident_id("440524188002300014")
    assert mask_pii("旧身份证 110105491231002") == "旧身份证 [ID]"
    assert mask_pii("旧号 110105491331002") == "旧号 110105491331002"  # month 13


def test_luhn() -> None:
    """Luhn: the standard test card numbers pass, one changed digit fails."""
    for good in ("4111111111111111", "5500005555555559", "378282246310005", "6011111111111117"):
        assert is_valid_luhn(good), good
        assert mask_pii(f"no {good} x") == "no [CARD] x"
    assert not is_valid_luhn("4111111111111112")
    assert mask_pii("order 4111111111111112") == "order 4111111111111112"
    assert not is_valid_luhn("41a1")


def test_shapes_and_missing_values() -> None:
    """str in, str out; lists keep None and NaN as None; Series keep their index."""
    assert mask_pii(None) is None
    assert mask_pii(["a@b.co", None, float("nan")]) == ["[EMAIL]", None, None]
    s = mask_pii(pd.Series(["x 13800138000", "y"], index=[5, 7]))
    assert s.to_dict() == {5: "x [PHONE]", 7: "y"}
    with pytest.raises(TypeError, match="expected a string"):
        mask_pii(5)  # type: ignore[call-overload]


def test_real_comments_fast_enough(shared_data: object) -> None:
    """100,000 distinct real zh/en comments are cleaned and masked, and the corpus's own phone
    numbers and e-mails are caught (speed: docs/text.md)."""
    from pathlib import Path

    text = Path(str(shared_data)) / "text"
    zh = pd.read_csv(text / "online_shopping_10_cats.csv").review.dropna().astype(str)
    en = pd.read_csv(text / "twitter_us_airline_sentiment.csv").text.astype(str)
    base = [*zh.tolist(), *en.tolist()]
    texts = [f"{base[i % len(base)]} {i}" for i in range(100_000)]
    out = mask_pii(texts)
    masked = [o for o in out if o and ("[PHONE]" in o or "[EMAIL]" in o)]
    assert len(masked) > 50
    assert not any("@" in o and ".com" in o.split("@")[1][:30] for o in masked if "@" in o)


def test_clean_text_removes_markup_surrogates_and_colour_codes() -> None:
    """Issue 7 A23: HTML tags, script blocks, entities, ANSI codes and lone surrogates go, per text."""
    raw = [
        "Great <script>var x = 1;</script>service&nbsp;here",
        "<p>Fast&nbsp;delivery &amp; a <b>good</b> price<br/></p>",
        "\x1b[31mterrible\x1b[0m box, [1;33mbroken[0m",
        "bad \ud800 thing",
        "price < 5 and x>3, AT&T R&D, i &lt;3 it",
        "物流很快<br>包装完好&#183;满意",
    ]
    assert clean_text(raw) == [
        "Great service here",
        "Fast delivery & a good price",
        "terrible box, broken",
        "bad thing",
        "price < 5 and x>3, AT&T R&D, i <3 it",
        "物流很快 包装完好·满意",
    ]
    assert clean_text("<b></b>&nbsp;") is None
