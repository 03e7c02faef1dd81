"""RFM scores and named customer segments.

Scores
------
Each customer gets three scores from 1 to ``n_bins`` (default 5, quintiles):

- ``r_score`` from the time since the last purchase, ``T - recency`` (more recent = higher),
- ``f_score`` from ``frequency`` (more repeat purchases = higher),
- ``m_score`` from ``monetary_value`` (higher mean spend = higher).

Binning is by rank and robust to ties: a customer's score is ``1 + floor(n_bins * s)`` where
``s`` is the share of customers with a strictly *worse* value. Tied customers always share a
score, so the many customers with ``frequency == 0`` all get ``f_score == 1`` (and, with
``monetary_value == 0`` by convention, ``m_score == 1``); the bins are then unequal in size.
``rfm_score`` joins the three digits, e.g. ``"545"``.

Segments
--------
Segments always use quintile scores (computed with 5 bins whatever ``n_bins`` is) of recency
``R`` and of ``FM = ceil((F + M) / 2)``, the rounded-up mean of the frequency and monetary
quintiles. The first matching rule names the segment:

=====================  ========  ========  ==============================================
segment                R         FM        reading
=====================  ========  ========  ==============================================
Champions              5         4-5       bought lately, often, and spend the most
Loyal                  3-4       4-5       frequent, high-spending, fairly recent
Potential loyalist     4-5       2-3       recent, average frequency and spend
New                    5         1         bought very recently, no repeat yet
Promising              4         1         recent, little history yet
Need attention         3         3         average on every count
About to sleep         3         1-2       fading: middling recency, low value
Cannot lose them       1-2       5         were among the best, not seen for long
At risk                1-2       3-4       good customers who have drifted away
Hibernating            2         1-2       low value, long gone
Hibernating            1         2         low value, long gone
Lost                   1         1         lowest recency and value
=====================  ========  ========  ==============================================

The rules cover all 25 (R, FM) pairs.

>>> import pandas as pd, clvlab
>>> rfm = pd.DataFrame({"frequency": [10, 6, 0, 4, 2], "recency": [49, 45, 0, 30, 10],
...                     "T": [50, 50, 10, 50, 50], "monetary_value": [100, 40, 0, 50, 30]},
...                    index=pd.Index(list("ABCDE"), name="customer_id"))
>>> clvlab.rfm_segments(rfm)[["rfm_score", "segment"]].astype(str)  # doctest: +NORMALIZE_WHITESPACE
            rfm_score         segment
customer_id
A                 555       Champions
B                 443           Loyal
C                 311  About to sleep
D                 234         At risk
E                 122     Hibernating
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, check_param
from clvlab.models._base import FloatArray, as_columns

__all__ = ["SEGMENTS", "SEGMENT_RULES", "as_frame", "rfm_segments"]

#: (segment, R scores, FM scores), first match wins; scores are quintiles
SEGMENT_RULES: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal", (3, 4), (4, 5)),
    ("Potential loyalist", (4, 5), (2, 3)),
    ("New", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need attention", (3,), (3,)),
    ("About to sleep", (3,), (1, 2)),
    ("Cannot lose them", (1, 2), (5,)),
    ("At risk", (1, 2), (3, 4)),
    ("Hibernating", (2,), (1, 2)),
    ("Hibernating", (1,), (2,)),
    ("Lost", (1,), (1,)),
)
SEGMENTS = tuple(dict.fromkeys(name for name, _, _ in SEGMENT_RULES))


def _lookup() -> np.ndarray:
    """A 6 x 6 table of segment codes indexed by (R, FM)."""
    table = np.full((6, 6), -1, dtype=np.int64)
    for name, rs, fms in SEGMENT_RULES:
        for r in rs:
            for fm in fms:
                if table[r, fm] < 0:
                    table[r, fm] = SEGMENTS.index(name)
    assert (table[1:, 1:] >= 0).all()
    return table


_TABLE = _lookup()


def as_frame(data: Any, where: str) -> pd.DataFrame:
    """A pandas frame indexed by customer (Polars frames are converted, their
    ``customer_id`` column becomes the index)."""
    if not isinstance(data, pd.DataFrame):
        to_pandas = getattr(data, "to_pandas", None)
        check_param(callable(to_pandas), "rfm", where, "a pandas or Polars DataFrame",
                    type(data).__name__)
        assert callable(to_pandas)
        data = to_pandas()
        if "customer_id" in data.columns:
            data = data.set_index("customer_id")
    assert isinstance(data, pd.DataFrame)
    return data


def rank_scores(values: FloatArray, n_bins: int) -> np.ndarray:
    """``1 + floor(n_bins * share of values strictly below)``: ties share a score."""
    return np.minimum(1 + np.floor(n_bins * share_below(values)), n_bins).astype(np.int64)


def share_below(values: FloatArray) -> FloatArray:
    """Share of the values strictly smaller than each value (in [0, 1)).

    Counts per distinct value (by value for small whole numbers, else hashed), so only the
    distinct values are sorted: on a million values several times faster than ``np.unique``.
    """
    v = np.asarray(values, dtype=np.float64) + 0.0  # -0.0 becomes 0.0: equal values, equal bits
    n = len(v)
    if n and v.min() >= 0 and v.max() < 4 * n + 1024 and np.array_equal(v, np.floor(v)):
        codes = v.astype(np.intp)
        counts = np.bincount(codes)
        return np.asarray((np.cumsum(counts) - counts)[codes] / n, dtype=np.float64)
    codes, bits = pd.factorize(v.view(np.int64), sort=False)
    order = np.argsort(np.asarray(bits).view(np.float64), kind="stable")
    counts = np.bincount(codes, minlength=len(order))[order]
    below = np.empty(len(order))
    below[order] = np.cumsum(counts) - counts
    return np.asarray(below[codes] / n, dtype=np.float64)


def rfm_segments(rfm: Any, *, n_bins: int = 5) -> pd.DataFrame:
    """RFM scores and named segments of each customer (rules in the module docstring).

    Parameters
    ----------
    rfm
        Frame with ``frequency``, ``recency``, ``T``, ``monetary_value``, one row per customer
        (pandas, or Polars with a ``customer_id`` column).
    n_bins
        Number of score levels, 2 to 9 (5: quintiles).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rfm``: ``r_score``, ``f_score``, ``m_score`` (ints 1..n_bins),
        ``rfm_score`` (e.g. ``"545"``; categorical of strings), ``segment`` (categorical, in the rule table's order).
    """
    where = "rfm_segments"
    check_param(isinstance(n_bins, Integral) and not isinstance(n_bins, bool)
                and 2 <= n_bins <= 9, "n_bins", where, "an int in [2, 9]", n_bins)
    frame = as_frame(rfm, where)
    names = ("frequency", "recency", "T", "monetary_value")
    missing = [c for c in names if c not in frame.columns]
    if missing:
        msg = f"{where}: the rfm frame lacks the column(s) {missing}; it has {list(frame.columns)}"
        raise DataValidationError(msg, hint="build it with clvlab.rfm_summary(..., monetary='amount')")
    cols = as_columns(frame, names, {}, where=where)
    idle = cols["recency"] - cols["T"]  # minus the time since the last purchase: higher = better
    raw = {"r": idle, "f": cols["frequency"], "m": cols["monetary_value"]}
    scores = {k: rank_scores(v, int(n_bins)) for k, v in raw.items()}
    quint = scores if n_bins == 5 else {k: rank_scores(v, 5) for k, v in raw.items()}
    fm = (quint["f"] + quint["m"] + 1) // 2
    codes = _TABLE[quint["r"], fm]
    out = pd.DataFrame(
        {"r_score": scores["r"], "f_score": scores["f"], "m_score": scores["m"]}, index=frame.index
    )
    levels = range(1, n_bins + 1)
    labels = [f"{r}{f}{m}" for r in levels for f in levels for m in levels]
    code = ((scores["r"] - 1) * n_bins + scores["f"] - 1) * n_bins + scores["m"] - 1
    out["rfm_score"] = pd.Categorical.from_codes(code, categories=pd.Index(labels))
    out["segment"] = pd.Categorical.from_codes(codes, categories=pd.Index(list(SEGMENTS)))
    return out
