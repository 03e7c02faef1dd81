"""Named themes of customer feedback: a curated zh+en taxonomy, plus NMF themes for the rest.

The curated taxonomy (:data:`THEMES`) covers what retail, e-commerce, hospitality and travel
feedback is about. Each theme lists Chinese terms (matched as substrings: Chinese has no word
boundaries) and English terms (regular expressions bounded by non-letters, case-insensitive, so they also match inside
Chinese text).
A comment may carry several themes. Themes are topical: "not clean" and "very clean" are both
*store environment*; whether it is praise or complaint is the job of sentiment and intents.

Comments no curated theme matches go through an unsupervised pass (:func:`discover_themes`):
NMF (Lee & Seung 1999; scikit-learn's coordinate-descent solver) on the TF-IDF of their words,
each component named by its top keywords, e.g. ``auto:早餐/免费/自助``. Those themes are
proposals for the taxonomy, not final names.

Extend the taxonomy by passing your own ``themes`` (a sequence of :class:`Theme`).

Discovered themes often hold what a named theme is about in words the taxonomy lacks (送货,
师傅, 上门 for delivery). :func:`suggest_merges` proposes, for each discovered theme, the named
theme its keywords match (by keyword overlap with the theme's terms), and :func:`merge_themes`
applies a mapping, yours or the suggested one, so the merged comments count under the named theme
(in :func:`clvlab.analyze_text` with ``merge=`` and in :func:`clvlab.nps_drivers` topic drivers).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from clvlab.errors import check_param
from clvlab.text.language import has_cjk


@dataclass(frozen=True)
class Theme:
    """One named theme: id, labels in both languages and the terms that signal it."""

    id: str
    label_en: str
    label_zh: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    description: str = ""

    def pattern(self) -> str:
        """The theme's terms as one regular expression (Chinese first, then English)."""
        parts = [*self.zh]
        if self.en:
            # ASCII-letter boundaries, not \b: in "的APP" there is no \b between 的 and A
            parts.append(r"(?<![A-Za-z])(?:" + "|".join(self.en) + r")(?![A-Za-z])")
        return "|".join(parts)


THEMES: tuple[Theme, ...] = (
    Theme(
        "delivery", "Delivery & logistics", "物流配送",
        ("物流", "快递", "发货", "送货", "配送", "到货", "收到货", "送达", "派送", "运输", "顺丰", "邮寄", "包邮", "签收"),
        (r"deliver(?:y|ies|ed|ing)?", r"ship(?:ping|ped|ment)?", "courier", "parcel", "tracking",
         r"dispatch(?:ed)?", r"arriv(?:e|ed|al)", "postage"),
        "Getting the goods to the customer: speed, courier, tracking, arrival.",
    ),
    Theme(
        "price", "Price & value", "价格性价比",
        ("价格", "价钱", "价位", "便宜", "(?<![宝珍尊])贵(?![宾州阳])", "性价比", "划算", "实惠", "优惠", "折扣", "打折",
         "降价", "涨价", "不值", "物有所值", "物超所值", "钱"),
        (r"pric(?:e|es|ed|ing|ey)", "overpriced", "expensive", r"cheap(?:er|est)?", "value for money",
         r"worth(?: it| the money)?", r"cost(?:s|ly)?", r"fees?", r"discount(?:s|ed)?", r"afford(?:able)?"),
        "What it costs and whether it is worth it.",
    ),
    Theme(
        "quality", "Product quality", "产品质量",
        ("质量", "品质", "做工", "材质", "面料", "瑕疵", "坏了", "故障", "毛病", "正品", "假货", "耐用", "好用",
         "效果", "性能", "掉色", "起球", "开线", "次品", "劣质", "死机", "发热", "续航", "电池"),
        ("quality", r"broke(?:n)?", r"defect(?:ive|s)?", "faulty", "durable", "flimsy", r"stopped working",
         r"(?:doesn't|does not|didn't) work", r"malfunction(?:s|ed)?", r"(?:well|poorly|cheaply) made", "fake",
         "counterfeit", "battery", r"performance"),
        "Whether the product works, lasts and is genuine.",
    ),
    Theme(
        "service", "Customer service & staff", "客服与员工服务",
        ("客服", "服务", "态度", "服务员", "前台", "店员", "工作人员", "售后", "导购", "热情", "耐心", "礼貌", "回复",
         "经理", "保安"),
        ("customer service", "service", "staff", r"agents?", "representatives?", r"employees?", "crew",
         r"attendants?", "rude", "helpful", "friendly", "polite", "support", r"managers?", "customer care"),
        "How people at the company treat the customer, in store, on the phone or online.",
    ),
    Theme(
        "packaging", "Packaging", "包装",
        ("包装", "盒子", "箱子", "外包装", "封口", "泡沫", "包得", "破损"),
        (r"packag(?:ing|ed)", "damaged", r"box(?:es)?", r"wrap(?:ping|ped)?", r"seal(?:ed)?", "bubble wrap"),
        "The box, wrapping and seal the goods came in.",
    ),
    Theme(
        "returns", "Returns & refunds", "退换货与退款",
        ("退货", "退款", "退换", "换货", "退钱", "七天无理由", "退回", "赔偿", "补偿"),
        (r"refund(?:s|ed)?", r"return(?:ed|ing)? (?:it|them|this|the (?:item|product|order))", "money back",
         r"send(?:ing)? it back", r"reimburs(?:e|ed|ement)", r"compensat(?:e|ion)", r"exchang(?:e|ed) (?:it|for)"),
        "Sending goods back, exchanges, refunds and compensation.",
    ),
    Theme(
        "website_app", "Website & app", "网站与应用",
        ("网站", "网页", "软件", "页面", "下单", "客户端", "闪退", "登录", "登陆", "注册", "小程序"),
        ("website", "site", "app", "online", r"log ?in", "password", "web ?page", r"crash(?:es|ed|ing)?",
         r"bugs?", r"glitch(?:es)?", "online booking"),
        "Ordering, booking and account handling on the web site or app.",
    ),
    Theme(
        "waiting", "Waiting time & queues", "等待与排队",
        ("排队", "等了", "等待", "等候", "久等", "太慢", "很慢", "半天", "延误", "晚点", "拖延", "磨蹭"),
        (r"wait(?:ed|ing)?", r"queues?", "on hold", "hold time", r"delay(?:ed|s)?", "late", "slow",
         r"took (?:forever|ages)", r"\d+ (?:hours?|hrs?|minutes?|mins?)"),
        "Time the customer lost: queues, holds, delays.",
    ),
    Theme(
        "environment", "Store & venue environment", "门店环境",
        ("环境", "卫生", "干净", "(?<![肮])脏", "整洁", "装修", "噪音", "(?<![争])吵", "隔音", "异味", "气味", "空调",
         "设施", "停车", "座位", "灯光", "厕所", "卫生间", "陈旧", "老旧", "破旧"),
        ("clean", "dirty", "environment", "atmosphere", r"nois(?:e|y)", r"smell(?:s|y)?", r"facilit(?:y|ies)",
         r"seats?", "seating", "cramped", "parking", "bathroom", r"toilets?", "decor"),
        "The place itself: cleanliness, noise, smell, facilities, seats, parking.",
    ),
    Theme(
        "payment", "Payment & checkout", "支付结账",
        ("付款", "支付", "结账", "收银", "发票", "扣款", "扣费", "刷卡", "支付宝", "微信支付", "优惠券", "积分", "账单"),
        (r"pay(?:ment|ments|ing)?", "paid", "checkout", r"charg(?:e|ed|es|ing)", "credit card", r"bill(?:ing|ed)?",
         "invoice", "receipt", r"coupons?", r"vouchers?", "points"),
        "Paying: methods, charges, invoices, coupons and points.",
    ),
    Theme(
        "size_fit", "Size & fit", "尺码合身",
        ("尺码", "尺寸", "偏大", "偏小", "合身", "码数", "大了", "小了", "太大", "太小", "太紧", "偏紧", "太肥"),
        ("size", "sizing", "fits?", "too small", "too big", "too large", "tight", "loose"),
        "Whether clothing and goods have the right size.",
    ),
    Theme(
        "taste_freshness", "Taste & freshness", "口味与新鲜度",
        ("味道", "口感", "好吃", "难吃", "新鲜", "口味", "变质", "过期", "烂了", "甜", "酸", "早餐"),
        (r"tast(?:e|y|ed)", "delicious", "fresh", "stale", r"flavou?rs?", "expired", "rotten", "food", r"meals?",
         "breakfast", "snacks?"),
        "Food and drink: taste, freshness, expiry.",
    ),
    Theme(
        "as_described", "Matches the description", "与描述相符",
        ("描述", "实物", "图片", "色差", "货不对板", "发错", "不符", "不一样"),
        ("as described", "not as described", "description", "pictured", "wrong item", r"different from the (?:picture|photo)"),
        "Whether what arrived is what was shown and ordered.",
    ),
)


_LEADING_LOOKBEHIND = re.compile(r"\(\?<!(\[[^\]]*\]|.)\)(.)(.*)", re.DOTALL)
_ASCII_RUN = re.compile(r"[ -~]{2,}")


def _behind_first(term: str) -> str:
    """``(?<!X)贵...`` -> ``贵(?<!X贵)...``: same matches, but the term now starts with a literal."""
    m = _LEADING_LOOKBEHIND.match(term)
    return f"{m.group(2)}(?<!{m.group(1)}{m.group(2)}){m.group(3)}" if m else term


def _first_chars(term: str) -> set[str] | None:
    """Characters a match of ``term`` can start with (``None`` when not simple enough to tell)."""
    if term.startswith("(?:"):
        depth, end = 0, -1
        for i, ch in enumerate(term):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                end = i
                break
        alts = term[3:end].split("|")
        if any(not a or a[0] in "\\([." for a in alts):
            return None
        return {a[0] for a in alts}
    return None if term[0] in "\\([." else {term[0]}


class TermMatcher:
    """Find lexicon terms of several keys in zh/en text, fast.

    Python's ``re`` tries every alternative at every position; a leading lookahead on the set of
    first characters lets it skip almost all positions of a Chinese text (about 7x faster on
    real reviews), and English terms only run on the ASCII stretches of a Chinese text.
    """

    def __init__(self, entries: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> None:
        self.keys = [k for k, _, _ in entries]
        zh_parts: list[str] = []
        en_parts: list[str] = []
        firsts: set[str] | None = set()
        for i, (_, zh, en) in enumerate(entries):
            terms = [_behind_first(t) for t in zh]
            if terms:
                zh_parts.append(f"(?P<k{i}>{'|'.join(terms)})")
                for t in terms:
                    fc = _first_chars(t)
                    firsts = firsts | fc if fc is not None and firsts is not None else None
            if en:
                en_parts.append(f"(?P<k{i}>{'|'.join(en)})")
        prefix = ""
        if firsts:
            chars = {c for f in firsts for c in (f.lower(), f.upper())}
            prefix = "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])"
        self._zh = re.compile(f"{prefix}(?:{'|'.join(zh_parts)})", re.IGNORECASE) if zh_parts else None
        self._en = (
            re.compile(r"(?<![A-Za-z])(?:" + "|".join(en_parts) + r")(?![A-Za-z])", re.IGNORECASE)
            if en_parts else None
        )

    def finditer(self, text: str) -> list[tuple[str, str, int]]:
        """``(key, matched text, start)`` of every match, in text order."""
        out: list[tuple[str, str, int]] = []
        cjk = has_cjk(text)
        if cjk and self._zh is not None:
            out.extend((self.keys[int(m.lastgroup[1:])], m.group(), m.start())  # type: ignore[index]
                       for m in self._zh.finditer(text))
        if self._en is not None:
            spans = [(r.group(), r.start()) for r in _ASCII_RUN.finditer(text)] if cjk else [(text, 0)]
            for chunk, offset in spans:
                out.extend((self.keys[int(m.lastgroup[1:])], m.group(), m.start() + offset)  # type: ignore[index]
                           for m in self._en.finditer(chunk))
        if cjk and self._en is not None:
            out.sort(key=lambda x: x[2])
        return out


@cache
def _compiled(themes: tuple[Theme, ...]) -> TermMatcher:
    return TermMatcher([(t.id, t.zh, t.en) for t in themes])


def find_themes(texts: Sequence[str | None], *, themes: Sequence[Theme] = THEMES) -> list[dict[str, list[str]]]:
    """Curated themes of each text with the terms that matched them.

    One pass of a :class:`TermMatcher` per text: microseconds per comment.

    Returns
    -------
    list of dict
        Per text, theme id -> matched terms (lowercased, in order of appearance), themes in
        taxonomy order.
    """
    ths = tuple(themes)
    matcher = _compiled(ths)
    order = {t.id: i for i, t in enumerate(ths)}
    out: list[dict[str, list[str]]] = []
    for text in texts:
        hits: dict[str, list[str]] = {}
        if isinstance(text, str) and text:
            for theme, term, _ in matcher.finditer(text):
                hits.setdefault(theme, []).append(term.lower())
        out.append(dict(sorted(hits.items(), key=lambda kv: order[kv[0]])))
    return out


def match_themes(texts: Sequence[str | None], *, themes: Sequence[Theme] = THEMES) -> list[list[str]]:
    """Curated theme ids of each text (possibly none), in taxonomy order."""
    return [list(h) for h in find_themes(texts, themes=themes)]


def discover_themes(
    docs: Sequence[Sequence[str]],
    *,
    n_themes: int = 5,
    top: int = 5,
    min_comments: int = 20,
    random_state: int = 0,
) -> tuple[list[str | None], pd.DataFrame]:
    """Unsupervised themes: NMF on the TF-IDF of the comments' words.

    Parameters
    ----------
    docs
        Token lists (from :func:`clvlab.text.segment.tokenize`), usually of the comments no curated
        theme matched.
    n_themes
        Upper bound on the number of themes; fewer with few comments (one per ``min_comments``).
    top
        Keywords kept per theme; the first three name it.
    min_comments
        Below this many non-empty comments, nothing is proposed.

    Returns
    -------
    (assignments, table)
        The theme id of each comment (``None`` when empty or all-zero), and a table with columns
        ``theme``, ``label``, ``keywords`` (list) and ``n`` (comments assigned).
    """
    check_param(n_themes >= 1, "n_themes", "discover_themes", "an int >= 1", n_themes)
    empty = pd.DataFrame({"theme": [], "label": [], "keywords": [], "n": []})
    docs = [[w for w in d if len(w) > 1] for d in docs]  # single characters make poor theme names
    nonempty = [i for i, d in enumerate(docs) if d]
    if len(nonempty) < max(min_comments, 2):
        return [None] * len(docs), empty
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=_identity, lowercase=False, min_df=2, max_df=0.3, sublinear_tf=True)
    try:
        x = vec.fit_transform([docs[i] for i in nonempty])
    except ValueError:  # no word in at least two comments
        return [None] * len(docs), empty
    k = int(min(n_themes, max(1, len(nonempty) // min_comments), x.shape[1]))
    model = NMF(n_components=k, init="nndsvd", random_state=random_state, max_iter=300)
    with warnings.catch_warnings():  # an approximate factorisation is all we need to name themes
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = model.fit_transform(x)
    vocab = vec.get_feature_names_out()
    names, keywords = [], []
    for comp in model.components_:
        words = [str(vocab[j]) for j in np.argsort(-comp, kind="stable")[:top] if comp[j] > 0]
        keywords.append(words)
        names.append("auto:" + "/".join(words[:3]))
    best = np.argmax(w, axis=1)
    assigned: list[str | None] = [None] * len(docs)
    for row, i in enumerate(nonempty):
        if w[row, best[row]] > 0:
            assigned[i] = names[best[row]]
    counts = pd.Series([a for a in assigned if a is not None]).value_counts()
    table = pd.DataFrame(
        {"theme": names, "label": [" / ".join(k[:3]) for k in keywords], "keywords": keywords,
         "n": [int(counts.get(nm, 0)) for nm in names]}
    )
    table = table[table["n"] > 0].drop_duplicates("theme").reset_index(drop=True)
    return assigned, table


def _identity(doc: Sequence[str]) -> Sequence[str]:
    return doc


#: weight of a discovered theme's keywords by rank (the first names it best)
_RANK_WEIGHTS = (5.0, 4.0, 3.0, 2.0, 1.0)


def theme_profiles(
    docs: Sequence[Sequence[str]], theme_lists: Sequence[Sequence[str]], *, top: int = 15, min_count: int = 3
) -> dict[str, list[str]]:
    """The words that mark each theme's comments in this batch (for :func:`suggest_merges`).

    Per theme, the words of its comments ranked by ``count x lift`` (share of the theme's words
    over share of all words), kept when seen ``min_count`` times with lift above 1.5.
    """
    total: dict[str, int] = {}
    for d in docs:
        for w in d:
            total[w] = total.get(w, 0) + 1
    n_all = max(sum(total.values()), 1)
    per: dict[str, dict[str, int]] = {}
    for d, ts in zip(docs, theme_lists, strict=True):
        for t in ts:
            bag = per.setdefault(t, {})
            for w in d:
                bag[w] = bag.get(w, 0) + 1
    out: dict[str, list[str]] = {}
    for t, bag in per.items():
        n_t = max(sum(bag.values()), 1)
        scored = [(c * (c / n_t) / (total[w] / n_all), w) for w, c in bag.items()
                  if c >= min_count and len(w) > 1 and (c / n_t) / (total[w] / n_all) > 1.5]
        out[t] = [w for _, w in sorted(scored, key=lambda sw: (-sw[0], sw[1]))[:top]]
    return out


def suggest_merges(
    discovered: pd.DataFrame,
    *,
    themes: Sequence[Theme] = THEMES,
    profiles: Mapping[str, Sequence[str]] | None = None,
    min_overlap: float = 0.3,
) -> dict[str, str]:
    """Named theme to merge each discovered theme into, by keyword overlap.

    A discovered theme's top five keywords are compared with each named theme's terms and, when
    given, its ``profiles`` words (:func:`theme_profiles`: the words its comments are marked by
    in the same batch; discovered themes hold the comments none of its terms matched, so the
    terms alone rarely overlap). Each matching keyword adds its rank weight (5, 4, 3, 2, 1 out of
    15); the named theme with the largest overlap is suggested when at least two keywords match
    and their weight reaches ``min_overlap`` (default 0.3).

    Parameters
    ----------
    discovered
        The table of :func:`discover_themes` (columns ``theme`` and ``keywords``).

    Returns
    -------
    dict
        Discovered theme id -> named theme id, only for themes with a suggestion.
    """
    check_param(0.0 < min_overlap <= 1.0, "min_overlap", "suggest_merges", "a share in (0, 1]", min_overlap)
    named = {t.id for t in themes}
    marks = {t: set(ws) for t, ws in (profiles or {}).items() if t in named}
    total = sum(_RANK_WEIGHTS)
    out: dict[str, str] = {}
    for theme, keywords in zip(discovered["theme"], discovered["keywords"], strict=True):
        words = [str(w) for w in list(keywords)[: len(_RANK_WEIGHTS)]]
        score: dict[str, float] = {}
        matched: dict[str, int] = {}
        for rank, (w, hits) in enumerate(zip(words, find_themes(words, themes=themes), strict=True)):
            for t in dict.fromkeys([*hits, *(t for t, ws in marks.items() if w in ws)]):
                score[t] = score.get(t, 0.0) + _RANK_WEIGHTS[rank] / total
                matched[t] = matched.get(t, 0) + 1
        if score:
            best = max(score, key=score.__getitem__)  # ties: the first matched
            if score[best] >= min_overlap and matched[best] >= 2:
                out[str(theme)] = best
    return out


def merge_themes(theme_lists: Sequence[Sequence[str]], mapping: Mapping[str, str]) -> list[list[str]]:
    """Each comment's themes with ``mapping`` applied (discovered id -> named id), without repeats."""
    return [list(dict.fromkeys(mapping.get(t, t) for t in ts)) for ts in theme_lists]


#: columns of the theme table of :func:`assign_themes`
THEME_COLUMNS = ["theme", "label", "source", "keywords", "n", "merged_into"]


def assign_themes(
    texts: Sequence[str | None],
    docs: Sequence[Sequence[str]],
    *,
    themes: Sequence[Theme] = THEMES,
    discover: bool = True,
    n_themes: int = 5,
    merge: Mapping[str, str] | Literal["auto"] | None = None,
) -> tuple[list[list[str]], pd.DataFrame]:
    """Themes of each comment: curated, then discovered for the rest, then merged.

    Parameters
    ----------
    texts, docs
        The comments and their token lists (:func:`clvlab.text.segment.tokenize`).
    discover, n_themes
        Run :func:`discover_themes` on the comments no curated theme matches.
    merge
        Discovered themes to count under named ones: a mapping (discovered id -> theme id, e.g.
        ``{"auto:送货/师傅/上门": "delivery"}``), ``"auto"`` for :func:`suggest_merges`, or None.

    Returns
    -------
    (theme_lists, table)
        Theme ids per comment and a table with :data:`THEME_COLUMNS`: ``source`` is 'curated' or
        'discovered', ``n`` counts comments after merging (a merged discovered theme keeps its own
        count and names its target in ``merged_into``).
    """
    hits = find_themes(texts, themes=themes)
    lists = [list(h) for h in hits]
    rows = []
    for t in themes:
        terms: dict[str, int] = {}
        for h in hits:
            for w in h.get(t.id, []):
                terms[w] = terms.get(w, 0) + 1
        rows.append({"theme": t.id, "label": f"{t.label_en} / {t.label_zh}", "source": "curated",
                     "keywords": sorted(terms, key=lambda w: -terms[w])[:8], "n": 0, "merged_into": None})
    table = pd.DataFrame(rows, columns=THEME_COLUMNS)
    if discover:
        rest = [i for i, ts in enumerate(lists) if not ts and docs[i]]
        assigned, found = discover_themes([docs[i] for i in rest], n_themes=n_themes)
        for i, a in zip(rest, assigned, strict=True):
            if a is not None:
                lists[i] = [a]
        if len(found):
            mapping = (
                suggest_merges(found, themes=themes, profiles=theme_profiles(docs, lists))
                if merge == "auto" else dict(merge or {})
            )
            known = {t.id for t in themes} | set(found["theme"])
            bad = sorted({v for v in mapping.values() if v not in known})
            check_param(not bad, "merge", "assign_themes", "theme ids of the taxonomy or discovered themes", bad)
            into = pd.Series([mapping.get(str(t)) for t in found["theme"]], index=found.index, dtype=object)
            found = found.assign(source="discovered", merged_into=into)
            table = pd.concat([table, found[THEME_COLUMNS]], ignore_index=True)
            lists = merge_themes(lists, mapping)
    counts = pd.Series([t for ts in lists for t in ts], dtype=object).value_counts()
    merged = table["merged_into"].notna()
    table.loc[~merged, "n"] = [int(counts.get(t, 0)) for t in table.loc[~merged, "theme"]]
    table = table[(table["n"] > 0) | merged].reset_index(drop=True)
    table["n"] = table["n"].astype(int)
    return lists, table


def theme_table(themes: Sequence[Theme] = THEMES) -> pd.DataFrame:
    """The curated taxonomy as a table (id, labels, description, terms) for docs and the UI."""
    return pd.DataFrame(
        [{"theme": t.id, "label_en": t.label_en, "label_zh": t.label_zh, "description": t.description,
          "zh_terms": list(t.zh), "en_terms": list(t.en)} for t in themes]
    )
