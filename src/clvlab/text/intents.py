"""Intents of a comment: complaint, praise, upsell interest, churn threat, question.

Rule- and lexicon-based, zh and en, multi-label, optionally combined with sentiment scores. Each
lexicon entry is a regular expression (Chinese as substrings, English bounded by non-letters,
case-insensitive) and says whether a negation just before it changes its meaning:

- negated praise becomes a complaint ("not good", "不满意", "不推荐", "并不好用");
- negated complaint, upsell or cancel/switch terms count as nothing ("not bad", "不想升级",
  "won't cancel", "不会取消");
- entries that carry their own negation ("再也不买", "never flying with you again") are not
  re-checked.

Negation scope: up to 3 words before the match in English (not, no, never, n't forms, hardly,
without), up to 3 characters before it in Chinese (不, 没, 无, 未, 别, 非; "不但", "不仅", "不过",
"不错", "不少" are not negations), never across punctuation. A condition in the same clause ("if
all else fails", "如果坏了") makes a complaint term hypothetical: it counts as nothing.

A question is a sentence with an interrogative form: ending in '?' and, in Chinese, holding a
question word or particle (吗, 呢, 什么, 怎么, 哪, 多少, 是不是...; a bare '?' often stands for a
lost emoji), in English, more than one word; or, without '?', a strong form (请问, 能不能, 有没有,
吗 at a clause end, an English sentence opening with an auxiliary and a subject: "can you", "is
there"). Rhetorical markers ("will it ever end?", "or what?", "how hard is it to...?", "what's the
point...?", 难道..., 凭什么...) and wondering aloud (不知道..., 搞不懂...) ask nothing. Praise words
inside a question ("would you recommend it?", "好用吗？") and a "thanks" after a question (closing a
request) are not praise.

Upsell needs a wish or a question a few words before the higher tier or other variant (想要大一号的,
有没有其他颜色, 再买别的款, "can I upgrade", "any upgrades available", "would love to try first
class"): alone, 大一号, 高配版, "upgrade" or "premium" mostly give size advice, report a purchase or
thank for an upgrade received.

A churn threat is the author leaving: 以后/下次 + a negated buy/stay/use verb (以后不会住这里了),
也是最后一次, 再也不..., "never again", "you lost a customer", "I'm done", "taking my business
elsewhere"; not staying loyal (以后不会再选其他品牌) nor "this won't be the last time". It is also a
complaint (a customer threatening to leave has a grievance).

With ``scores`` (sentiment in [-1, 1], e.g. from :func:`clvlab.sentiment`), a comment scoring at
or below ``-COMPLAINT_SCORE`` is also a complaint and one at or above ``PRAISE_SCORE`` also praise
(a mixed comment can be both). A score adds no complaint to a comment that asks something (the
model reads plain questions and requests as negative) or whose only complaint word is negated
("not bad"). Precision and recall on two development sets and a blind test set: ``docs/text.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from clvlab.text.language import has_cjk
from clvlab.text.themes import TermMatcher

INTENTS: tuple[str, ...] = ("complaint", "praise", "upsell", "churn_threat", "question")

#: sentiment score at or below minus this adds complaint (chosen on the development sets)
COMPLAINT_SCORE = 0.9
#: sentiment score at or above this adds praise (chosen on the development sets)
PRAISE_SCORE = 0.9


@dataclass(frozen=True)
class _Lexicon:
    intent: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    negatable: bool
    when_negated: str | None  # intent a negated match counts as (None: it counts as nothing)


# a wish or a question before a higher tier or another variant (想要大一号的, 有没有其他颜色, "can I upgrade"),
# up to 3 characters / words apart; without one, 大一号, 高配 or "upgrade" mostly report a purchase, give
# advice or thank for an upgrade received
_ZH_WANT = ("(?:想要|想(?<![梦理思感]想)|打算|准备|考虑|能不能|可不可以|可否|有没有|求(?<![要追需请寻]求)|要是有|如果有"
            "|再(?:买|入手)|还(?:会|要|来)(?:来)?(?:买|入手))(?:再)?[^，。！？,.!?\\s不没消退]{0,3}?")
_EN_WANT = (r"(?:(?:can|could|may|will|would|should|do|does|did|is|are)(?:n't)? (?:you|u|i|we|anyone|someone|somebody|there|they)"
            r"|want|wanted|wanna|'d like|would like|like to|love to|hoping|hope to|trying|try to|wish|willing|able to|eligible"
            r"|help me|help us|request|requested|requesting|any)")

# after a churn verb: "以后不会再选其他品牌" stays loyal
_NOT_OTHER = "(?![^，。！？,.!?]{0,3}(?:别的|其他|其它|别家|外国))"

# Where terms of several lexicons start at the same place, the first lexicon wins: churn comes
# first so that "lost a customer" is a churn threat, not only "lost".
_LEXICONS: tuple[_Lexicon, ...] = (
    _Lexicon(
        "churn_threat",
        ("(?<![航班被])取消(?:订单|会员|订阅|套餐|服务|账户|账号|自动续费)?", "换一家", "换别家", "换家", "去别家", "转投",
         "退订", "注销", "销户", "拉黑",
         "最后一次(?![^，。！？,.!?]{0,8}时)"),
        (r"cancel(?:l?ing)? (?:my|our|the) (?:account|subscription|membership|plan|order|card|service|contract|booking)",
         r"switch(?:ing|ed)? (?:to (?:another|a different|other|a new) "
         r"(?:airline|provider|carrier|bank|company|brand|store|shop)s?|to @\w+|airlines|providers|carriers|banks)",
         r"unsubscrib(?:e|ed|ing)",
         r"close (?:my|our) account",
         r"(?:go|going|went|fly|flying|travel|traveling|travelling|book|booking|shop|shopping|stick|sticking)"
         r"(?: \w+)? with (?:another|a different|someone else|somebody else|other|your competitors?)"),
        negatable=True, when_negated=None,
    ),
    _Lexicon(
        "churn_threat",
        ("(?:不会再|不再|无法再|不想再|不敢再|再.?不会)(?:在|去|到|上|从|用)?[^，。！？,.!?\\s]{0,6}?(?:买|来|住|用|光顾|选|去|坐|订|购)" + _NOT_OTHER,
         "(?:以后|今后|下次|往后|从此)[^，。！？,.!?]{0,6}?(?<![要能敢会免])不(?![用错过但仅少久断二许同])"
         "(?:会|想|敢|要|能|可能|打算)?[^，。！？,.!?]{0,6}?(?:买|来|住|用|光顾|选|去|坐|订|购|碰|看|喝|吃|进)" + _NOT_OTHER,
         "再也不(?:买|来|住|用|会|光顾|选择|去)?", "永远不(?:会|再)"),
        (r"(?:never|won't|will not|wont) (?:ever )?(?:be )?(?:fly|flying|buy|buying|shop|shopping|order|ordering|use|using"
         r"|come|coming|book|booking|stay|staying|travel|traveling|travelling|choose|choosing)\b[^.!?]{0,30}\b(?:again|anymore)",
         r"never (?:ever )?(?:fly|flying|book|booking|use|using|travel|traveling|travelling|choose|choosing) (?:with |on )?"
         r"(?:you|your|u|them|@\w+|this airline|that airline)\b",
         r"never(?: ever)* ?again", r"#\w*(?:neveragain|neverfly|byebye|goodbye|boycott|lostacustomer|switching)\w*",
         r"(?:won't|will not|wont) be (?:flying|buying|ordering|using|back|returning|booking|staying)",
         r"tak(?:e|ing) (?:my|our) (?:\w+ ){0,2}(?:business|status|loyalty) (?:elsewhere|to)\b",
         r"lost (?:me|us) as (?:a )?customers?|lost (?:a|my|your|another|one|our) (?:\w+ )?(?:customer|business|passenger|flyer)s?",
         r"(?:i'm|i am|we're|we are) (?:so |officially |just |completely )?(?:done|through)"
         r"(?= *(?:[.!]|$)| flying| with (?:you|u|@|your|this airline))",
         r"done with (?:you|this|@\w+|your)",
         r"last time (?:i|we) (?:fly|flew|buy|bought|order|ordered|use|used|book|booked)",
         r"(?:look|looking|shop|shopping) (?:at|for|into) (?:other|another|alternative|different) (?:airlines?|carriers?)"
         r"|look(?:ing)? at alternatives",
         r"find (?:another|a different) (?:airline|provider|company|store|shop|bank)"),
        negatable=False, when_negated=None,
    ),
    _Lexicon(
        "complaint",
        ("差评", "很差", "太差", "真差", "差劲", "(?<![出相偏温时落误])差(?![不点别距价旅异])", "垃圾", "失望", "投诉",
         "糟糕", "难吃", "难用", "难闻", "坑(?!位)", "骗", "上当", "恶心", "气愤", "生气", "无语", "后悔", "郁闷", "烂",
         "不好", "不行", "坏了", "破了", "不值", "问题很多", "有问题", "脏", "吵", "异味", "不满",
         "不靠谱", "敷衍", "退货", "退款", "发错", "少发", "漏发", "假货", "次品", "态度恶劣", "受不了",
         "离谱", "闪退", "崩溃", "死机", "卡顿", "黑屏", "还没(?:到|收到|发货|上菜|来|退|回复)", "没有达到", "达不到",
         "早知道", "可惜", "美中不足", "不足之处", "缺点", "遗憾", "不爽", "不便宜", "不咋", "不怎么样", "陈旧", "老旧",
         "破旧", "嫌", "千万(?:别|不要)", "别上当", "(?:别|不要)(?:买|来|去|住|选)", "有差距", "不兼容", "不完善",
         "不专业", "不负责", "不稳定", "不够", "无法(?!形容|比拟|挑剔|再)", "(?:一|1)(?:颗)?星(?!期)",
         "没(?:有)?(?:兑现|效果|反应)",
         "(?:启动|开机|充电|识别|连接|登录|打开|安装|用)不了",
         "(?:很|太|真|也|比较|相当|特别|非常)(?:一般|麻烦)",
         "(?:太|偏|过于)(?:少|小|大|贵|慢|差|烂|假|旧|短|薄|硬|重|吵|热|冷|油|咸|淡|暗|难|久|晚)",
         "(?:有点|有些|有一点|稍微|稍|略)(?:儿)?(?:贵|慢|卡|小|大|硬|暗|少|薄|厚|短|重|吵|热|烫|冷|淡|咸|油|旧|难|差|麻烦|失望|偏|不)",
         "(?:小|贵|慢|短|薄|硬|少|重|暗|差|旧|大)了一?点",
         "(?:慢|差|烂|贵|难用|难吃|坑)(?:的|得)?(?:要)?死", "凭什么"),
        ("terrible", "horrible", "awful", "worst", "bad", "poor(?:ly)?", r"disappoint(?:ed|ing|ment)?", "unacceptable",
         "ridiculous", "rude", "useless", "broken", r"complain(?:t|ts|ed|ing)?", r"frustrat(?:ed|ing|ion)",
         r"annoy(?:ed|ing)", "angry", "furious", "upset", "unhappy", r"worr(?:ied|ying)", r"wast(?:e|es|ed|ing)",
         "scam", "rip-?off", r"sucks?", "hate", "fail(?:ed|s|ure)?", "delayed", "late(?! flightr)", "lost",
         "damaged", r"cancell?ed", r"miss(?:ed|ing)", "on hold", "on the phone for", "hung up", "unfortunately",
         r"inconvenien(?:ce|t)", r"negligen(?:ce|t)", r"sub-?par", "do better", "no one", "nobody",
         r"(?:not|no|never|without) (?:\w+ ){0,2}(?:help|answers?|response|reply|updates?|announcement|info|information)",
         r"not (?:cool|ok|okay|fair|right|acceptable)",
         r"still (?:waiting|on (?:the )?(?:ground|hold|tarmac)|stuck|sitting|no|not|nothing|haven't|hasn't)",
         r"#\w*(?:bad|poor|fail|suck|worst|unhappy|angry|disappoint|terrible|awful|dobetter)\w*",
         "not working", r"(?:doesn't|does not|didn't|did not) work", "never (?:arrived|received|came)", "overpriced",
         "dirty", "unhelpful", "incompetent", r"joke", "pathetic", "mess", "nightmare", "stuck", r"crash(?:es|ed|ing)",
         r"freez(?:es|ing)", r"how (?:hard|difficult) (?:is|can|could) it", r"what(?:'s| is) (?:the point|wrong with (?:you|u)\b)",
         "how dare", r"should(?:'ve| have) (?:flown|flew|gone|bought|used|booked|stayed|ordered)"),
        negatable=True, when_negated=None,
    ),
    _Lexicon(
        "praise",
        ("好评", "满意", "不错", "很好", "非常好", "挺好", "真好", "超值", "喜欢", "推荐", "赞", "棒", "完美", "惊喜",
         "值得", "给力", "五星", "好用", "好吃", "好喝", "好看", "漂亮", "舒服", "方便", "贴心", "感谢", "谢谢",
         "物超所值", "划算", "实惠", "干净", "热情", "周到", "很快", "神速", "正品", "靠谱", "满分", "流畅", "新鲜",
         "无可挑剔", "严实", "美观", "回购", "还会再(?:买|来|住)", "没(?:有任何)?问题", "好好", "还可以", "还行", "还好",
         "眼前一亮", "可口", "美味", "爽甜", "香甜", "合身", "合适", "表扬", "优秀", "精美", "清晰",
         "(?:合|和)(?:我的)?(?:口味|胃口)", "(?:质量|音质|画质|效果|服务|态度|手感|味道)(?:很|非常|挺|超|真)?好"),
        ("great", "excellent", "amazing", "awesome", r"(?<!would )(?<!'d )lov(?:e|ed|es|ely)", "perfect", "fantastic",
         "wonderful", "fabulous", "terrific", "good", "nice", "happy", "glad", "satisfied", r"recommend(?:ed)?",
         "thanks?(?: you)?", "best", "helpful", "friendly", r"favou?rite", "impressed", "pleased",
         r"appreciat(?:e|ed)", "kudos", "brilliant", "outstanding", "smooth", "superb", "well done", "on time",
         r"a\+"),
        negatable=True, when_negated="complaint",
    ),
    _Lexicon(
        "upsell",
        (_ZH_WANT + "(?:大一号|大一码|大一点|大号|更大|更高|高配|顶配|升级|换(?:个|成)?(?:大|更|高)|其他颜色|别的颜色|其它颜色"
         "|其他款|别的款|其它款|其他型号|配件|套餐)",
         "加购(?!物)", "开通会员", "办(?:个|张)?会员"),
        (_EN_WANT + r" (?:(?!not |never |no )[\w'@]+ ){0,3}(?:upgrad(?:e|es|ed|ing)(?! (?:your|the|their) (?:planes?|fleet|aircraft|app|website|system))"
         r"|(?:first|1st|business) class"
         r"|business select|premium|comfort\+?|economy plus|main cabin extra|even more space|(?:extra|more) (?:legroom|data|storage))",
         r"upgrade (?:me|us)", r"(?:on|to) the upgrade list",
         r"(?:bigger|larger) (?:plan|size|package|room|model|seat)", "pro version", r"family (?:plan|package)",
         r"(?:do you (?:have|offer|sell|make)|is there|are there) (?:a |an |any )?(?:bigger|larger|premium|pro|family|deluxe)",
         r"add-?ons?", r"bundles?(?! up)"),
        negatable=True, when_negated=None,
    ),
)

_THANKS = re.compile(r"thank|感谢|谢谢", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?;。！？；\n]+[.!?;。！？；\n]*")
_HANDLES = re.compile(r"(?:^|\s)[@#]\w+|https?://\S+")
_ZH_ASKED = re.compile(  # a Chinese sentence ending in '?' is a question only with one of these
    r"[吗么呢][^\w]*$|什么|怎么|为什么|为啥|哪|多少|几(?:个|点|天|号|时)|谁|如何|咋|请问|能不能|可不可以|是不是|有没有|是否"
    r"|(.)不\1"
)
_ZH_STRONG = re.compile(r"请问|能不能|可不可以|可以不可以|是否|有没有|什么时候|为什么|为啥|怎么办|吗(?:[，,…~～\s]|$)")
_ZH_WONDER = re.compile(r"不知|搞不懂|不明白|不懂"  # wondering aloud, and rhetorical questions (难道..., 凭什么...)
                        r"|难道|凭什么|怎么(?:能|可以|好意思|会这样)|有(?:这样|这么)[^，。！？]{0,12}的吗|什么玩意|搞什么|谁(?:还)?敢|骗谁")
_EN_START = re.compile(
    r"\W*(?:(?:how|what|when|where|why|which|who)\s+(?:do|does|did|is|are|was|were|can|could|will|would|should|many|much|long|about)"
    r"|(?:can|could|do|does|will|would|is|are)\s+(?:you|i|we|anyone|someone|there)|any\s+(?:thoughts|updates?|news|idea))\b",
    re.IGNORECASE,
)
_EN_RHETORICAL = re.compile(
    r"(?<=\w )(?<!you )ever\b|\bor what\b|\bkidding\b|\bhuh\b|(?<!how )(?<!too )(?<!so )(?<!very )\bmuch$|\bseriously$"
    r"|\bwhat idiot\b|\bhow (?:hard|difficult) (?:is|can|could) it\b|\bhow dare\b|\bwhat(?:'s| is) wrong with (?:you|u)\b"
    r"|\bare you (?:serious|for real)\b|\bis this a joke\b|\bwhy (?:would|should) (?:i|anyone|we)\b|\bwhat(?:'s| is) the point\b",
    re.IGNORECASE,
)
_EN_WH = frozenset({"how", "what", "when", "where", "why", "which", "who"})
_ZH_NEG = re.compile(r"[不没无未别非]")
_ZH_NOT_NEG = re.compile(r"不但|不仅|不过|不错|不少|不久|非常|无论|别人|别的|没想到|特别|分别|区别|差别|级别|类别|识别|告别")
_EN_NEG = re.compile(r"\b(?:not|no|never|hardly|without|nothing|cannot)\b|n't\b", re.IGNORECASE)
_ZH_IF = re.compile(r"如果|要是|万一|假如|假设|以防")
_EN_IF = re.compile(r"\b(?:if|unless|in case)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,.;:!?()，。；：！？、（）\n]")
_EN_WORD = re.compile(r"[A-Za-z']+")


@cache
def _compiled() -> TermMatcher:
    return TermMatcher([(str(i), lex.zh, lex.en) for i, lex in enumerate(_LEXICONS)])


def _clause_before(text: str, start: int) -> str:
    """The text of the clause just before ``start`` (at most 40 characters)."""
    before = text[max(0, start - 40) : start]
    cut = [m.end() for m in _CLAUSE.finditer(before)]
    return before[cut[-1] :] if cut else before


def _negated(text: str, start: int) -> bool:
    """Is there a negation in the same clause just before ``start``?"""
    before = _clause_before(text, start)
    if not before:
        return False
    if ord(before[-1]) > 0x2E80 or (start < len(text) and ord(text[start]) > 0x2E80):
        window = _ZH_NOT_NEG.sub("", before[-4:])[-3:]
        if _ZH_NEG.search(window):
            return True
    words = _EN_WORD.findall(before)[-3:]
    return bool(words) and _EN_NEG.search(" ".join(words)) is not None


def _conditional(text: str, start: int) -> bool:
    """Does the clause before ``start`` open a condition (if, 如果...)?"""
    before = _clause_before(text, start)
    return _ZH_IF.search(before) is not None or _EN_IF.search(before) is not None


def _is_question(sentence: str) -> bool:
    """Does this sentence (with its end punctuation, handles blanked) ask something?"""
    body = sentence.strip()
    asked = "?" in body or "？" in body
    body = body.rstrip("?？!！.。;；\n ")
    if has_cjk(body):
        if _ZH_WONDER.search(body) and "请问" not in body:
            return False
        return (_ZH_ASKED if asked else _ZH_STRONG).search(body) is not None
    if asked:
        words = _EN_WORD.findall(body)
        form = len(words) >= 2 or (len(words) == 1 and words[0].lower() in _EN_WH)
    else:
        form = _EN_START.match(body) is not None
    return form and _EN_RHETORICAL.search(body) is None


def _questions(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` that ask something (@handles, #tags, URLs blanked)."""
    if "@" in text or "#" in text or "http" in text:
        text = _HANDLES.sub(lambda m: " " * len(m.group()), text)
    return [m.span() for m in _SENTENCE.finditer(text) if _is_question(m.group())]


def detect_intents(
    texts: Sequence[str | None],
    *,
    scores: Sequence[float] | None = None,
    evidence: bool = False,
) -> list[list[str]] | list[dict[str, list[str]]]:
    """Intents of each text.

    Parameters
    ----------
    texts
        Comments; ``None`` gives no intent.
    scores
        Optional sentiment score in [-1, 1] per text (NaN: none), e.g. ``clvlab.sentiment(texts)
        ["score"]``: at or below ``-COMPLAINT_SCORE`` adds complaint, at or above ``PRAISE_SCORE``
        adds praise. Without it, rules only.
    evidence
        Also return the words that triggered each intent (negated ones prefixed with ``not:``,
        a sentiment score as ``sentiment:<score>``).

    Returns
    -------
    list
        Per text, the intents in :data:`INTENTS` order; with ``evidence``, a dict intent -> terms.
    """
    if scores is not None and len(scores) != len(texts):
        msg = f"detect_intents: {len(scores)} scores for {len(texts)} texts"
        raise ValueError(msg)
    matcher = _compiled()
    out_ev: list[dict[str, list[str]]] = []
    for k, text in enumerate(texts):
        found: dict[str, list[str]] = {}
        denied = False  # a negated complaint or cancel term ("not bad", "不会取消")
        if isinstance(text, str) and text:
            asks = _questions(text)
            for key, matched, start in matcher.finditer(text):
                lex = _LEXICONS[int(key)]
                term = matched.lower()
                if lex.intent == "praise" and any(
                    a <= start < b or (a < start and _THANKS.match(term)) for a, b in asks
                ):
                    continue  # "would you recommend it?", "好用吗？" ask; "...? Thanks" closes a request
                if lex.negatable and _negated(text, start):
                    if lex.when_negated:
                        found.setdefault(lex.when_negated, []).append("not:" + term)
                    else:
                        denied = denied or lex.intent in ("complaint", "churn_threat")
                    continue
                if lex.intent == "complaint" and _conditional(text, start):
                    continue  # "if all else fails": hypothetical
                found.setdefault(lex.intent, []).append(term)
            if asks:
                a, b = asks[0]
                found["question"] = [text[a:b].strip()]
        score = float(scores[k]) if scores is not None else math.nan
        if score <= -COMPLAINT_SCORE and "question" not in found and not (denied and "complaint" not in found):
            found.setdefault("complaint", []).append(f"sentiment:{score:.2f}")
        if score >= PRAISE_SCORE:
            found.setdefault("praise", []).append(f"sentiment:{score:.2f}")
        if "churn_threat" in found and "complaint" not in found:
            found["complaint"] = ["(churn threat)"]
        out_ev.append({i: found[i] for i in INTENTS if i in found})
    if evidence:
        return out_ev
    return [list(d) for d in out_ev]
