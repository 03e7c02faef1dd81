"""Blocked fast paths of BG/NBD and MBG/NBD scoring, apart from the paper's formulas.

The usual scoring call (one horizon, a million RFM rows on a day grid) runs here: per-x and
per-(x, T) tables, and per-row loops in cache-sized blocks with in-place ufuncs. Each row gets
the floating-point operations of the readable formulas in :mod:`clvlab.models.beta_geo`
(``_log_odds``, ``_expected_given_beta``), which the tests compare against.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import numpy as np

from clvlab.models._base import FloatArray
from clvlab.models._btyd import (
    BLOCK,
    FrtRanges,
    IntArray,
    alive_from_log_odds,
    blocks,
    distinct_rows,
    factorize_column,
    grid_codes,
    mostly_distinct,
    present_keys,
)


class _PerXT(NamedTuple):
    """A factor per (x, T) pair for :meth:`_BetaGeoFamily._alive_blocks`.

    ``t_codes`` codes each row's T into the distinct values, ``ln_t`` is ``ln(alpha+T)`` per
    distinct T, and ``values[x * n_t + code]`` the factor.
    """

    t_codes: IntArray
    ln_t: FloatArray
    n_t: int
    values: FloatArray


class _BlockBuffers:
    """Scratch buffers of one block for :meth:`_BlockedScoring._alive_blocks`."""

    __slots__ = ("buf", "codes", "factor", "keys", "mask", "part", "scratch")

    def __init__(self, size: int) -> None:
        self.buf, self.scratch, self.factor, self.part = (np.empty(size) for _ in range(4))
        self.codes = np.empty(size, dtype=np.intp)
        self.keys = np.empty(size, dtype=np.intp)
        self.mask = np.empty(size, dtype=bool)


class _BlockedScoring:
    """P(alive) and the one-horizon conditional expectation of :class:`_BetaGeoFamily`, blocked.

    The model class supplies its parameters, ``_k``, the readable log-odds and the
    hypergeometric part of eq. 10 (:meth:`_part`).
    """

    _k: ClassVar[int] = 0

    def _params(self) -> tuple[float, float, float, float]:
        raise NotImplementedError

    def _log_odds(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _part(self, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _x_term(self, ranges: FrtRanges | None, n: int) -> FloatArray | None:
        """``ln a - ln(b+x+k-1)`` for x = 0..max(x), the per-x term of the log-odds.

        For BG/NBD the x = 0 entry is -inf, which makes the log-odds of x = 0 rows -inf. None
        when x is too large for a table, or when ``alpha + T`` overflows (the log ratio, times
        r, would be infinite and meet that -inf); callers then use :meth:`_log_odds`.
        """
        if ranges is None:
            return None
        _, al, a, b = self._params()
        k = self._k
        if not (ranges.x_max < 4 * n + 1024 and np.isfinite(al + ranges.t_max)):
            return None
        xv = np.arange(int(ranges.x_max) + 1, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.log(a) - np.log(b + xv + k - 1.0)  # as in _log_odds, rounding included
        if k == 0:
            term[0] = -np.inf
        return term

    def _alive_blocks(self, x: FloatArray, tx: FloatArray, T: FloatArray, term: FloatArray,
                      times: _PerXT | None = None) -> FloatArray:
        """P(alive) per row in blocks of :data:`BLOCK` rows, optionally times a per-(x, T) factor.

        The operations of ``alive_from_log_odds(_log_odds(...))`` per row, but each block's
        dozen passes run on buffers that stay in L2 cache, where a pass over the whole column
        would stream through memory, and the only full-size array allocated is the result.
        ``term`` is :meth:`_x_term`, gathered with x as index; ``times`` supplies
        ``ln(alpha+T)`` per distinct T and the factor per (x, T) key.

        BG/NBD rows with x = 0 have log-odds -inf, so P(alive) exactly 1 (the factor alone
        with ``times``): when a block holds many of them, only its x > 0 rows, gathered, go
        through the passes (two logs and an exp per row), and the rest get that value.
        """
        n = len(x)
        out = np.empty(n)
        size = min(n, BLOCK)
        bufs = _BlockBuffers(size)
        x_zero_exact = self._k == 0 and term[0] == -np.inf
        for s in blocks(n):
            d = out[s]
            ct = None if times is None else times.t_codes[s]
            # nonzero of a 1-byte mask: several times faster than of the floats
            rows = (np.not_equal(x[s], 0.0, out=bufs.mask[: len(d)]).nonzero()[0]
                    if x_zero_exact else None)
            if rows is None or 4 * len(rows) > 3 * len(d):  # few x = 0 rows: the whole block
                self._alive_rows(d, x[s], tx[s], T[s], ct, term, times, bufs)
                continue
            if times is None:
                d.fill(1.0)
            else:
                assert ct is not None
                times.values.take(ct, out=d, mode="clip")  # keys of x = 0: the T codes
            j = len(rows)
            part = bufs.part[:j]
            self._alive_rows(part, x[s].take(rows), tx[s].take(rows),
                             T[s].take(rows) if ct is None else T[s],  # T unused with codes
                             None if ct is None else ct.take(rows), term, times, bufs)
            d[rows] = part
        return out

    def _alive_rows(self, d: FloatArray, xb: FloatArray, txb: FloatArray, Tb: FloatArray,
                    ct: IntArray | None, term: FloatArray, times: _PerXT | None,
                    bufs: _BlockBuffers) -> None:
        """:meth:`_alive_blocks` on the rows of one block (or some of them), into ``d``; ``Tb``
        is used only without ``times`` (which then gives ``ln(alpha+T)`` by the codes ``ct``)."""
        r, al, _, _ = self._params()
        j = len(d)
        b1, cx = bufs.buf[:j], bufs.codes[:j]
        np.copyto(cx, xb, casting="unsafe")  # checked whole numbers in [0, len(term))
        if times is None:
            np.add(Tb, al, out=d)
            np.log(d, out=d)
        else:
            assert ct is not None
            times.ln_t.take(ct, out=d, mode="clip")
        np.add(txb, al, out=b1)
        np.log(b1, out=b1)
        d -= b1  # ln(alpha+T) - ln(alpha+t_x)
        d *= np.add(xb, r, out=b1)
        # mode="clip": indices are in range, and "raise" would buffer ``out`` (a copy)
        d += term.take(cx, out=b1, mode="clip")
        if times is None:
            alive_from_log_odds(d, bufs.scratch[:j])
        else:
            assert ct is not None
            key = bufs.keys[:j]
            np.multiply(cx, times.n_t, out=key)
            key += ct
            alive_from_log_odds(d, bufs.scratch[:j],
                                times.values.take(key, out=bufs.factor[:j], mode="clip"))

    def _alive(self, v: dict[str, FloatArray], ranges: FrtRanges | None) -> FloatArray:
        """P(alive) of checked inputs ``v``: blocked with the per-x table when it applies."""
        x, tx, T_ = v["frequency"], v["recency"], v["T"]
        term = self._x_term(ranges, len(x))
        if term is not None:
            return self._alive_blocks(x, tx, T_, term)
        return alive_from_log_odds(self._log_odds(x, tx, T_))

    def _conditional_one_t(self, t: float, v: dict[str, FloatArray],
                           ranges: FrtRanges | None) -> FloatArray:
        """E[Y(t) | x, t_x, T] for one horizon ``t >= 0`` on checked inputs ``v``.

        When T repeats and x is a small count (the usual RFM summary), each (x, T) pair gets
        the dense key ``x * n_T + code(T)``: the hypergeometric part is evaluated once per key
        present and gathered inside :meth:`_alive_blocks`, which also takes ``ln(alpha+T)`` per
        distinct T. T is coded by arithmetic when it lies on a regular grid, else by hashing.
        Otherwise as the general path: per distinct (x, T) row, or per row.
        """
        x, tx, T_ = v["frequency"], v["recency"], v["T"]
        n = len(x)
        if t == 0.0:
            return np.zeros(n)
        repeats = n > 1000 and not mostly_distinct(T_)
        term = self._x_term(ranges, n)
        if repeats and term is not None and ranges is not None:
            cap = (4 * n + 1024) // len(term)  # most T codes for dense (x, T) keys
            coded = (grid_codes(T_, ranges.t_min, ranges.t_max, max_size=cap)
                     or factorize_column(T_, max_ratio=np.inf))
            if coded is not None and len(coded[1]) <= cap:
                return self._conditional_dense(t, x, tx, T_, term, *coded)
        if repeats:
            rows = distinct_rows({"x": x, "T": T_})
            part = self._part(np.full(rows.n_rows, t), rows.column("x"),
                              rows.column("T"))[rows.inverse]
        else:
            part = self._part(np.full(n, t), x, T_)
        out = self._alive(v, ranges)
        out *= part
        return out

    def _conditional_dense(self, t: float, x: FloatArray, tx: FloatArray, T: FloatArray,
                           term: FloatArray, t_codes: IntArray, t_values: FloatArray
                           ) -> FloatArray:
        """:meth:`_conditional_one_t` with (x, T) keys ``x * n_t + t_codes`` (``t_values[code]``
        is the T of a code; NaN for unused codes of a grid)."""
        al = self._params()[1]
        n_t = len(t_values)
        present = present_keys(x, t_codes, n_t, len(term) * n_t)
        ux, uT = (present // n_t).astype(np.float64), t_values[present % n_t]
        per_key = np.zeros(len(term) * n_t)
        per_key[present] = self._part(np.full(len(present), t), ux, uT)
        return self._alive_blocks(x, tx, T, term,
                                  _PerXT(t_codes, np.log(t_values + al), n_t, per_key))
