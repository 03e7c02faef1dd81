"""Word frequency, keywords per comment and per group, and n-gram phrases.

All functions take token lists from :func:`clvlab.text.segment.tokenize` (or raw texts, which they
tokenize). Counting is sparse (scikit-learn's ``CountVectorizer`` on the token lists), so a group's
statistics cost one sparse product, not a Python loop per group.

Group keywords answer "what distinguishes this group from the others":

- ``method="ctfidf"`` (class-based TF-IDF, Grootendorst 2022, BERTopic eq. 1): all comments of a
  group are one document; ``w(t, c) = tf(t, c) / n_c * log(1 + A / f(t))`` with ``A`` the mean
  number of words per group and ``f(t)`` the frequency of ``t`` over all groups.
- ``method="log_odds"`` (Monroe, Colaresi & Quinn 2008, eq. 16-22): the z-score of the log-odds
  ratio of ``t`` in the group against all other groups, with an informative Dirichlet prior from the
  whole corpus. With two or three groups (positive vs negative, a few touchpoints) it is the sharper
  contrast: a word used as often everywhere scores 0 however frequent it is. This is the default.

Phrases are bigrams and trigrams that never span a stopword or punctuation, ranked by
``count * NPMI`` (normalised pointwise mutual information, Bouma 2009; for a trigram the PMI
against its three words, divided by ``-2 log p``) among those seen at least
``min_count`` times: frequent, and more cohesive than chance.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from clvlab.errors import check_param
from clvlab.text.language import has_cjk
from clvlab.text.segment import BREAK, corpus_idf, jieba_idf, token_sequences, tokenize

Docs = Sequence[Sequence[str]]


def _as_docs(texts_or_tokens: Sequence[Any], lang: str | Sequence[str]) -> list[list[str]]:
    """Token lists as given, or texts tokenized."""
    items = list(texts_or_tokens)
    if all(isinstance(x, list | tuple) for x in items):
        return [list(x) for x in items]
    return tokenize([x if isinstance(x, str) else None for x in items], lang)


def _doc_term(docs: Docs) -> tuple[sparse.csr_matrix, np.ndarray]:
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=_identity, lowercase=False)
    if not any(docs):
        return sparse.csr_matrix((len(docs), 0), dtype=np.int64), np.array([], dtype=object)
    x = vec.fit_transform(docs)
    return x.tocsr(), vec.get_feature_names_out()


def _identity(doc: Sequence[str]) -> Sequence[str]:
    return doc


def word_frequency(
    texts_or_tokens: Sequence[Any], *, lang: str | Sequence[str] = "auto", top: int | None = None
) -> pd.DataFrame:
    """Word counts over all comments.

    Returns
    -------
    DataFrame
        Columns ``word``, ``count`` (occurrences), ``comments`` (comments holding the word) and
        ``share`` (count / all words), most frequent first (ties alphabetical).
    """
    docs = _as_docs(texts_or_tokens, lang)
    counts: Counter[str] = Counter()
    in_docs: Counter[str] = Counter()
    for doc in docs:
        counts.update(doc)
        in_docs.update(set(doc))
    total = sum(counts.values())
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: top if top else None]
    frame = pd.DataFrame(rows, columns=["word", "count"])
    frame["comments"] = [in_docs[w] for w in frame["word"]]
    frame["share"] = frame["count"] / total if total else 0.0
    return frame


def comment_keywords(docs: Docs, *, top: int = 5) -> list[list[str]]:
    """Keywords of each comment by TF-IDF.

    Chinese words take jieba's shipped IDF (unknown words its median, as ``jieba.analyse`` does);
    other words the smoothed IDF of the comments passed in. Ties keep text order.
    """
    zh_idf, zh_median = jieba_idf()
    batch_idf = corpus_idf(docs)
    out: list[list[str]] = []
    for doc in docs:
        if not doc:
            out.append([])
            continue
        tf = Counter(doc)
        first = {w: i for i, w in reversed(list(enumerate(doc)))}
        scored = [
            (c * (zh_idf.get(w, zh_median) if has_cjk(w) else batch_idf.get(w, 1.0)), -first[w], w)
            for w, c in tf.items()
            if len(w) > 1 or (has_cjk(w) and w not in _WEAK_SINGLE)
        ]
        scored.sort(reverse=True)
        out.append([w for _, _, w in scored[:top]])
    return out


#: single characters that carry little on their own as a comment keyword
_WEAK_SINGLE = frozenset("买说看用做来去给好个")


def group_keywords(
    docs: Docs,
    groups: Sequence[Hashable],
    *,
    top: int = 10,
    method: Literal["log_odds", "ctfidf"] = "log_odds",
    min_count: int = 2,
    prior: float = 500.0,
) -> dict[Hashable, list[tuple[str, float]]]:
    """The words that distinguish each group from the others.

    Parameters
    ----------
    docs
        Token lists, one per comment.
    groups
        Group label of each comment (same length as ``docs``).
    top
        Keywords kept per group.
    method
        'log_odds' (z-scores, Monroe et al. 2008) or 'ctfidf' (class-based TF-IDF); see the module.
    min_count
        A word must occur at least this often in the group.
    prior
        Total weight ``alpha_0`` of the Dirichlet prior for 'log_odds' (spread over words by their
        corpus shares).

    Returns
    -------
    dict
        Group -> list of ``(word, score)``, best first; only positive scores.
    """
    check_param(len(groups) == len(docs), "groups", "group_keywords", f"one label per comment ({len(docs)})", len(groups))
    check_param(method in ("log_odds", "ctfidf"), "method", "group_keywords", "'log_odds' or 'ctfidf'", method)
    labels, codes = np.unique(np.asarray(pd.Series(list(groups)).astype(str)), return_inverse=True)
    original = {str(g): g for g in groups}
    x, vocab = _doc_term(docs)
    if x.shape[1] == 0:
        return {original[g]: [] for g in labels}
    ind = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(labels), len(codes)))
    counts = np.asarray((ind @ x).todense(), dtype=float)  # groups x words
    if method == "ctfidf":
        n_c = counts.sum(axis=1, keepdims=True)
        f_t = counts.sum(axis=0)
        avg = n_c.mean()
        score = counts / np.maximum(n_c, 1.0) * np.log1p(avg / np.maximum(f_t, 1.0))
    else:
        score = _log_odds_z(counts, prior)
    result: dict[Hashable, list[tuple[str, float]]] = {}
    for i, g in enumerate(labels):
        s = np.where(counts[i] >= min_count, score[i], -np.inf)
        order = np.lexsort((vocab.astype(str), -s))[:top]
        result[original[g]] = [(str(vocab[j]), float(s[j])) for j in order if np.isfinite(s[j]) and s[j] > 0]
    return result


def _log_odds_z(counts: np.ndarray, prior: float) -> np.ndarray:
    """Monroe et al. (2008) eq. 22: z-score of the prior-smoothed log-odds ratio, group vs rest."""
    total_t = counts.sum(axis=0)
    alpha = prior * total_t / max(total_t.sum(), 1.0)  # informative prior from the corpus
    alpha0 = alpha.sum()
    rest = total_t[None, :] - counts
    n_c = counts.sum(axis=1, keepdims=True)
    n_r = rest.sum(axis=1, keepdims=True)
    odds_c = np.log(counts + alpha) - np.log(n_c + alpha0 - counts - alpha)
    odds_r = np.log(rest + alpha) - np.log(n_r + alpha0 - rest - alpha)
    var = 1.0 / (counts + alpha) + 1.0 / (rest + alpha)
    return np.asarray((odds_c - odds_r) / np.sqrt(var))


def phrases(
    texts_or_sequences: Sequence[Any],
    *,
    lang: str | Sequence[str] = "auto",
    n: Sequence[int] = (2, 3),
    min_count: int = 3,
    min_npmi: float = 0.1,
    top: int = 20,
) -> pd.DataFrame:
    """Frequent, cohesive bigrams and trigrams.

    Parameters
    ----------
    texts_or_sequences
        Raw texts, or token sequences from :func:`clvlab.text.segment.token_sequences` (with
        break markers, so that phrases never span a removed stopword or punctuation).
    n
        Phrase lengths to count.
    min_count, min_npmi
        A phrase must occur at least ``min_count`` times with NPMI at least ``min_npmi``.

    Returns
    -------
    DataFrame
        ``phrase`` (Chinese words joined directly, others with a space), ``count``, ``npmi`` and
        ``score = count * npmi``, best first.
    """
    items = list(texts_or_sequences)
    if all(isinstance(x, list | tuple) for x in items):
        seqs = [list(x) for x in items]
    else:
        seqs = token_sequences([x if isinstance(x, str) else None for x in items], lang)
    uni: Counter[str] = Counter()
    grams: Counter[tuple[str, ...]] = Counter()
    for seq in seqs:
        uni.update(t for t in seq if t != BREAK)
        for k in n:
            for i in range(len(seq) - k + 1):
                g = tuple(seq[i : i + k])
                if BREAK not in g and len(set(g)) == k:
                    grams[g] += 1
    n_uni = max(sum(uni.values()), 1)
    rows = []
    for g, c in grams.items():
        if c < min_count:
            continue
        p = c / n_uni  # positions ~ words, so p(g) <= p(each word) and NPMI stays in [-1, 1]
        pmi = math.log(p) - sum(math.log(uni[t] / n_uni) for t in g)
        npmi = pmi / (-(len(g) - 1) * math.log(p)) if p < 1 else 1.0
        if npmi >= min_npmi:
            sep = "" if all(has_cjk(t) for t in g) else " "
            rows.append((sep.join(g), c, npmi, c * npmi))
    frame = pd.DataFrame(rows, columns=["phrase", "count", "npmi", "score"])
    return frame.sort_values(["score", "phrase"], ascending=[False, True]).head(top).reset_index(drop=True)


def corpus_keywords(docs: Docs, *, top: int = 10, min_count: int = 2) -> list[tuple[str, float]]:
    """Keywords of a whole set of comments when there is no other group to contrast it with.

    Score = count x IDF, with jieba's IDF for Chinese words (so everyday words such as 东西 rank
    low) and the comments' own smoothed IDF for the rest.
    """
    zh_idf, zh_median = jieba_idf()
    batch_idf = corpus_idf(docs)
    counts: Counter[str] = Counter(w for d in docs for w in d)
    scored = [
        (c * (zh_idf.get(w, zh_median) if has_cjk(w) else batch_idf.get(w, 1.0)), w)
        for w, c in counts.items()
        if c >= min_count and (len(w) > 1 or (has_cjk(w) and w not in _WEAK_SINGLE))
    ]
    scored.sort(key=lambda sw: (-sw[0], sw[1]))
    return [(w, float(s)) for s, w in scored[:top]]
