"""Intents of a comment: complaint, praise, upsell interest, churn threat, question.

Rule- and lexicon-based, zh and en, multi-label. Each lexicon entry is a regular expression
(Chinese as substrings, English bounded by non-letters, case-insensitive) and says whether a
negation just before it changes its meaning:

- negated praise becomes a complaint ("not good", "不满意", "不推荐", "并不好用");
- negated complaint, upsell or cancel/switch terms count as nothing ("not bad", "不想升级",
  "won't cancel", "不会取消");
- entries that carry their own negation ("再也不买", "never flying with you again") are not
  re-checked.

Negation scope: up to 3 words before the match in English (not, no, never, n't forms, hardly,
without), up to 3 characters before it in Chinese (不, 没, 无, 未, 别, 非; "不但", "不仅", "不过",
"不错", "不少" are not negations), never across punctuation.

Praise words inside a question ("would you recommend it?", "好用吗？") are not praise.
A churn threat is also a complaint (a customer threatening to leave has a grievance). A question is
a question mark, a Chinese question form (吗 at a clause end, 请问, 能不能, 是否, 有没有...) or an
English clause opening with a question word or auxiliary.

Precision and recall on the hand-labelled set in ``tests/text/test_intents.py`` are written in
``docs/text.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from clvlab.text.themes import TermMatcher

INTENTS: tuple[str, ...] = ("complaint", "praise", "upsell", "churn_threat", "question")


@dataclass(frozen=True)
class _Lexicon:
    intent: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    negatable: bool
    when_negated: str | None  # intent a negated match counts as (None: it counts as nothing)


_LEXICONS: tuple[_Lexicon, ...] = (
    _Lexicon(
        "complaint",
        ("差评", "很差", "太差", "真差", "差劲", "(?<![出相偏温时落误])差(?![不点别距价旅异])", "垃圾", "失望", "投诉",
         "糟糕", "难吃", "难用", "难闻", "坑(?!位)", "骗", "上当", "恶心", "气愤", "生气", "无语", "后悔", "郁闷", "烂",
         "不好", "不行", "坏了", "破了", "太慢", "太贵", "不值", "问题很多", "有问题", "脏", "吵", "异味", "不满",
         "不靠谱", "敷衍", "退货", "退款", "发错", "少发", "漏发", "假货", "次品", "态度恶劣", "受不了", "太烂",
         "离谱", "偏贵", "有点慢", "很慢", "比较慢", "闪退", "崩溃", "还没(?:到|收到|发货|上菜|来|退|回复)", "没有达到", "达不到",
         "早知道"),
        ("terrible", "horrible", "awful", "worst", "bad", "poor(?:ly)?", r"disappoint(?:ed|ing|ment)?", "unacceptable",
         "ridiculous", "rude", "useless", "broken", r"complain(?:t|ts|ed|ing)?", r"frustrat(?:ed|ing|ion)",
         r"annoy(?:ed|ing)", "angry", "upset", "waste of", "scam", "rip-?off", r"sucks?", "hate", "fail(?:ed|s|ure)?",
         "delayed", "lost", "damaged", r"cancell?ed", "still waiting", "no one", "nobody", "not working",
         r"(?:doesn't|does not|didn't|did not) work", "never (?:arrived|received|came)", "overpriced", "dirty",
         "unhelpful", "incompetent", r"joke", "pathetic", "mess", "nightmare", "stuck", r"crash(?:es|ed|ing)",
         r"freez(?:es|ing)", r"should(?:'ve| have) (?:flown|flew|gone|bought|used|booked|stayed|ordered)"),
        negatable=True, when_negated=None,
    ),
    _Lexicon(
        "praise",
        ("好评", "满意", "不错", "很好", "非常好", "挺好", "真好", "超值", "喜欢", "推荐", "赞", "棒", "完美", "惊喜",
         "值得", "给力", "五星", "好用", "好吃", "漂亮", "舒服", "方便", "贴心", "感谢", "物超所值", "划算", "实惠",
         "干净", "热情", "周到", "很快", "神速", "正品", "靠谱", "满分", "流畅", "新鲜", "无可挑剔", "严实", "美观",
         "回购", "还会再(?:买|来|住)", "没(?:有任何)?问题", "好好", "(?:质量|音质|画质|效果|服务|态度|手感|味道)(?:很|非常|挺|超|真)?好"),
        ("great", "excellent", "amazing", "awesome", r"lov(?:e|ed|es|ely)", "perfect", "fantastic", "wonderful",
         "good", "nice", "happy", "satisfied", r"recommend(?:ed)?", "thanks?(?: you)?", "best", "helpful", "friendly",
         "impressed", "pleased", r"appreciat(?:e|ed)", "kudos", "brilliant", "outstanding", "smooth", "superb",
         "well done", "on time"),
        negatable=True, when_negated="complaint",
    ),
    _Lexicon(
        "upsell",
        ("升级", "更大", "大一点的", "大一号", "更高配", "高配", "套餐", "有没有(?:更|别的|其他|其它|大|多|新)", "想买",
         "想要(?:更|再|换)", "加购", "配件", "其他颜色", "别的颜色", "开通会员", "办(?:个|张)?会员", "多买几", "再来一(?:个|份|台|套)",
         "还想(?:买|要|订)", "团购", "批发"),
        (r"upgrad(?:e|ed|ing)", r"bigger (?:plan|size|package|room|model)", "premium", "pro version",
         r"family (?:plan|package)", "do you (?:have|offer|sell|make)", r"is there (?:a|an) (?:bigger|larger|premium|pro|family)",
         r"more (?:data|storage|options|features)", r"add-?ons?", "interested in", r"(?:would like|want|wanted) to (?:buy|order|add|get)",
         "looking for", r"bundles?", "first class", "business class", r"extra (?:legroom|seat|bag)"),
        negatable=True, when_negated=None,
    ),
    _Lexicon(
        "churn_threat",
        ("(?<![航班被])取消(?:订单|会员|订阅|套餐|服务|账户|账号|自动续费)?", "换一家", "换别家", "换家", "去别家", "转投",
         "退订", "注销", "销户", "拉黑"),
        (r"cancel(?:l?ing)? (?:my|our|the) (?:account|subscription|membership|plan|order|card|service|contract|booking)",
         r"switch(?:ing|ed)? (?:to|airlines|providers|carriers|banks)", r"unsubscrib(?:e|ed|ing)",
         r"close (?:my|our) account", r"(?:go|going|went) with (?:another|a different|someone else|your competitor)"),
        negatable=True, when_negated=None,
    ),
    _Lexicon(
        "churn_threat",
        ("再也不(?:买|来|住|用|会|光顾|选择|去)?", "不会再(?:买|来|住|用|光顾|选择|购买|去)", "最后一次(?:买|来|住|用)",
         "永远不(?:会|再)"),
        (r"never (?:fly|flying|buy|buying|shop|shopping|order|ordering|use|using|come|coming|book|booking|stay|staying)\b.{0,30}\bagain",
         r"(?:won't|will not|wont) be (?:flying|buying|ordering|using|back|returning|booking|staying)",
         r"take (?:my|our) business elsewhere", r"lost (?:a|my|your) (?:customer|business)", r"done with (?:you|this)",
         r"last time (?:i|we) (?:fly|flew|buy|bought|order|ordered|use|used|book|booked)",
         r"find (?:another|a different) (?:airline|provider|company|store|shop|bank)"),
        negatable=False, when_negated=None,
    ),
)

_QUESTION = re.compile(
    r"[?？]|吗(?:[。！!，,…~～\s]|$)|请问|怎么办|能不能|可不可以|可以不可以|是否|有没有|什么时候|为什么|为啥"
    r"|(?:^|[.!;]\s*)(?:@\w+\s+)*(?:(?:how|what|when|where|why|which)\s+\w+"
    r"|(?:can|could|do|does|will|would)\s+(?:you|i|we|anyone|someone)\b)",
    re.IGNORECASE,
)
_ZH_NEG = re.compile(r"[不没无未别非]")
_ZH_NOT_NEG = re.compile(r"不但|不仅|不过|不错|不少|不久|非常|无论|别人|别的|没想到")
_EN_NEG = re.compile(r"\b(?:not|no|never|hardly|without|nothing|cannot)\b|n't\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,.;:!?()，。；：！？、（）\n]")
_QUESTION_END = re.compile(r"[^,.;!?，。；！？\n]*[?？]")
_EN_WORD = re.compile(r"[A-Za-z']+")


@cache
def _compiled() -> TermMatcher:
    return TermMatcher([(str(i), lex.zh, lex.en) for i, lex in enumerate(_LEXICONS)])


def _negated(text: str, start: int) -> bool:
    """Is there a negation in the same clause just before ``start``?"""
    before = text[max(0, start - 40) : start]
    cut = [m.end() for m in _CLAUSE.finditer(before)]
    if cut:
        before = before[cut[-1] :]
    if not before:
        return False
    if ord(before[-1]) > 0x2E80 or (start < len(text) and ord(text[start]) > 0x2E80):
        window = _ZH_NOT_NEG.sub("", before[-4:])[-3:]
        if _ZH_NEG.search(window):
            return True
    words = _EN_WORD.findall(before)[-3:]
    return bool(words) and _EN_NEG.search(" ".join(words)) is not None


def detect_intents(
    texts: Sequence[str | None], *, evidence: bool = False
) -> list[list[str]] | list[dict[str, list[str]]]:
    """Intents of each text.

    Parameters
    ----------
    texts
        Comments; ``None`` gives no intent.
    evidence
        Also return the words that triggered each intent (negated ones prefixed with ``not:``).

    Returns
    -------
    list
        Per text, the intents in :data:`INTENTS` order; with ``evidence``, a dict intent -> terms.
    """
    matcher = _compiled()
    out_ev: list[dict[str, list[str]]] = []
    for text in texts:
        found: dict[str, list[str]] = {}
        if isinstance(text, str) and text:
            for key, matched, start in matcher.finditer(text):
                lex = _LEXICONS[int(key)]
                term = matched.lower()
                if lex.intent == "praise" and _QUESTION_END.match(text, start + len(matched)):
                    continue  # "would you recommend it?", "好用吗？" ask, they do not praise
                if lex.negatable and _negated(text, start):
                    if lex.when_negated:
                        found.setdefault(lex.when_negated, []).append("not:" + term)
                    continue
                found.setdefault(lex.intent, []).append(term)
            if "churn_threat" in found and "complaint" not in found:
                found["complaint"] = ["(churn threat)"]
            q = _QUESTION.search(text)
            if q is not None:
                found["question"] = [q.group().strip()]
        out_ev.append({k: found[k] for k in INTENTS if k in found})
    if evidence:
        return out_ev
    return [list(d) for d in out_ev]
