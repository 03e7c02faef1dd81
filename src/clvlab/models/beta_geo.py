"""BG/NBD (Fader, Hardie & Lee 2005) and the machinery it shares with MBG/NBD.

Both models are fitted by maximum likelihood on the distinct rows of the data. Terms that depend
on one variable only are computed once per distinct value and gathered with integer codes built
once in ``fit``: ``gammaln(r + x)`` and ``betaln(a, b + x)`` per distinct x, ``log(alpha + T)``
per distinct T, ``log(alpha + t_x)`` per distinct t_x. The gradient is analytic on the
log-parameters, and the only per-row work is one ``softplus`` (the overflow-safe
``logaddexp(0, d)`` form of the likelihood, eq. 6 of the paper).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
from scipy import optimize, special

from clvlab.models._base import ArrayLike, BaseModel, FloatArray
from clvlab.models._btyd import (
    BLOCK,
    FrtRanges,
    IntArray,
    alive_from_log_odds,
    as_output,
    blocks,
    check_counts,
    check_frt,
    check_time,
    clean_frt_inputs,
    degeneracy,
    distinct_rows,
    factorize_column,
    grid_codes,
    mostly_distinct,
    prediction_inputs,
    read_frt,
    softplus,
    usual_call,
)

_WARM_START_ROWS = 20_000


def _dot(u: FloatArray, v: FloatArray) -> float:
    """Inner product without BLAS: BLAS threads contend badly on a busy 2-core machine."""
    return float(np.einsum("i,i->", u, v))


def _bincount(codes: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sum of ``weights`` per code (float result)."""
    return np.asarray(np.bincount(codes, weights=weights, minlength=size), dtype=np.float64)


class _Gather:
    """A column as the likelihood sees it: ``values`` and codes into them (None: per row)."""

    __slots__ = ("codes", "values")

    def __init__(self, values: FloatArray, codes: IntArray | None) -> None:
        self.values = values
        self.codes = codes

    def take(self, per_value: FloatArray) -> FloatArray:
        return per_value if self.codes is None else per_value[self.codes]


class _BGLikelihood:
    """Weighted BG/NBD (``k=0``) or MBG/NBD (``k=1``) log-likelihood and gradient in log-params.

    Per customer (Fader et al. 2005 eq. 6; Batislam et al. 2007 eq. 3), with ``k`` the extra
    dropout opportunity of MBG/NBD at time 0::

        LL = ln G(r+x) - ln G(r) + r ln(alpha) + ln B(a, b+x+k) - ln B(a, b)
             - (r+x) ln(alpha+T) + 1{x+k>0} softplus(d),
        d  = ln a - ln(b+x+k-1) + (r+x) [ln(alpha+T) - ln(alpha+t_x)].
    """

    def __init__(self, x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray | None,
                 k: int) -> None:
        self.k = k
        if w is None:
            w = np.ones(len(x))
        keep = w > 0
        if not keep.all():
            x, tx, T, w = x[keep], tx[keep], T[keep], w[keep]
        if not (mostly_distinct(T) or mostly_distinct(tx[x > 0])):
            rows = distinct_rows({"x": x, "T": T, "tx": tx}, w)
            x, w = rows.column("x"), rows.weights
            # per distinct x value: memory grows with the data, never with the largest x
            cx, self.xv = rows.codes["x"], rows.values["x"]
            t_col = _Gather(rows.values["T"], rows.codes["T"])
            tx_col = _Gather(rows.values["tx"], rows.codes["tx"])
        else:
            coded = factorize_column(x, max_ratio=np.inf)
            assert coded is not None
            cx, self.xv = coded
            f_t = factorize_column(T)
            f_tx = None if mostly_distinct(tx[x > 0]) else factorize_column(tx, max_ratio=np.inf)
            t_col = _Gather(T, None) if f_t is None else _Gather(f_t[1], f_t[0])
            tx_col = _Gather(tx, None) if f_tx is None else _Gather(f_tx[1], f_tx[0])
        self.n_rows = len(w)
        self.n_customers = float(w.sum())
        nx = len(self.xv)
        self.w_x: FloatArray = _bincount(cx, w, nx)
        # the -(r+x) ln(alpha+T) term, summed per distinct T (or per row)
        self.t_units = t_col.values
        if t_col.codes is None:
            self.w_t, self.xw_t = w, w * x
        else:
            nt = len(t_col.values)
            self.w_t = _bincount(t_col.codes, w, nt)
            self.xw_t = _bincount(t_col.codes, w * x, nt)
        # the softplus term: rows with x > 0 (BG/NBD) or all rows (MBG/NBD)
        mask = x > 0 if k == 0 else np.ones(len(x), dtype=bool)
        every = bool(mask.all())
        idx = None if every else np.flatnonzero(mask)
        self.s_cx = cx if every else cx[mask]
        self.s_x = x if every else x[mask]
        self.s_w = w if every else w[mask]
        if t_col.codes is not None:
            self.s_t = _Gather(t_col.values, t_col.codes if every else t_col.codes[mask])
        else:
            self.s_t = _Gather(T, idx)
        if tx_col.codes is not None:
            self.s_tx = _Gather(tx_col.values, tx_col.codes if every else tx_col.codes[mask])
        else:
            self.s_tx = _Gather(tx_col.values if every else tx_col.values[mask], None)
        self._z: FloatArray | None = None
        self._fg: tuple[float, FloatArray] = (0.0, np.zeros(4))

    def value_and_grad(self, z: FloatArray) -> tuple[float, FloatArray]:
        """Negative total log-likelihood and its gradient with respect to log(r, alpha, a, b)."""
        if self._z is not None and np.array_equal(z, self._z):
            return self._fg
        r, al, a, b = np.exp(z)
        k, xv = self.k, self.xv
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rx, bx = r + xv, b + xv + k
            denom = np.where(xv + k > 0, bx - 1.0, 1.0)
            ll = _dot(self.w_x, special.gammaln(rx) - special.gammaln(r) + special.betaln(a, bx)
                      - special.betaln(a, b)) + self.n_customers * r * np.log(al)
            lt_u = np.log(al + self.t_units)
            wt_r = r * self.w_t + self.xw_t
            ll -= _dot(wt_r, lt_u)
            ltx_u = np.log(al + self.s_tx.values)
            # ln(alpha+T) - ln(alpha+t_x) >= 0; a new array: take() may return lt_u itself
            dd = np.subtract(self.s_t.take(lt_u), self.s_tx.take(ltx_u))
            rxs = r + self.s_x
            d = (np.log(a) - np.log(denom))[self.s_cx]
            d += rxs * dd
            e = np.exp(np.minimum(d, 35.0))
            ll += _dot(self.s_w, np.log1p(e) + np.maximum(d - 35.0, 0.0))
            ws = self.s_w * (e / (1.0 + e))  # weight x sigmoid(d)
            psi_ab = special.digamma(a + b)
            psi_abx = special.digamma(a + bx)
            g_r = (_dot(self.w_x, special.digamma(rx) - special.digamma(r))
                   + self.n_customers * np.log(al) - _dot(self.w_t, lt_u) + _dot(ws, dd))
            inv_t, inv_tx = 1.0 / (al + self.t_units), 1.0 / (al + self.s_tx.values)
            g_al = (self.n_customers * r / al - _dot(wt_r, inv_t)
                    + _dot(ws * rxs, self.s_t.take(inv_t) - self.s_tx.take(inv_tx)))
            s_x = _bincount(self.s_cx, ws, len(xv))
            g_a = _dot(self.w_x, psi_ab - psi_abx) + s_x.sum() / a
            g_b = (_dot(self.w_x, special.digamma(bx) - psi_abx - special.digamma(b) + psi_ab)
                   - _dot(s_x, 1.0 / denom))
        grad = -np.array([r * g_r, al * g_al, a * g_a, b * g_b])
        self._z, self._fg = z.copy(), (-float(ll), grad)
        return self._fg

    def neg_ll(self, z: FloatArray) -> float:
        return self.value_and_grad(z)[0]

    def grad(self, z: FloatArray) -> FloatArray:
        return self.value_and_grad(z)[1]


def _warm_start(lik: _BGLikelihood, x: FloatArray, tx: FloatArray, T: FloatArray,
                w: FloatArray | None, k: int) -> FloatArray:
    """Start point for the full fit: the origin for small data, else a subsample fit polished.

    On large data the model is first fitted on a fixed random subsample of 20,000 rows; its
    Hessian (finite differences of the analytic gradient) then serves for a few Newton-type
    steps on the full likelihood, which land within rounding of the optimum, so the final
    L-BFGS-B pass in ``_fit_mle`` needs one or two iterations.
    """
    z0 = np.zeros(4)
    n = len(x)
    if n <= 2 * _WARM_START_ROWS:
        return z0
    idx = np.sort(np.random.default_rng(0).choice(n, _WARM_START_ROWS, replace=False))
    sub = _BGLikelihood(x[idx], tx[idx], T[idx], None if w is None else w[idx], k)
    sub_scale = 1.0 / max(sub.n_customers, 1.0)
    res = optimize.minimize(lambda z: sub.neg_ll(z) * sub_scale, z0,
                            jac=lambda z: sub.grad(z) * sub_scale, method="BFGS",
                            options={"gtol": 1e-8, "maxiter": 200})
    z = np.asarray(res.x, dtype=np.float64)
    if not np.all(np.isfinite(z)) or np.any(np.abs(z) > 15):
        return z0
    h = 1e-5
    hess = np.array([(sub.grad(z + h * e) - sub.grad(z - h * e)) * sub_scale / (2 * h)
                     for e in np.eye(4)])
    try:
        step_matrix = np.linalg.inv((hess + hess.T) / 2)
    except np.linalg.LinAlgError:
        return z
    scale = 1.0 / max(lik.n_customers, 1.0)
    g = lik.grad(z) * scale
    for _ in range(8):
        if np.max(np.abs(g)) < 1e-11:
            break
        z_new = z - step_matrix @ g
        g_new = lik.grad(z_new) * scale
        if not (np.all(np.isfinite(g_new)) and np.max(np.abs(g_new)) < np.max(np.abs(g))):
            break
        z, g = z_new, g_new
    return z


def _hyp2f1(A: FloatArray, B: FloatArray | float, C: FloatArray, z: FloatArray) -> FloatArray:
    """scipy's 2F1, continued through the points where it gives NaN.

    Near z = 1 with C - A - B a whole number scipy's transformation is degenerate and returns
    NaN although the function is finite and continuous there (a property test found
    r=1.45, alpha=0.05, a=1.45, b=17, t=22). There we average the values at C(1 -+ 1e-9):
    measured to agree to 1e-8 relative.
    """
    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (A, B, C, z)))
    out = np.asarray(special.hyp2f1(A, B, C, z), dtype=np.float64)
    bad = ~np.isfinite(out)
    for eps in (1e-9, 1e-6):
        if not bad.any():
            break
        lo = special.hyp2f1(A[bad], B[bad], C[bad] * (1 - eps), z[bad])
        hi = special.hyp2f1(A[bad], B[bad], C[bad] * (1 + eps), z[bad])
        out[bad] = 0.5 * (lo + hi)
        bad = ~np.isfinite(out)
    return out


def _expected_given_beta(t: FloatArray, shape: FloatArray, scale: FloatArray, a: float,
                         b_post: FloatArray) -> FloatArray:
    """E[purchases in (0, t]] of an alive customer whose dropout p ~ Beta(a, b_post).

    ``(a+b'-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b'-1-shape, a-1; a+b'-1; z)]``, z = t/(scale+t):
    Fader et al. (2005) eq. 9 and 10 after Euler's transformation of 2F1, so the hypergeometric
    parameters do not grow with x (no overflow for heavy buyers).
    """
    if abs(a - 1.0) < 0.5e-6:  # removable singularity at a = 1: mean of both sides, error O(1e-12)
        return 0.5 * (_expected_given_beta(t, shape, scale, 1.0 - 1e-6, b_post)
                      + _expected_given_beta(t, shape, scale, 1.0 + 1e-6, b_post))
    c = a + b_post - 1.0
    z = t / (scale + t)
    hyp = _hyp2f1(c - shape, a - 1.0, c, z)
    out: FloatArray = c / (a - 1.0) * (1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hyp)
    return np.maximum(out, 0.0)  # rounding near a = 1 can give -1e-9 for t ~ 0


class _PerXT(NamedTuple):
    """A factor per (x, T) pair for :meth:`_BetaGeoFamily._alive_blocks`.

    ``t_codes`` codes each row's T into the distinct values, ``ln_t`` is ``ln(alpha+T)`` per
    distinct T, and ``values[x * n_t + code]`` the factor.
    """

    t_codes: IntArray
    ln_t: FloatArray
    n_t: int
    values: FloatArray


class _BetaGeoFamily(BaseModel):
    """Shared fit and predictions of BG/NBD (``_k = 0``) and MBG/NBD (``_k = 1``)."""

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _k: ClassVar[int] = 0

    def __init__(self, *, penalizer: float = 0.0) -> None:
        super().__init__(penalizer=penalizer)

    def fit(self, data: Any = None, *, frequency: ArrayLike | None = None,
            recency: ArrayLike | None = None, T: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood on ``frequency``, ``recency``, ``T`` (columns or arrays).

        ``weights`` (optional) counts customers per row, e.g. after grouping identical rows.
        """
        where = f"{type(self).__name__}.fit"
        cols, w = read_frt(data, {"frequency": frequency, "recency": recency, "T": T,
                                  "weights": weights}, where=where)
        x, tx, t_ = cols["frequency"], cols["recency"], cols["T"]
        lik = _BGLikelihood(x, tx, t_, w, self._k)
        self._fit_mle(lik.neg_ll, _warm_start(lik, x, tx, t_, w, self._k), gradient=lik.grad,
                      n_customers=lik.n_customers, n_rows=lik.n_rows, degenerate=degeneracy(x, w))
        return self

    # ---- predictions ---------------------------------------------------------------------
    def _params(self) -> tuple[float, float, float, float]:
        p = self._check_fitted()
        return p["r"], p["alpha"], p["a"], p["b"]

    def _frt(self, where: str, **inputs: ArrayLike) -> tuple[dict[str, FloatArray], bool]:
        arrays, scalar = prediction_inputs(where, **inputs)
        check_frt(arrays, where)
        return arrays, scalar

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

    def _log_odds(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """d = ln(odds that the customer has dropped out); -inf when dropout is impossible.

        ``d = ln a - ln(b+x+k-1) + (r+x) (ln(alpha+T) - ln(alpha+t_x))``, written out with
        in-place ufuncs: on a million rows the temporaries of the plain expression (allocation,
        page faults) cost more than the arithmetic. Each row gets the floating-point operations
        of the plain expression, in its order.
        """
        r, al, a, b = self._params()
        k = self._k
        d = np.add(T, al)
        np.log(d, out=d)
        buf = np.add(tx, al)
        np.log(buf, out=buf)
        d -= buf  # ln(alpha+T) - ln(alpha+t_x)
        np.add(x, r, out=buf)
        d *= buf
        np.add(x, b, out=buf)
        if k:
            buf += k
        buf -= 1.0  # b + x + k - 1, rounded step by step as written
        with np.errstate(divide="ignore", invalid="ignore"):  # x + k = 0 rows: replaced below
            np.log(buf, out=buf)
        np.subtract(np.log(a), buf, out=buf)
        d += buf
        if k == 0:
            d[x == 0] = -np.inf
        return d

    def _alive_blocks(self, x: FloatArray, tx: FloatArray, T: FloatArray, term: FloatArray,
                      times: _PerXT | None = None) -> FloatArray:
        """P(alive) per row in blocks of :data:`BLOCK` rows, optionally times a per-(x, T) factor.

        The operations of ``alive_from_log_odds(_log_odds(...))`` per row, but each block's
        dozen passes run on buffers that stay in L2 cache, where a pass over the whole column
        would stream through memory, and the only full-size array allocated is the result.
        ``term`` is :meth:`_x_term`, gathered with x as index; ``times`` supplies
        ``ln(alpha+T)`` per distinct T and the factor per (x, T) key.
        """
        r, al, _, _ = self._params()
        n = len(x)
        out = np.empty(n)
        size = min(n, BLOCK)
        buf, scratch, factor = np.empty(size), np.empty(size), np.empty(size)
        codes, keys = np.empty(size, dtype=np.intp), np.empty(size, dtype=np.intp)
        for s in blocks(n):
            d = out[s]
            j = len(d)
            b1, cx, xb = buf[:j], codes[:j], x[s]
            np.copyto(cx, xb, casting="unsafe")  # checked whole numbers in [0, len(term))
            if times is None:
                np.add(T[s], al, out=d)
                np.log(d, out=d)
            else:
                ct = times.t_codes[s]
                times.ln_t.take(ct, out=d, mode="clip")
            np.add(tx[s], al, out=b1)
            np.log(b1, out=b1)
            d -= b1  # ln(alpha+T) - ln(alpha+t_x)
            d *= np.add(xb, r, out=b1)
            # mode="clip": indices are in range, and "raise" would buffer ``out`` (a copy)
            d += term.take(cx, out=b1, mode="clip")
            if times is None:
                alive_from_log_odds(d, scratch[:j])
            else:
                key = keys[:j]
                np.multiply(cx, times.n_t, out=key)
                key += ct
                alive_from_log_odds(d, scratch[:j],
                                          times.values.take(key, out=factor[:j], mode="clip"))
        return out

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike,
                          T: ArrayLike) -> float | FloatArray:
        """P(alive at T | x, t_x, T) = ``1 / (1 + exp(d))`` (Fader, Hardie & Lee 2008 note, eq. 1).

        BG/NBD: ``d = ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x))``, P = 1 when x = 0;
        MBG/NBD: ``d = ln(a/(b+x)) + (r+x) ln((alpha+T)/(alpha+t_x))`` (Batislam et al. 2007,
        appendix A, eq. 5).
        """
        where = f"{type(self).__name__}.probability_alive"
        v, scalar, ranges = clean_frt_inputs(where, frequency, recency, T)
        return as_output(self._alive(v, ranges), scalar)

    def _alive(self, v: dict[str, FloatArray], ranges: FrtRanges | None) -> FloatArray:
        """P(alive) of checked inputs ``v``: blocked with the per-x table when it applies."""
        x, tx, T_ = v["frequency"], v["recency"], v["T"]
        term = self._x_term(ranges, len(x))
        if term is not None:
            return self._alive_blocks(x, tx, T_, term)
        return alive_from_log_odds(self._log_odds(x, tx, T_))

    def expected_purchases(self, t: ArrayLike) -> float | FloatArray:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t] (Fader et al. 2005 eq. 9)."""
        r, al, a, b = self._params()
        v, scalar = prediction_inputs(f"{type(self).__name__}.expected_purchases", t=t)
        tt = v["t"]
        check_time(tt, f"{type(self).__name__}.expected_purchases")
        if self._k == 0:
            out = _expected_given_beta(tt, np.full_like(tt, r), np.full_like(tt, al), a,
                                       np.full_like(tt, b))
        else:  # dropout at time 0 first: E[(1-p)/p ...] = b/(a+b) x the Beta(a, b+1) mean
            out = b / (a + b) * _expected_given_beta(tt, np.full_like(tt, r),
                                                     np.full_like(tt, al), a, np.full_like(tt, b + 1))
        return as_output(out, scalar)

    def conditional_expected_purchases(self, t: ArrayLike, frequency: ArrayLike,
                                       recency: ArrayLike, T: ArrayLike) -> float | FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (Fader et al. 2005 eq. 10).

        The hypergeometric part depends on (t, x, T) only, so it is computed once per distinct
        (t, x, T) when those repeat; P(alive) is per customer. One horizon given as a plain
        number (the usual call) takes :meth:`_conditional_one_t`; arrays of t the general path.
        """
        r, al, a, b = self._params()
        where = f"{type(self).__name__}.conditional_expected_purchases"
        usual = usual_call(where, t, frequency, recency, T)
        if usual is not None:
            t_one, v, scalar, ranges = usual
            return as_output(self._conditional_one_t(t_one, v, ranges), scalar)
        v, scalar = self._frt(where, t=t, frequency=frequency, recency=recency, T=T)
        tt, x, tx, T_ = v["t"], v["frequency"], v["recency"], v["T"]
        check_time(tt, where)
        one_t = np.ndim(t) == 0
        if len(x) > 1000 and not (mostly_distinct(T_) or (not one_t and mostly_distinct(tt))):
            rows = distinct_rows({"x": x, "T": T_} if one_t else {"t": tt, "x": x, "T": T_})
            ux, uT = rows.column("x"), rows.column("T")
            ut = tt[: rows.n_rows] if one_t else rows.column("t")
            part = _expected_given_beta(ut, r + ux, al + uT, a, b + ux + self._k)[rows.inverse]
        else:
            part = _expected_given_beta(tt, r + x, al + T_, a, b + x + self._k)
        out = part * alive_from_log_odds(self._log_odds(x, tx, T_))
        return as_output(np.where(tt > 0, out, 0.0), scalar)

    def _conditional_one_t(self, t: float, v: dict[str, FloatArray],
                           ranges: FrtRanges | None) -> FloatArray:
        """E[Y(t) | x, t_x, T] for one horizon ``t >= 0`` on checked inputs ``v``.

        When T repeats and x is a small count (the usual RFM summary), each (x, T) pair gets
        the dense key ``x * n_T + code(T)``: the hypergeometric part is evaluated once per key
        present and gathered inside :meth:`_alive_blocks`, which also takes ``ln(alpha+T)`` per
        distinct T. T is coded by arithmetic when it lies on a regular grid, else by hashing.
        Otherwise as the general path: per distinct (x, T) row, or per row.
        """
        r, al, a, b = self._params()
        k = self._k
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
            ux, uT = rows.column("x"), rows.column("T")
            part = _expected_given_beta(np.full(rows.n_rows, t), r + ux, al + uT, a,
                                        b + ux + k)[rows.inverse]
        else:
            part = _expected_given_beta(np.full(n, t), r + x, al + T_, a, b + x + k)
        out = self._alive(v, ranges)
        out *= part
        return out

    def _conditional_dense(self, t: float, x: FloatArray, tx: FloatArray, T: FloatArray,
                           term: FloatArray, t_codes: IntArray, t_values: FloatArray
                           ) -> FloatArray:
        """:meth:`_conditional_one_t` with (x, T) keys ``x * n_t + t_codes`` (``t_values[code]``
        is the T of a code; NaN for unused codes of a grid)."""
        r, al, a, b = self._params()
        n, n_t = len(x), len(t_values)
        seen = np.zeros(len(term) * n_t, dtype=bool)
        key = np.empty(min(n, BLOCK), dtype=np.intp)
        for s in blocks(n):
            kb = key[: s.stop - s.start]
            np.copyto(kb, x[s], casting="unsafe")  # checked whole numbers in [0, len(term))
            kb *= n_t
            kb += t_codes[s]
            seen[kb] = True
        present = np.flatnonzero(seen)
        ux, uT = (present // n_t).astype(np.float64), t_values[present % n_t]
        per_key = np.zeros(len(seen))
        per_key[present] = _expected_given_beta(np.full(len(present), t), r + ux, al + uT, a,
                                                b + ux + self._k)
        return self._alive_blocks(x, tx, T, term,
                                  _PerXT(t_codes, np.log(t_values + al), n_t, per_key))

    def probability_of_purchases(self, n: ArrayLike, t: ArrayLike) -> float | FloatArray:
        """P(X(t) = n) for a new customer (Fader et al. 2005 eq. 8; its MBG/NBD analogue)."""
        r, al, a, b = self._params()
        k = self._k
        where = f"{type(self).__name__}.probability_of_purchases"
        v, scalar = prediction_inputs(where, n=n, t=t)
        nn, tt = v["n"], v["t"]
        check_time(tt, where)
        check_counts(nn, where)
        lb = special.betaln(a, b)
        z = tt / (al + tt)
        log_first = (special.gammaln(r + nn) - special.gammaln(r) - special.gammaln(nn + 1)
                     + r * np.log(al / (al + tt)) + special.xlogy(nn, z)
                     + special.betaln(a, b + nn + k) - lb)
        has = nn + k > 0
        tail = np.where(nn > 0, special.betainc(np.maximum(nn, 1.0), r, z), 1.0)  # P(NBD >= n)
        lb2 = special.betaln(a + 1.0, np.where(has, b + nn + k - 1.0, b))
        second = np.where(has, np.exp(lb2 - lb) * tail, 0.0)
        return as_output(np.exp(log_first) + second, scalar)

    def log_likelihood_individual(self, frequency: ArrayLike, recency: ArrayLike,
                                  T: ArrayLike) -> float | FloatArray:
        """Per-customer log-likelihood; sums to ``log_likelihood_`` on the fitted data."""
        r, al, a, b = self._params()
        k = self._k
        where = f"{type(self).__name__}.log_likelihood_individual"
        v, scalar = self._frt(where, frequency=frequency, recency=recency, T=T)
        x, tx, T_ = v["frequency"], v["recency"], v["T"]
        ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
              + special.betaln(a, b + x + k) - special.betaln(a, b) - (r + x) * np.log(al + T_))
        d = self._log_odds(x, tx, T_)
        ll = ll + np.where(np.isfinite(d), softplus(np.where(np.isfinite(d), d, 0.0)), 0.0)
        return as_output(ll, scalar)


class BetaGeo(_BetaGeoFamily):
    r"""BG/NBD: beta-geometric / negative binomial distribution model of repeat buying.

    While alive, a customer buys as a Poisson process with rate :math:`\lambda`; after each
    purchase the customer drops out with probability :math:`p`. Across customers
    :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` and :math:`p \sim \mathrm{Beta}(a, b)`.
    For a customer with :math:`x` repeat purchases, the last at :math:`t_x`, observed for
    :math:`T` (Fader, Hardie & Lee 2005, eq. 6):

    .. math::

        L(r,\alpha,a,b \mid x,t_x,T) = \frac{B(a,b+x)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)\,(\alpha+T)^{r+x}}
          + \delta_{x>0} \frac{B(a+1,b+x-1)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)\,(\alpha+t_x)^{r+x}}.

    Parameters
    ----------
    penalizer : float, default 0
        Adds ``penalizer * sum(params**2)`` to the mean negative log-likelihood; use a small
        value (e.g. 0.001) when the likelihood peaks at a boundary.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_, standard_errors_, covariance_, n_customers_, n_rows_, converged_, fit_status_
        As in :class:`~clvlab.models.BaseModel`; ``n_rows_`` counts the distinct rows fitted.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy
    Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284: likelihood
    eq. 6, P(X(t)=x) eq. 8, E[X(t)] eq. 9, E[Y(t) | x, t_x, T] eq. 10.
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing P(alive) Using the BG/NBD
    Model", http://brucehardie.com/notes/021/.

    Examples
    --------
    >>> import clvlab
    >>> from clvlab.datasets import load_cdnow_summary
    >>> bg = clvlab.BetaGeo().fit(load_cdnow_summary())
    >>> {k: round(v, 3) for k, v in bg.params_.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(bg.log_likelihood_, 1)
    -9582.4
    >>> round(bg.conditional_expected_purchases(39, frequency=2, recency=30.43, T=38.86), 3)
    1.226
    """

    _k = 0
