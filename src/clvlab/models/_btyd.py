"""Shared plumbing for the continuous-time BTYD models (BG/NBD, MBG/NBD, Pareto/NBD).

Public helpers (for model modules, not for users):

- :func:`read_frt` pulls ``frequency``, ``recency``, ``T`` (and optional ``weights``) out of a
  frame or keyword arrays and checks the BTYD rules with located errors.
- :func:`check_frt` the rules alone: integer ``frequency >= 0``, ``0 <= recency <= T``,
  ``recency == 0`` exactly when ``frequency == 0``, so ``T >= 0`` (0 for a first purchase on
  the last day).
- :func:`distinct_rows` factorises several columns into distinct rows: the distinct values of
  each column, integer codes of every distinct row into those values, summed weights, and the
  inverse map from input rows to distinct rows. Likelihoods evaluate per-value terms once per
  distinct value (e.g. ``gammaln(r + x)`` per distinct x, ``log(alpha + T)`` per distinct T)
  and gather them with the codes; predictions are computed per distinct row and expanded with
  ``inverse``.
- :func:`prediction_inputs` / :func:`as_output` broadcast scalars, arrays and pandas Series for
  prediction methods and give back a float for scalar input, an ndarray otherwise
  (:func:`broadcast_inputs` and :func:`check_finite` are its two halves).
- :func:`frt_clean` says in one cheap sweep whether the inputs pass (and their ranges), so the
  located checks only run on bad input; :func:`blocks` slices loops into cache-sized blocks.
- :func:`grid_codes` codes a column lying on a regular grid (T in whole days) by arithmetic.
- :func:`softplus` ``log(1 + exp(d))`` without overflow.
- :func:`alive_from_log_odds` P(alive) from the log-odds of dropout, in place and overflow-safe;
  :func:`plain_horizon` recognises the usual scalar horizon (BG/NBD and Pareto/NBD share both).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError
from clvlab.models._base import ArrayLike, FloatArray, as_columns, check_rule

IntArray = np.ndarray[Any, np.dtype[np.intp]]

__all__ = [
    "BLOCK",
    "DistinctRows",
    "FrtRanges",
    "alive_from_log_odds",
    "as_output",
    "blocks",
    "broadcast_inputs",
    "check_counts",
    "check_finite",
    "check_frt",
    "check_time",
    "check_weights",
    "clean_frt_inputs",
    "combine_codes",
    "degeneracy",
    "distinct_rows",
    "factorize_column",
    "frt_clean",
    "grid_codes",
    "mostly_distinct",
    "plain_horizon",
    "prediction_inputs",
    "present_keys",
    "read_frt",
    "softplus",
    "usual_call",
]


BLOCK = 16_384
"""Rows per block in blocked loops: a block's handful of float buffers stays in L2 cache."""


def blocks(n: int, size: int = BLOCK) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` rows covering ``range(n)``."""
    return (slice(i, min(i + size, n)) for i in range(0, n, size))


def plain_horizon(t: Any) -> float | None:
    """``t`` as a float when it is one finite number >= 0 (the usual call), else None."""
    if isinstance(t, bool) or not isinstance(t, int | float | np.integer | np.floating):
        return None
    try:
        value = float(t)
    except OverflowError:  # an int beyond float range: the general path reports it
        return None
    return value if np.isfinite(value) and value >= 0 else None


def alive_from_log_odds(d: FloatArray, scratch: FloatArray | None = None,
                        times: FloatArray | None = None) -> FloatArray:
    """P(alive) = ``1 / (1 + exp(d))`` (``times`` that), computed in ``d``'s buffer.

    When no d exceeds 35 (P > 6e-16) literally so. Otherwise as ``exp(-softplus(d))``, which
    cannot overflow (``scratch``, if given, is a spare buffer of d's size for its
    ``max(d - 35, 0)`` term). The two agree within 1e-14 relative where both apply (the
    softplus form has the larger rounding error: up to ~35 ulp of P, from exp of a rounded
    softplus), and the first takes three cheap passes where the second takes a log1p and
    two exp. d is first clipped below at -100, where P is exactly 1.0 either way: exp of
    -inf (BG/NBD's d for x = 0) or of an underflowing argument takes a slow path in
    numpy's SIMD loops, many times the cost of an ordinary value.
    """
    if not d.max(initial=-np.inf) > 35.0:
        np.maximum(d, -100.0, out=d)
        np.exp(d, out=d)
        d += 1.0
        if times is None:
            np.reciprocal(d, out=d)
        else:
            np.divide(times, d, out=d)
        return d
    extra = np.subtract(d, 35.0, out=scratch)
    np.maximum(extra, 0.0, out=extra)
    np.clip(d, -100.0, 35.0, out=d)
    np.exp(d, out=d)
    np.log1p(d, out=d)
    d += extra
    np.negative(d, out=d)
    np.exp(d, out=d)
    if times is not None:
        d *= times
    return d


def check_frt(cols: Mapping[str, FloatArray], where: str) -> None:
    """Check the BTYD summary rules on ``frequency``, ``recency`` and ``T`` (all required).

    Integer ``frequency >= 0``; ``0 <= recency <= T``; ``recency == 0`` when ``frequency == 0``
    and ``recency > 0`` when it is not (repeat purchases come after the first); so ``T >= 0``,
    and ``T == 0`` (first purchase at the end of the period) only without repeat purchases.
    Raises a located :class:`~clvlab.errors.DataValidationError` (customer id or 1-based row,
    column, value).
    """
    x, tx, T = cols["frequency"], cols["recency"], cols["T"]
    if frt_clean(x, tx, T) is not None:
        return
    check_rule(x < 0, cols, "frequency", "must be >= 0 (number of repeat purchases)", where=where)
    check_rule(x != np.floor(x), cols, "frequency", "must be a whole number of repeat purchases",
               where=where)
    check_rule(T < 0, cols, "T", "must be >= 0 (time from first purchase to the end of the period)",
               where=where)
    check_rule(tx < 0, cols, "recency", "must be >= 0 (time from first to last purchase)",
               where=where)
    check_rule(tx > T, cols, "recency",
               "must be <= T (last purchase after the end of the period); check the summary's "
               "observation end date", where=where)
    check_rule((x == 0) & (tx != 0), cols, "recency",
               "must be 0 when frequency is 0 (no repeat purchase)", where=where)
    check_rule((x > 0) & (tx == 0), cols, "recency",
               "must be > 0 when frequency > 0 (repeat purchases come after the first one)",
               where=where)


def check_counts(n: FloatArray, where: str, name: str = "n") -> None:
    """Purchase counts must be whole numbers >= 0."""
    cols = {name: n}
    check_rule(n < 0, cols, name, "must be >= 0 (a number of purchases)", where=where)
    check_rule(n != np.floor(n), cols, name, "must be a whole number of purchases", where=where)


class FrtRanges(NamedTuple):
    """Ranges of clean BTYD inputs found by :func:`frt_clean`."""

    x_max: float
    t_min: float
    t_max: float


def clean_frt_inputs(where: str, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                     ) -> tuple[dict[str, FloatArray], bool, FrtRanges | None]:
    """Broadcast and check frequency, recency and T (same checks and errors as
    :func:`prediction_inputs` + :func:`check_frt`); also the ranges from the one blocked sweep
    of :func:`frt_clean`, None when that sweep failed and the located checks ran (and raised,
    or found nothing to report, e.g. for empty input)."""
    v, scalar = broadcast_inputs(where, frequency=frequency, recency=recency, T=T)
    ranges = frt_clean(v["frequency"], v["recency"], v["T"])
    if ranges is None:
        check_finite(v, where)
        check_frt(v, where)
    return v, scalar, ranges


def usual_call(where: str, t: Any, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
               ) -> tuple[float, dict[str, FloatArray], bool, FrtRanges | None] | None:
    """``(horizon, inputs, scalar, ranges)`` for the usual prediction call, one plain horizon
    with valid inputs (:func:`plain_horizon`, :func:`clean_frt_inputs`); None otherwise, and the
    caller's general path then raises any error again, with a message that names ``t`` too."""
    t_one = plain_horizon(t)
    if t_one is None:
        return None
    try:
        v, scalar, ranges = clean_frt_inputs(where, frequency, recency, T)
    except DataValidationError:
        return None
    return t_one, v, scalar, ranges


def frt_clean(x: FloatArray, tx: FloatArray, T: FloatArray) -> FrtRanges | None:
    """The ranges of x and T when all values are finite and :func:`check_frt` would pass.

    None otherwise (also for empty or unequal 1-D inputs): the caller then runs the located
    checks. Blocks of :data:`BLOCK` rows go through the rules in cache, with reductions and
    1-byte masks, instead of one full pass over the data per rule.
    """
    n = x.size
    if not (n and x.ndim == tx.ndim == T.ndim == 1 and len(tx) == len(T) == n):
        return None
    x_max, t_min, t_max = -np.inf, np.inf, -np.inf
    size = min(n, BLOCK)
    f_buf, b_buf = np.empty(size), np.empty(size, dtype=bool)
    for s in blocks(n):
        xb, tb, Tb = x[s], tx[s], T[s]
        f, b = f_buf[: len(xb)], b_buf[: len(xb)]
        hi_x, lo_t, hi_t = xb.max(), Tb.min(), Tb.max()  # NaN propagates and fails below
        if not (hi_x < np.inf and xb.min() >= 0 and lo_t >= 0 and hi_t < np.inf
                and tb.min() >= 0 and np.equal(xb, np.floor(xb, out=f), out=b).all()):
            return None
        # recency <= T where x >= 1 and recency <= 0 where x = 0, in one test
        np.minimum(xb, 1.0, out=f)
        f *= Tb
        if np.greater(tb, f, out=b).any():
            return None
        # recency > 0 where x >= 1: the rows with recency != 0 now have x >= 1, so equal counts
        # of nonzero recency and nonzero x make them the same rows. Counted on 1-byte masks:
        # faster than counting floats, or than the sign test this replaces.
        if (np.count_nonzero(np.not_equal(tb, 0.0, out=b))
                != np.count_nonzero(np.not_equal(xb, 0.0, out=b))):
            return None
        x_max, t_min, t_max = max(x_max, float(hi_x)), min(t_min, float(lo_t)), max(t_max, float(hi_t))
    return FrtRanges(x_max, t_min, t_max)


def degeneracy(x: FloatArray, weights: FloatArray | None) -> str:
    """What in BTYD data keeps it from identifying a model ('' when nothing): without any
    repeat purchase the purchase rate and the dropout cannot be told apart."""
    repeat = x > 0 if weights is None else (x > 0) & (weights > 0)
    return "" if repeat.any() else ("no customer made a repeat purchase (all frequencies are 0): "
                                    "use a longer period")


def check_weights(weights: FloatArray, where: str) -> None:
    """Weights must be >= 0 with a positive total."""
    check_rule(weights < 0, {"weights": weights}, "weights", "must be >= 0", where=where)
    if not weights.sum() > 0:
        msg = f"{where}: the weights sum to 0, nothing to fit"
        raise DataValidationError(msg, hint="pass positive weights (customer counts)")


def read_frt(
    data: Any,
    given: Mapping[str, ArrayLike | None],
    *,
    where: str,
) -> tuple[dict[str, FloatArray], FloatArray | None]:
    """Columns ``frequency``, ``recency``, ``T`` (checked) and optional ``weights``."""
    cols = as_columns(data, ("frequency", "recency", "T"), given, where=where,
                      optional=("weights",))
    weights = cols.pop("weights", None)
    check_frt(cols, where)
    if weights is not None:
        check_weights(weights, where)
    return cols, weights


@dataclass(frozen=True)
class DistinctRows:
    """Distinct rows of several columns, each column factorised on its own.

    ``values[name]`` holds the distinct values of column ``name``; ``codes[name][i]`` is the
    position in ``values[name]`` of distinct row ``i``; ``weights[i]`` sums the input weights of
    distinct row ``i``; ``inverse[j]`` is the distinct row of input row ``j``.
    """

    values: dict[str, FloatArray]
    codes: dict[str, IntArray]
    weights: FloatArray
    inverse: IntArray

    @property
    def n_rows(self) -> int:
        """Number of distinct rows."""
        return len(self.weights)

    def column(self, name: str) -> FloatArray:
        """Column ``name`` at the distinct rows."""
        return self.values[name][self.codes[name]]


def distinct_rows(columns: Mapping[str, FloatArray], weights: FloatArray | None = None) -> DistinctRows:
    """Factorise the columns (hash-based, O(n)) into distinct rows with summed weights."""
    names = list(columns)
    if not names:
        msg = "distinct_rows needs at least one column"
        raise ValueError(msg)
    n = len(columns[names[0]])
    col_codes: list[IntArray] = []
    uniques: list[FloatArray] = []
    for name in names:
        coded = factorize_column(columns[name], max_ratio=np.inf)
        assert coded is not None
        col_codes.append(coded[0])
        uniques.append(coded[1])
    key, n_key = combine_codes(col_codes, [len(u) for u in uniques])
    counts = np.bincount(key, minlength=n_key)
    present = np.flatnonzero(counts)
    if len(present) < n_key:
        remap = np.zeros(n_key, dtype=np.intp)
        remap[present] = np.arange(len(present), dtype=np.intp)
        key, n_key = remap[key], len(present)
    inverse = key
    rep = np.empty(n_key, dtype=np.intp)
    rep[inverse] = np.arange(n, dtype=np.intp)
    w = np.bincount(inverse, weights=weights, minlength=n_key).astype(np.float64)
    return DistinctRows(
        values=dict(zip(names, uniques, strict=True)),
        codes={name: c[rep] for name, c in zip(names, col_codes, strict=True)},
        weights=w,
        inverse=inverse,
    )


def prediction_inputs(where: str, **inputs: ArrayLike) -> tuple[dict[str, FloatArray], bool]:
    """Broadcast prediction inputs to finite float arrays; also says whether all were scalars."""
    out, scalar = broadcast_inputs(where, **inputs)
    check_finite(out, where)
    return out, scalar


def broadcast_inputs(where: str, **inputs: ArrayLike) -> tuple[dict[str, FloatArray], bool]:
    """:func:`prediction_inputs` without the finiteness check (the caller's to make)."""
    arrays: dict[str, FloatArray] = {}
    scalar = True
    for name, value in inputs.items():
        if isinstance(value, pd.Series | pd.Index):
            value = value.to_numpy()
        elif hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
            value = value.to_numpy()  # Polars Series
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            msg = f"{where}: '{name}' is not numeric ({exc})"
            raise DataValidationError(msg) from exc
        scalar = scalar and arr.ndim == 0
        arrays[name] = arr
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError as exc:
        shapes = {k: v.shape for k, v in arrays.items()}
        msg = f"{where}: inputs cannot be broadcast together {shapes}"
        raise DataValidationError(msg) from exc
    out = {k: np.atleast_1d(np.ascontiguousarray(v)).ravel()
           for k, v in zip(arrays, shaped, strict=True)}
    return out, scalar


def check_finite(arrays: Mapping[str, FloatArray], where: str) -> None:
    """Raise a located :class:`~clvlab.errors.DataValidationError` for NaN or infinite values."""
    for name, arr in arrays.items():
        with np.errstate(over="ignore", invalid="ignore"):
            # a sum is finite only if every term is (inf and nan propagate): one reduction
            # instead of a mask on the common clean input; overflow just takes the slow path
            if np.isfinite(np.sum(arr)):
                continue
        check_rule(~np.isfinite(arr), arrays, name, "not a finite number", where=where)


def factorize_column(values: FloatArray, *, max_ratio: float = 0.5, sample: int = 20_000
                     ) -> tuple[IntArray, FloatArray] | None:
    """Codes and distinct values of one column, or None when it barely repeats.

    A sample of ``sample`` values decides: if more than ``max_ratio`` of them are distinct, the
    column is treated as continuous (hashing it would cost more than it saves) and None is
    returned. Non-negative whole numbers below ``4 * len(values) + 1024`` (counts) are coded by
    value, without hashing.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    vmin, vmax = float(values.min()), float(values.max())
    head = values[:1000]  # most continuous columns fail the whole-number test here, cheaply
    if (vmin >= 0 and vmax < 4 * n + 1024
            and np.array_equal(head, np.floor(head)) and np.array_equal(values, np.floor(values))):
        return values.astype(np.intp), np.arange(int(vmax) + 1, dtype=np.float64)
    if mostly_distinct(values, max_ratio=max_ratio, sample=sample):
        return None
    if values.dtype == np.float64 and (vmin > 0 or vmax < 0):
        # no zeros (0.0 and -0.0 differ in bits) and no NaN (min/max propagate it): values are
        # equal exactly when their bits are, and pandas hashes int64 faster than float64
        ci, ui = pd.factorize(values.view(np.int64), sort=False)
        return np.asarray(ci, dtype=np.intp), np.asarray(ui, dtype=np.int64).view(np.float64)
    c, u = pd.factorize(values, sort=False)
    return np.asarray(c, dtype=np.intp), np.asarray(u, dtype=np.float64)


def grid_codes(values: FloatArray, lo: float, hi: float, *, max_size: int,
               sample: int = 20_000) -> tuple[IntArray, FloatArray] | None:
    """Codes of finite ``values`` in ``[lo, hi]`` lying on a regular grid ``lo + k h``.

    Returns the codes k and the value at each grid point (NaN where no value falls), or None
    when a strided sample suggests no grid of at most ``max_size`` points or a value is off
    the grid. RFM summaries from dated transactions put T on such a grid (whole days in some
    unit); coding by arithmetic, checked value by value against the grid point's value, is a
    few times cheaper than hashing a million floats.
    """
    n = len(values)
    if hi == lo:
        inv_h, size = 0.0, 1
    else:
        head = np.unique(values if n <= sample else values[:: max(n // sample, 1)])
        if len(head) < 2:
            return None
        with np.errstate(over="ignore"):  # a huge range over a tiny step: no grid
            steps = float(np.rint((hi - lo) / np.diff(head).min()))
        if not 1 <= steps < max_size:
            return None
        inv_h, size = steps / (hi - lo), int(steps) + 1
    at = np.full(size, np.nan)
    codes = np.empty(n, dtype=np.intp)
    f = np.empty(min(n, BLOCK))
    for s in blocks(n):
        vb, g, fb = values[s], codes[s], f[: s.stop - s.start]
        np.subtract(vb, lo, out=fb)
        fb *= inv_h
        np.rint(fb, out=fb)
        np.copyto(g, fb, casting="unsafe")  # in [0, size): lo <= vb <= hi and rounding is monotone
        if np.array_equal(at.take(g, out=fb, mode="clip"), vb):
            continue
        miss = fb != vb
        if not np.isnan(fb[miss]).all():
            return None  # another value already holds that grid point
        at[g[miss]] = vb[miss]  # first values at these grid points
        if not np.array_equal(at.take(g, out=fb, mode="clip"), vb):
            return None  # two values of this block share a grid point
    return codes, at


def mostly_distinct(values: FloatArray, *, max_ratio: float = 0.5, sample: int = 20_000) -> bool:
    """True when more than ``max_ratio`` of a strided sample of ``values`` are distinct."""
    if not np.isfinite(max_ratio):
        return False
    n = len(values)
    head = values if n <= sample else values[:: max(n // sample, 1)]
    return len(head) >= 1000 and len(pd.unique(head)) > max_ratio * len(head)


def present_keys(x: FloatArray, codes: IntArray, n_codes: int, n_keys: int) -> IntArray:
    """Sorted dense keys ``x * n_codes + codes`` occurring in the rows.

    ``x`` holds checked whole numbers in ``[0, n_keys // n_codes)`` and ``codes`` values in
    ``[0, n_codes)``; the keys are marked in a boolean table of ``n_keys`` entries, by blocks.
    """
    n = len(x)
    seen = np.zeros(n_keys, dtype=bool)
    key = np.empty(min(n, BLOCK), dtype=np.intp)
    for s in blocks(n):
        kb = key[: s.stop - s.start]
        np.copyto(kb, x[s], casting="unsafe")
        kb *= n_codes
        kb += codes[s]
        seen[kb] = True
    return np.flatnonzero(seen)


def combine_codes(codes: list[IntArray], sizes: list[int]) -> tuple[IntArray, int]:
    """One code per distinct combination of several code columns: (row codes, number of codes)."""
    key = codes[0]
    n_key = sizes[0]
    for c, size in zip(codes[1:], sizes[1:], strict=True):
        combined = key.astype(np.int64) * size + c
        if n_key * size < 4 * len(c) + 1024:
            # small key space: dense codes without hashing (unused codes get zero weight)
            key, n_key = combined.astype(np.intp), n_key * size
        else:
            k, ku = pd.factorize(combined, sort=False)
            key, n_key = np.asarray(k, dtype=np.intp), len(ku)
    return key, n_key


def as_output(values: FloatArray, scalar: bool) -> float | FloatArray:
    """A float for scalar input, else the array."""
    return float(values[0]) if scalar else values


def check_time(t: FloatArray, where: str, name: str = "t") -> None:
    """A prediction horizon must be >= 0."""
    check_rule(t < 0, {name: t}, name, "must be >= 0 (length of the prediction period)",
               where=where)


def softplus(d: FloatArray) -> FloatArray:
    """``log(1 + exp(d))`` without overflow (exact to rounding; faster than ``np.logaddexp``)."""
    e = np.exp(np.minimum(d, 35.0))
    out: FloatArray = np.log1p(e, out=e)
    out += np.maximum(d - 35.0, 0.0)  # log1p(exp(d)) = d + O(exp(-d)) beyond 35
    return out
