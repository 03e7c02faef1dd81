"""The BG/NBD and MBG/NBD likelihood as the optimiser sees it: per distinct value, with codes.

Terms that depend on one variable only are computed once per distinct value and gathered with
integer codes built once in ``fit``: ``gammaln(r + x)`` and ``betaln(a, b + x)`` per distinct x,
``log(alpha + T)`` per distinct T, ``log(alpha + t_x)`` per distinct t_x. The gradient is
analytic on the log-parameters, and the only per-row work is one ``softplus`` (the
overflow-safe ``logaddexp(0, d)`` form of the likelihood, eq. 6 of the paper). The equation
itself, per customer, is :meth:`clvlab.models.beta_geo.BetaGeo.log_likelihood_individual`.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from clvlab.models._base import FloatArray
from clvlab.models._btyd import IntArray, distinct_rows, factorize_column, mostly_distinct
from clvlab.models._mle import one_evaluation

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
        #: the negative total log-likelihood and its gradient, sharing one evaluation per point
        self.neg_ll, self.grad = one_evaluation(self._value_and_grad)

    def _value_and_grad(self, z: FloatArray) -> tuple[float, FloatArray]:
        """Negative total log-likelihood and its gradient with respect to log(r, alpha, a, b)."""
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
        return -float(ll), grad


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
