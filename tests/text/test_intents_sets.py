"""Intents on three sets of 150 real comments: a second development set and two blind test sets.

**Blind test sets**, labelled by people who had not seen the rules or run the detector; their
errors have not been read (do not tune on them: once read, a set is a development set too).

- ``data/intents_test.csv``: drawn like the development set below with another seed (7719;
  targeted routes: negative tweets naming a rival airline with reason Customer Service Issue/Bad
  Flight, label-0 reviews with 以后/再也/最后一次 for churn; tweets with upgrade/first
  class/comfort/premium, reviews with 大一/更大/高配/顶配/其他 for upsell). First scored after the
  first revision of the rules; only its aggregate figures were then used to aim the second.
- ``data/intents_test2.csv``: seed 9103; 60 random rows (15 positive + 15 negative reviews, 10
  tweets per sentiment), 50 churn candidates by length and reason, not by words (negative tweets
  of >= 100 characters with a service/flight/luggage reason; label-0 reviews of >= 60 characters
  of 酒店/手机/计算机/平板), 40 upsell candidates (tweets with seat/class/upgrade/offer/miles/
  status/membership/wifi; reviews with 颜色/尺码/型号/配置/会员/套餐/版本). Scored once, after the
  second revision. It holds only 2 upsell comments, so upsell has no floor there.

**Second development set** (the rest of this docstring):

``data/intents_heldout.csv`` holds real comments quoted verbatim from ``shared/data/text``
(``row_id`` = 0-based data row of the source file). None of them is in ``test_intents.py``. They
were drawn and labelled before the detector was first run on them:

- random (120): 3 positive and 3 negative reviews per category of online_shopping_10_cats (60 zh,
  reviews up to 280 characters) and 20 tweets per airline_sentiment (60 en), seed 2024;
- targeted (30), because upsell and churn threats are rare: 8 negative tweets that @-mention an
  airline other than the one addressed (negativereason not Cancelled Flight) and 7 label-0 reviews
  containing 再 (churn candidates); 8 tweets containing upgrade/first class/buy/purchase and 7
  reviews containing 升级/大一号/其他颜色/别的颜色/套餐/配件/加购/再买一 (upsell candidates). The
  ``selection`` column names each comment's route. Candidates are labelled like the rest: most
  turned out not to carry the intent.

Labelling conventions (docs/text.md, "Intents"): complaint = dissatisfaction or a reported
failure, including in a mixed comment; praise = a positive judgement, or thanks for something
received (not a "thanks" closing a request); upsell = interest in an upgrade, a higher tier, an
add-on or another variant (buying the same thing again, or a ticket, is not upsell); churn threat
= the author says they will stop buying, leave or switch (warning others or regretting a purchase
is not), always with complaint; question = asks something that expects an answer (rhetorical
questions and self-talk are not questions). Support is small for upsell (4) and churn threat (10).

History: the labels were written before the detector was first run on these comments, and the
first measurement (complaint 0.88/0.49, praise 0.84/0.81, upsell 0.23/0.75, churn 1.00/0.50,
question 0.56/0.95) was a fair held-out figure. The rules were then revised after reading the
errors on this set, so it is now a development set and its figures are optimistic; the blind
test set in ``data/intents_test.csv`` measures generalisation. 116 of these 150 comments are also
in the training split of the shipped sentiment model, so the "sentiment" figures (rules plus
scores, as ``analyze_text`` uses) flatter the model too.

A second revision, after the blind figures (not its comments), aimed at churn recall and upsell and
question precision with wording checked on the source corpora, not on these sets: upsell now needs
a wish or a question before "upgrade"/大一号/高配, which loses "straighten out a star alliance
upgrade" here (upsell recall 0.75 -> 0.50; "No upgrades processed" was already missed); the other
figures on these 150 did not move.

The floors are the measured figures minus 0.1, rounded down to 0.05, so that a regression fails:
"rules" is ``detect_intents`` alone, "sentiment" adds the shipped model's scores.
"""

from __future__ import annotations

import ast
import csv
import itertools
import re
from functools import cache
from pathlib import Path

import pytest

from clvlab.text.intents import INTENTS, detect_intents

HERE = Path(__file__).resolve().parent
SETS = {
    "heldout": HERE / "data" / "intents_heldout.csv",
    "test": HERE / "data" / "intents_test.csv",
    "test2": HERE / "data" / "intents_test2.csv",
}
#: rows drawn at random per set (the rest are candidates for the rare intents)
RANDOM_ROWS = {"heldout": 120, "test": 120, "test2": 60}

# measured (precision, recall), rules / with sentiment scores:
# heldout (after the rules were revised on it): complaint 0.93/0.88 / 0.92/0.92, praise 0.89/0.96 /
#   0.86/0.96, upsell 1.00/0.75 (both; 1.00/0.50 after the second revision), churn_threat 1.00/0.80
#   (both), question 0.79/1.00 (both)
# test (blind, first measurement): complaint 0.93/0.67 / 0.93/0.78, praise 0.89/0.80 / 0.89/0.82,
#   upsell 0.33/1.00 (both), churn_threat 1.00/0.33 (both), question 0.62/0.71 (both); after the
#   second revision (made without seeing it): upsell 1.00/0.25, churn_threat 1.00/0.75, rest same
# test2 (blind, measured once, after the second revision): complaint 0.97/0.64 / 0.95/0.77, praise
#   0.77/0.77 / 0.79/0.85, churn_threat 1.00/1.00 (5), question 0.70/0.95; upsell has 2 labelled
#   comments (0 found, no false alarm): too few for a floor
_HELDOUT_RULES = {
    "complaint": (0.80, 0.75),
    "praise": (0.75, 0.85),
    "upsell": (0.90, 0.40),
    "churn_threat": (0.90, 0.70),
    "question": (0.65, 0.90),
}
_TEST_RULES = {
    "complaint": (0.80, 0.55),
    "praise": (0.75, 0.70),
    "upsell": (0.90, 0.15),
    "churn_threat": (0.90, 0.65),
    "question": (0.50, 0.60),
}
_TEST2_RULES = {
    "complaint": (0.85, 0.50),
    "praise": (0.65, 0.65),
    "churn_threat": (0.90, 0.90),
    "question": (0.60, 0.85),
}
#: (precision, recall) floors per set and mode; sentiment scores only move complaint's
FLOORS: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "heldout": {
        "rules": _HELDOUT_RULES,
        "sentiment": {**_HELDOUT_RULES, "complaint": (0.80, 0.80)},
    },
    "test": {"rules": _TEST_RULES, "sentiment": {**_TEST_RULES, "complaint": (0.80, 0.65)}},
    "test2": {
        "rules": _TEST2_RULES,
        "sentiment": {**_TEST2_RULES, "complaint": (0.85, 0.65), "praise": (0.65, 0.75)},
    },
}
#: every (set, mode, intent) with a floor
CASES = [(n, m, i) for n, modes in FLOORS.items() for m, floors in modes.items() for i in floors]


def _rows(name: str = "heldout") -> list[dict[str, str]]:
    with SETS[name].open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _labels(row: dict[str, str]) -> set[str]:
    return {x for x in row["intents"].split("|") if x}


def _norm(text: str) -> str:
    """Letters and digits only, lowercased: the same comment with other spacing or punctuation."""
    return re.sub(r"[\W_]+", "", text).lower()


@cache
def _scores(name: str, mode: str) -> dict[str, tuple[float, float, int]]:
    rows = _rows(name)
    truth = [_labels(r) for r in rows]
    texts = [r["text"] for r in rows]
    sentiment = None
    if mode == "sentiment":
        from clvlab.text.sentiment import sentiment as score_texts

        sentiment = score_texts(texts)["score"].to_numpy()
    predicted = [set(p) for p in detect_intents(texts, scores=sentiment)]
    pairs = list(zip(truth, predicted, strict=True))
    out = {}
    for intent in INTENTS:
        tp = sum(1 for y, p in pairs if intent in y and intent in p)
        fp = sum(1 for y, p in pairs if intent not in y and intent in p)
        fn = sum(1 for y, p in pairs if intent in y and intent not in p)
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        out[intent] = (prec, rec, tp + fn)
    return out


@pytest.mark.parametrize("name", sorted(SETS))
def test_file_is_well_formed(name: str) -> None:
    """150 distinct real rows, known intents, sorted labels, every churn threat also a complaint."""
    rows = _rows(name)
    assert len(rows) == 150
    assert len({(r["source"], r["row_id"]) for r in rows}) == len(rows)
    assert {r["lang"] for r in rows} == {"zh", "en"}
    for r in rows:
        labels = _labels(r)
        assert labels <= set(INTENTS), r
        assert r["intents"] == "|".join(sorted(labels)), r
        assert "churn_threat" not in labels or "complaint" in labels, r
        assert r["text"].strip(), r
        assert r["selection"].startswith(("random", "targeted")), r
    assert sum(r["selection"].startswith("random") for r in rows) == RANDOM_ROWS[name]


def test_sets_share_no_comment() -> None:
    """The 63 of test_intents.py and the three sets of 150 are pairwise disjoint."""
    tree = ast.parse((HERE / "test_intents.py").read_text(encoding="utf-8"))
    (labelled,) = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "LABELLED"
    ]
    dev = {_norm(ast.literal_eval(pair.elts[0])) for pair in labelled.elts}
    assert len(dev) == 63
    texts = {"dev": dev, **{name: {_norm(r["text"]) for r in _rows(name)} for name in SETS}}
    for a, b in itertools.combinations(texts, 2):
        assert not texts[a] & texts[b], (a, b)


@pytest.mark.parametrize(("name", "mode", "intent"), CASES)
def test_intent_precision(name: str, mode: str, intent: str) -> None:
    """Precision on each set of 150 stays at its floor (measured minus 0.1)."""
    prec, rec, support = _scores(name, mode)[intent]
    assert support >= 4, f"{intent}: too few labelled examples ({support})"
    floor = FLOORS[name][mode][intent][0]
    assert prec >= floor, f"{name} {intent} ({mode}): precision {prec:.2f}, recall {rec:.2f}"


@pytest.mark.parametrize(("name", "mode", "intent"), CASES)
def test_intent_recall(name: str, mode: str, intent: str) -> None:
    """Recall on each set of 150 stays at its floor (measured minus 0.1)."""
    prec, rec, n = _scores(name, mode)[intent]
    floor = FLOORS[name][mode][intent][1]
    assert rec >= floor, f"{name} {intent} ({mode}): recall {rec:.2f}, precision {prec:.2f} (n {n})"
