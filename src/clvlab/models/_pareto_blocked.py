"""Blocked fast paths of Pareto/NBD scoring, apart from the formulas in ``pareto_nbd``.

The hypergeometric terms and everything else that depends on (x, t_x) or (x, T) only are
evaluated once per pair present (dense keys ``x * n + code``, as RFM summaries put t_x and T on
a day grid); the per-row work runs in blocks that stay in cache. Each row gets the operations
of :func:`clvlab.models.pareto_nbd._terms`, which the tests compare against.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from clvlab.models._base import FloatArray
from clvlab.models._btyd import (
    BLOCK,
    FrtRanges,
    IntArray,
    alive_from_log_odds,
    blocks,
    factorize_column,
    grid_codes,
    present_keys,
)
from clvlab.models._pareto_terms import _decay, _log_f


def _log1mexp_into(d: FloatArray, buf: FloatArray, mask: np.ndarray[Any, np.dtype[np.bool_]]
                   ) -> None:
    """:func:`_log1mexp` in d's buffer (``buf`` and ``mask`` are spare buffers of d's size).

    Hand-written for speed: numpy's expm1 and log1p are scalar loops, exp and log vectorised.
    Above -0.693 (cancellation) as :func:`_log1mexp`, ``log(-expm1(d))``, on those rows only
    (gathered by index: masked copies and boolean assignment are several times slower);
    below, ``log(1 - exp(d))`` instead of ``log1p(-exp(d))``: with ``1 - exp(d) >= 0.5`` the two
    differ by ~1e-16 absolute, and the result is only ever added to ``log s + log F``, so
    absolute error is what counts. d is clipped at -100 first (exp of an underflowing argument
    takes a slow path); the result there, 0 instead of about -exp(d), is lost in that sum too.
    """
    idx = np.flatnonzero(np.greater(d, -0.693, out=mask))
    with np.errstate(divide="ignore"):
        big = d.take(idx, out=buf[: len(idx)], mode="clip")
        np.expm1(big, out=big)
        np.negative(big, out=big)
        np.log(big, out=big)
        np.maximum(d, -100.0, out=d)
        np.exp(d, out=d)
        np.subtract(1.0, d, out=d)
        np.log(d, out=d)
    d.put(idx, big, mode="clip")


class _PerKey(NamedTuple):
    """Per-key tables of the blocked scoring loop (see :func:`_score_dense`).

    Rows are coded ``x * n + code`` into per-(x, t_x) tables (``lf_t`` = log F(x, t_x),
    ``g`` = log s + log F(x, t_x)) and per-(x, T) tables (``lf_T`` = log F(x, T), ``a`` = the
    log of the alive term, ``factor`` the optional factor of P(alive)).
    """

    codes_t: IntArray
    n_t: int
    codes_T: IntArray
    n_T: int
    lf_t: FloatArray
    g: FloatArray
    lf_T: FloatArray
    a: FloatArray
    factor: FloatArray | None


def _grid_or_hash(u: FloatArray, lo: float, hi: float, cap: int) -> tuple[IntArray, FloatArray] | None:
    """Codes and values of a column in [lo, hi]: by arithmetic on a grid, else hashed; None
    when it has more than ``cap`` distinct values."""
    coded = grid_codes(u, lo, hi, max_size=cap) or factorize_column(u, max_ratio=np.inf)
    return coded if coded is not None and len(coded[1]) <= cap else None


def _score_dense(params: tuple[float, float, float, float], x: FloatArray, tx: FloatArray,
                 T: FloatArray, ranges: FrtRanges, horizon: float | None) -> FloatArray | None:
    """P(alive) per row, or E[X(T, T + horizon)] when a horizon is given, of checked rows.

    The hypergeometric terms and everything else that depends on (x, t_x) or (x, T) only is
    evaluated once per pair present (dense keys ``x * n + code``, as RFM summaries put t_x and
    T on a day grid); the per-row work runs in blocks that stay in cache. Each row gets the
    operations of :func:`_terms` up to ``B = log s + log F(t_x) + log(1 - F(T)/F(t_x))`` and
    the alive term ``A``; P(alive) is then ``1 / (1 + exp(B - A))``, equal to
    ``exp(A - logaddexp(A, B))`` to rounding. None when the pairs are too many for dense
    tables (the caller then takes the per-distinct-row path).
    """
    r, alpha, s, beta = params
    n = len(x)
    if not ranges.x_max < 4 * n + 1024:
        return None
    n_x = int(ranges.x_max) + 1
    cap = (4 * n + 1024) // n_x
    coded_t = _grid_or_hash(tx, 0.0, ranges.t_max, cap)  # 0 <= t_x <= T <= t_max
    if coded_t is None:
        return None
    coded_T = _grid_or_hash(T, ranges.t_min, ranges.t_max, cap)
    if coded_T is None:
        return None
    (codes_t, vals_t), (codes_T, vals_T) = coded_t, coded_T
    n_t, n_T = len(vals_t), len(vals_T)
    keys = present_keys(x, codes_t, n_t, n_x * n_t)
    ux, ut = (keys // n_t).astype(np.float64), vals_t[keys % n_t]
    lf_t = np.zeros(n_x * n_t)
    lf_t[keys] = _log_f(ux, ut, r, alpha, s, beta)
    keys = present_keys(x, codes_T, n_T, n_x * n_T)
    ux, uT = (keys // n_T).astype(np.float64), vals_T[keys % n_T]
    lf_T, a = np.zeros(n_x * n_T), np.zeros(n_x * n_T)
    lf_T[keys] = _log_f(ux, uT, r, alpha, s, beta)
    a[keys] = -(r + ux) * np.log(alpha + uT) - s * np.log(beta + uT)  # A, as in _terms
    factor = None
    if horizon is not None:  # as in conditional_expected_purchases
        factor = np.zeros(n_x * n_T)
        factor[keys] = ((r + ux) / (alpha + uT) * (beta + uT)
                        * _decay(s - 1.0, np.log1p(horizon / (beta + uT))))
    per_key = _PerKey(codes_t, n_t, codes_T, n_T, lf_t, np.log(s) + lf_t, lf_T, a, factor)
    return _score_blocks(per_key, x)


def _score_blocks(k: _PerKey, x: FloatArray) -> FloatArray:
    """The per-row loop of :func:`_score_dense`: a dozen passes per block of :data:`BLOCK`
    rows on buffers in L2 cache (whole-column passes would stream through memory and allocate
    temporaries); the only full-size array is the result."""
    n = len(x)
    out = np.empty(n)
    size = min(n, BLOCK)
    kt_buf, kT_buf = np.empty(size, dtype=np.intp), np.empty(size, dtype=np.intp)
    f1, f2, f3 = np.empty(size), np.empty(size), np.empty(size)
    mask = np.empty(size, dtype=bool)
    for sl in blocks(n):
        d = out[sl]
        j = len(d)
        kt, kT, b1 = kt_buf[:j], kT_buf[:j], f1[:j]
        np.copyto(kt, x[sl], casting="unsafe")  # checked whole numbers in [0, x_max]
        np.multiply(kt, k.n_T, out=kT)
        kT += k.codes_T[sl]
        kt *= k.n_t
        kt += k.codes_t[sl]
        # mode="clip": keys are in range, and "raise" would buffer ``out`` (a copy)
        k.lf_T.take(kT, out=d, mode="clip")
        d -= k.lf_t.take(kt, out=b1, mode="clip")
        np.minimum(d, 0.0, out=d)  # log F(T) - log F(t_x) <= 0, as in _terms
        _log1mexp_into(d, f2[:j], mask[:j])
        d += k.g.take(kt, out=b1, mode="clip")  # B
        d -= k.a.take(kT, out=b1, mode="clip")  # B - A
        times = None if k.factor is None else k.factor.take(kT, out=f3[:j], mode="clip")
        alive_from_log_odds(d, f2[:j], times)
    return out
