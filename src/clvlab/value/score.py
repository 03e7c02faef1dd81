"""Per-customer scores: P(alive), expected purchases and spend, discounted CLV with an interval.

Time and money conventions
--------------------------
- ``horizon`` is in **days**. The RFM summary counts time in periods (``freq``: ``"D"`` day,
  ``"W"`` week = 7 days, ``"M"`` month = 365.25 / 12 days); the horizon is converted with
  these lengths.
- ``discount_rate`` is an **annual** rate ``d``. Cash flows are discounted in monthly steps:
  with a month of ``365.25 / 12`` days, step ``k = 1..K`` (``K = ceil(horizon / month)``) ends
  at ``t_k = min(k * month, horizon)`` days and the CLV is

  .. math::

      CLV = margin \\cdot E[spend] \\cdot \\sum_{k=1}^{K}
            \\frac{E[N(t_k)] - E[N(t_{k-1})]}{(1 + d)^{t_k / 365.25}}

  where ``E[N(t)]`` is the model's conditional expected number of purchases in ``(T, T + t]``
  given the customer's history (``t_0 = 0``). With whole months this is the monthly rate
  ``(1 + d)^{1/12} - 1`` applied per month (lifetimes' ``customer_lifetime_value`` applies a
  monthly rate per month of 30 days or 4.345 weeks).
- ``E[spend]`` is the spend model's expected spend per transaction; without a spend model it is
  the customer's own ``monetary_value`` (mean repeat spend), and for customers with no repeat
  purchase (``frequency == 0``, whose ``monetary_value`` is 0 by convention) the mean
  ``monetary_value`` of the customers with ``frequency > 0``.

Interval
--------
``clv_lower`` and ``clv_upper`` carry **parameter uncertainty only** (``INTERVAL_COVERS``, also
in the result's ``attrs["clv_interval"]``): ``n_draws`` parameter vectors are drawn from the
asymptotic normal of the *log* parameters (covariance ``covariance_ / outer(theta, theta)``,
the delta method back from the natural scale; purchase and spend models independently), the
CLV is recomputed for every draw and the ``(1 - interval) / 2`` and ``(1 + interval) / 2``
quantiles are taken. The interval ignores the customer's own randomness (how many purchases one
customer makes, the Poisson/Gamma noise), which is much larger for one customer: it says how
sure the *expectation* is.

The draws are evaluated on the distinct ``(frequency, recency, T, monetary_value)`` rows, the
expected purchases per distinct (frequency, T) pair; when there are more than
``MAX_EXACT_INTERVAL_ROWS`` distinct rows, on a grid of cells instead (frequency exact below 8,
then in half-octaves; recency, T and monetary value in 8 quantile bins; the expected purchases
per (frequency, T bin) pair at the pair's mean), and each customer gets its point CLV times the
quantiles of ``CLV_draw / CLV`` of its cell. Bounds are widened to contain the point estimate.

The interval never collapses silently. A fit without a usable covariance (none, not finite, or
with a negative variance, as at a boundary MLE) gives NaN bounds, with a
:class:`~clvlab.errors.DataQualityWarning` in the last case. Draws whose CLV is not finite (a
special function failing at extreme parameter values) are dropped, counted in the warning and
in ``attrs["clv_interval_failed_draws"]``; a cell that loses more than ``(1 - interval) / 2``
of its draws (they could be a whole tail) gets NaN bounds. ``attrs["clv_interval_note"]`` says
what happened (None when nothing did).

Speed
-----
BG/NBD, MBG/NBD and Pareto/NBD factor ``E[N(t) | x, t_x, T]`` as P(alive) times a function of
(t, x, T) alone, so the step expectations are computed once per distinct (x, T) pair (a few
thousand in an RFM summary of millions of customers) and each customer gets its own P(alive)
times its pair's discounted sum; other models are evaluated per distinct (x, t_x, T) row.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from clvlab.errors import DataQualityWarning, DataValidationError, check_param
from clvlab.models._base import FloatArray, as_columns
from clvlab.models._btyd import IntArray, check_frt, distinct_rows
from clvlab.value.segments import as_frame, rfm_segments, share_below

__all__ = ["INTERVAL_COVERS", "MAX_EXACT_INTERVAL_ROWS", "customer_lifetime_value", "score_customers"]

#: what ``clv_lower`` / ``clv_upper`` cover (also in the result's ``attrs["clv_interval"]``)
INTERVAL_COVERS = ("parameter uncertainty only: the spread of the expected CLV over draws of "
                   "the models' fitted parameters; not the customer's own randomness (how "
                   "many purchases one customer makes), which is much wider")

#: length of one period in days
DAYS_PER_PERIOD = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = 365.25 / 12
#: above this many distinct rows the interval is computed on a grid of cells
MAX_EXACT_INTERVAL_ROWS = 5_000
#: quantile bins of recency, T and monetary value on the interval grid
_GRID_BINS = 8
#: rows per vectorised model call (bounds memory on millions of customers)
_CHUNK = 1_000_000
#: rows per model call for small inputs (the interval's draws): BG/NBD evaluates up to 1,000
#: rows directly; above, it first looks for repeated (t, x, T) rows, which the step grid of
#: distinct pairs never has
_SMALL_CALL = 1_000
_RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")


# ---- argument handling -----------------------------------------------------------------------
def _is_real(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _check_common(
    where: str, horizon: object, discount_rate: object, margin: object
) -> None:
    check_param(_is_real(horizon) and float(horizon) > 0, "horizon", where,  # type: ignore[arg-type]
                "a float > 0 (days)", horizon)
    check_param(_is_real(discount_rate) and 0 <= float(discount_rate) < 1,  # type: ignore[arg-type]
                "discount_rate", where, "a float in [0, 1)", discount_rate)
    check_param(_is_real(margin) and 0 < float(margin) <= 1, "margin", where,  # type: ignore[arg-type]
                "a float in (0, 1]", margin)


def _check_models(where: str, model: object, spend_model: object) -> None:
    ok = all(hasattr(model, m) for m in ("conditional_expected_purchases", "probability_alive"))
    check_param(ok, "model", where,
                "a continuous BTYD model (BetaGeo, ModifiedBetaGeo, ParetoNBD)",
                type(model).__name__)
    _fitted_params(model)
    if spend_model is not None:
        check_param(hasattr(spend_model, "expected_spend"), "spend_model", where,
                    "None or a spend model with expected_spend (GammaGamma)",
                    type(spend_model).__name__)
        _fitted_params(spend_model)


def _fitted_params(model: Any) -> dict[str, float]:
    """The fitted parameters; the model's own NotFittedError when it is not fitted."""
    checker = getattr(model, "_check_fitted", None)
    if callable(checker):
        checker()
    return {k: float(v) for k, v in dict(model.params_).items()}


def _resolve_freq(where: str, rfm: pd.DataFrame, freq: object) -> str:
    if freq is None:
        freq = rfm.attrs.get("freq")
        check_param(freq in DAYS_PER_PERIOD, "freq", where,
                    "one of 'D', 'W', 'M' (the rfm frame has no attrs['freq'] to take it from)",
                    None)
    check_param(freq in DAYS_PER_PERIOD, "freq", where, "one of 'D', 'W', 'M'", freq)
    return str(freq)


def _read_rfm(rfm: Any, where: str) -> tuple[pd.DataFrame, dict[str, FloatArray]]:
    frame = as_frame(rfm, where)
    missing = [c for c in _RFM_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"{where}: the rfm frame lacks the column(s) {missing}; it has {list(frame.columns)}"
        raise DataValidationError(msg, hint="build it with clvlab.rfm_summary(..., monetary='amount')")
    cols = as_columns(frame, _RFM_COLUMNS, {}, where=where)
    check_frt(cols, where)
    return frame, cols


# ---- the arithmetic ----------------------------------------------------------------------------
def _schedule(horizon_days: float, discount_rate: float, freq: str) -> tuple[FloatArray, FloatArray]:
    """Ends of the monthly steps in periods, and the discount divisor of each step."""
    n_steps = max(1, math.ceil(horizon_days / _DAYS_PER_MONTH - 1e-9))
    ends_days = np.minimum(np.arange(1, n_steps + 1) * _DAYS_PER_MONTH, horizon_days)
    divisors = (1.0 + discount_rate) ** (ends_days / _DAYS_PER_YEAR)
    return ends_days / DAYS_PER_PERIOD[freq], np.asarray(divisors, dtype=np.float64)


def _cumulative_purchases(
    model: Any, frequency: FloatArray, recency: FloatArray, T: FloatArray, ends: FloatArray,
    call_rows: int = _CHUNK,
) -> FloatArray:
    """E[N(t)] for every step end (columns) and row (rows), in vectorised calls of at most
    ``call_rows`` rows."""
    n, k = len(frequency), len(ends)
    out = np.empty((n, k))
    size = max(1, call_rows // k)
    for lo in range(0, n, size):
        part = slice(lo, min(n, lo + size))
        m = part.stop - part.start
        values = model.conditional_expected_purchases(
            np.tile(ends, m), np.repeat(frequency[part], k), np.repeat(recency[part], k),
            np.repeat(T[part], k),
        )
        out[part] = np.asarray(values, dtype=np.float64).reshape(m, k)
    return out


#: models whose expectation needs a special function per (t, x, T) (a hypergeometric
#: function): the interval's draws evaluate it per (x, T) pair, not per cell and step
_SPECIAL_PER_STEP = frozenset({("clvlab.models.beta_geo", "BetaGeo"),
                               ("clvlab.models.modified_beta_geo", "ModifiedBetaGeo")})
#: models whose expectation factors as P(alive) times a function of (t, x, T)
_FACTORED = _SPECIAL_PER_STEP | {("clvlab.models.pareto_nbd", "ParetoNBD")}


def _factored(model: Any) -> bool:
    """Whether ``E[N(t) | x, t_x, T] = P(alive | x, t_x, T) g(t; x, T)`` (true of BG/NBD,
    MBG/NBD and Pareto/NBD: the history enters the expectation only through P(alive) and the
    (x, T) pair; not assumed of subclasses or other, duck-typed, models)."""
    return _kind(model) in _FACTORED


def _kind(model: Any) -> tuple[str, str]:
    return type(model).__module__, type(model).__name__


class _Purchases(NamedTuple):
    """Expected purchases of each row over the monthly steps (see :func:`_purchases`)."""

    alive: FloatArray
    """P(alive) (``model.probability_alive``)."""
    discounted: FloatArray
    """``sum_k (E[N(t_k)] - E[N(t_{k-1})]) / divisor_k``."""
    total: FloatArray
    """``E[N(t_K)]``, the undiscounted expectation over the horizon."""


def _per_pair(model: Any, x: FloatArray, T: FloatArray, ends: FloatArray,
              divisors: FloatArray, ref: FloatArray | None = None
              ) -> tuple[FloatArray, FloatArray] | None:
    """Discounted sum and last value of ``g(t_k; x, T)`` per (x, T) pair of a factored model.

    ``g = E[N(t) | x, t_x', T] / P(alive | x, t_x', T)`` at ``t_x' = T`` for x > 0 (0 for
    x = 0), where P(alive) is not small (``ref``, computed when not given). None when that
    P(alive) is 0 somewhere.
    """
    tx = _pair_recency(x, T)
    if ref is None:
        ref = np.asarray(model.probability_alive(x, tx, T), dtype=np.float64)
    if not np.all(ref > 0):
        return None
    small = len(x) * len(ends) <= 20 * _SMALL_CALL
    per = _cumulative_purchases(model, x, tx, T, ends, _SMALL_CALL if small else _CHUNK)
    per /= ref[:, None]
    return np.diff(per, axis=1, prepend=0.0) @ (1.0 / divisors), per[:, -1]


def _pair_recency(x: FloatArray, T: FloatArray) -> FloatArray:
    """The recency at which a pair's expectation is taken: T (last purchase at the end), 0 for
    x = 0."""
    return np.where(x > 0, T, 0.0)


def _purchases(
    model: Any, frequency: FloatArray, recency: FloatArray, T: FloatArray,
    ends: FloatArray, divisors: FloatArray,
) -> _Purchases:
    """Discounted and total expected purchases, and P(alive), of checked rows.

    For the factored models (:func:`_factored`) the step expectations are computed once per
    distinct (x, T) pair (:func:`_per_pair`) and each row gets its own P(alive) times its
    pair's sums: RFM summaries have a few thousand pairs where they have hundreds of
    thousands of (x, t_x, T) rows. Other models are evaluated per distinct (x, t_x, T) row.
    """
    alive = np.asarray(model.probability_alive(frequency, recency, T), dtype=np.float64)
    if _factored(model):
        pairs = distinct_rows({"x": frequency, "T": T})
        sums = _per_pair(model, pairs.column("x"), pairs.column("T"), ends, divisors)
        if sums is not None:
            return _Purchases(alive, sums[0][pairs.inverse] * alive,
                              sums[1][pairs.inverse] * alive)
    rows = distinct_rows({"x": frequency, "tx": recency, "T": T})
    cum = _cumulative_purchases(model, rows.column("x"), rows.column("tx"), rows.column("T"),
                                ends)
    discounted = np.diff(cum, axis=1, prepend=0.0) @ (1.0 / divisors)
    return _Purchases(alive, discounted[rows.inverse], cum[:, -1][rows.inverse])


def _population_spend(frequency: FloatArray, monetary: FloatArray) -> float:
    repeat = frequency > 0
    return float(monetary[repeat].mean()) if repeat.any() else float("nan")


def _expected_spend(
    spend_model: Any, frequency: FloatArray, monetary: FloatArray, population: float
) -> FloatArray:
    if spend_model is None:
        return np.where(frequency > 0, monetary, population)
    return np.asarray(spend_model.expected_spend(frequency, monetary), dtype=np.float64)


def _with_params(model: Any, params: Mapping[str, float]) -> Any:
    other = copy.copy(model)
    other.params_ = dict(params)
    return other


class _Draws(NamedTuple):
    params: list[dict[str, float]] | None
    """parameter dicts, None when the fit gives no usable covariance"""
    why: str | None = None
    """why there are none"""
    alarm: bool = False
    """the covariance exists but is unusable (a warning, not just missing bounds)"""


def _draw_params(model: Any, n_draws: int, rng: np.random.Generator) -> _Draws:
    """``n_draws`` parameter dicts from the asymptotic normal of the log-parameters."""
    params = _fitted_params(model)
    names = list(params)
    theta = np.array([params[k] for k in names])
    name = type(model).__name__
    cov_frame = getattr(model, "covariance_", None)
    if cov_frame is None:
        return _Draws(None, f"{name} has no covariance_")
    cov = np.asarray(pd.DataFrame(cov_frame).loc[names, names], dtype=np.float64)
    if not np.all(np.isfinite(cov)) or not np.all(theta > 0):
        return _Draws(None, f"{name}'s covariance is not finite (no standard errors)")
    if not np.all(np.diag(cov) >= 0):
        bad = [k for k, v in zip(names, np.diag(cov), strict=True) if not v >= 0]
        return _Draws(None, f"{name}'s covariance has negative variances ({', '.join(bad)}: "
                      "NaN standard errors, the likelihood peaks at a boundary)", alarm=True)
    cov_log = cov / np.outer(theta, theta)
    vals, vecs = np.linalg.eigh((cov_log + cov_log.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = np.log(theta) + rng.standard_normal((n_draws, len(names))) @ root.T
    return _Draws([dict(zip(names, np.exp(row).tolist(), strict=True)) for row in z])


class _Cells(NamedTuple):
    """Where the interval's draws are evaluated (see :func:`_interval_cells`)."""

    rep: dict[str, FloatArray]
    """representative frequency, recency, T and monetary value of each cell"""
    of_row: IntArray
    """each customer's cell"""
    pair_x: FloatArray
    pair_T: FloatArray
    """representative (x, T) of each pair"""
    pair_of_cell: IntArray
    """each cell's pair"""


def _interval_cells(cols: Mapping[str, FloatArray]) -> _Cells:
    """Distinct rows (or grid cells when too many), and the (x, T) pairs they lie in."""
    n = len(cols["frequency"])
    step = max(n // 20_000, 1)  # a sample with too many distinct rows rules the full set out
    if step == 1 or distinct_rows({k: v[::step] for k, v in cols.items()}).n_rows <= (
            MAX_EXACT_INTERVAL_ROWS):
        keys = distinct_rows(dict(cols))
        if keys.n_rows <= MAX_EXACT_INTERVAL_ROWS:
            rep = {k: keys.column(k) for k in cols}
            pairs = distinct_rows({"x": rep["frequency"], "T": rep["T"]})
            return _Cells(rep, keys.inverse, pairs.column("x"), pairs.column("T"),
                          pairs.inverse)
    f = cols["frequency"]
    f_code = np.where(f < 8, f, 8 + np.floor(2 * np.log2(np.maximum(f, 8) / 8)))
    codes = {"frequency": f_code}
    for name in ("recency", "T", "monetary_value"):
        codes[name] = np.floor(share_below(cols[name]) * _GRID_BINS)
    cells = distinct_rows(codes)
    rep = _means(cells.inverse, cells.n_rows, cols)
    rep["recency"] = np.where(rep["frequency"] == 0, 0.0, np.minimum(rep["recency"], rep["T"]))
    pairs = distinct_rows({"x": f_code, "T": codes["T"]})
    pair_rep = _means(pairs.inverse, pairs.n_rows, {"frequency": f, "T": cols["T"]})
    first = np.empty(cells.n_rows, dtype=np.intp)
    first[cells.inverse] = np.arange(len(f))
    return _Cells(rep, cells.inverse, pair_rep["frequency"], pair_rep["T"],
                  pairs.inverse[first])


def _means(group: IntArray, n: int, cols: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """Mean of each column per group (frequency rounded to a whole number)."""
    count = np.bincount(group, minlength=n)
    out = {k: np.bincount(group, weights=v, minlength=n) / count for k, v in cols.items()}
    out["frequency"] = np.round(out["frequency"])
    return out


def _cell_clv(model: Any, spend_model: Any, cells: _Cells, ends: FloatArray,
              divisors: FloatArray, margin: float, population: float) -> FloatArray:
    """CLV of each cell. For BG/NBD and MBG/NBD P(alive) per cell times the discounted sum of
    its (x, T) pair (the pair's own for exact cells; the pair's representative on the grid);
    other models per cell and step in one call (Pareto/NBD's special functions do not depend
    on t, so this costs it no more)."""
    f, r, T, m = (cells.rep[k] for k in _RFM_COLUMNS)
    spend = margin * _expected_spend(spend_model, f, m, population)
    if _kind(model) in _SPECIAL_PER_STEP:
        px, pT = cells.pair_x, cells.pair_T
        both = np.asarray(model.probability_alive(  # cells and pairs in one call
            np.concatenate([f, px]), np.concatenate([r, _pair_recency(px, pT)]),
            np.concatenate([T, pT])), dtype=np.float64)
        sums = _per_pair(model, px, pT, ends, divisors, both[len(f):])
        if sums is not None:
            return spend * both[: len(f)] * sums[0][cells.pair_of_cell]
    cum = _cumulative_purchases(model, f, r, T, ends)
    return spend * (np.diff(cum, axis=1, prepend=0.0) @ (1.0 / divisors))


class _Interval(NamedTuple):
    lower: FloatArray
    upper: FloatArray
    note: str | None
    """why some or all customers have no interval, or which draws were dropped"""
    failed_draws: int
    """draws that gave no finite CLV for at least one customer"""
    alarm: bool = False
    """worth a warning: draws failed, or the covariance is unusable"""


def _clv_interval(
    model: Any, spend_model: Any, cols: Mapping[str, FloatArray], clv: FloatArray, *,
    ends: FloatArray, divisors: FloatArray, margin: float, population: float,
    interval: float, n_draws: int, seed: int | None,
) -> _Interval:
    """The interval of every customer (module docstring). Draws whose CLV is not finite (a
    special function failing at extreme parameter values) are dropped per cell; a cell that
    loses more than one tail's share ``(1 - interval) / 2`` of its draws gets NaN bounds (the
    lost draws could be that whole tail)."""
    nan = np.full(len(clv), np.nan)
    if n_draws == 0:
        return _Interval(nan, nan.copy(), "n_draws=0", 0)
    rng = np.random.default_rng(seed)
    drawn = _draw_params(model, n_draws, rng)
    draws, spend_draws = drawn.params, None
    if spend_model is not None and draws is not None:
        drawn = _draw_params(spend_model, n_draws, rng)
        spend_draws = drawn.params
    if draws is None or (spend_model is not None and spend_draws is None):
        return _Interval(nan, nan.copy(), f"no interval: {drawn.why}", 0, drawn.alarm)
    cells = _interval_cells(cols)
    point = _cell_clv(model, spend_model, cells, ends, divisors, margin, population)
    ratios = np.empty((n_draws, len(point)))
    for i, params in enumerate(draws):
        spender = None if spend_draws is None else _with_params(spend_model, spend_draws[i])
        with np.errstate(all="ignore"):
            value = _cell_clv(_with_params(model, params), spender, cells, ends, divisors,
                              margin, population)
            ratios[i] = value / point
    ratios[:, point == 0] = 1.0  # a CLV of 0 (P(alive) 0) stays 0 under every draw
    failed = ~np.isfinite(ratios)
    failed[:, ~np.isfinite(point)] = False  # no point CLV: NaN bounds below, not a failure
    q = [(1 - interval) / 2, (1 + interval) / 2]
    if not failed.any():
        lo_q, hi_q = np.quantile(ratios, q, axis=0)
        note = None
    else:
        lost = failed.sum(axis=0)
        ratios[failed] = np.nan
        lo_q, hi_q = np.full(len(point), np.nan), np.full(len(point), np.nan)
        usable = lost <= (1 - interval) / 2 * n_draws
        if usable.any():
            lo_q[usable], hi_q[usable] = np.nanquantile(ratios[:, usable], q, axis=0)
        per_cell = np.bincount(cells.of_row, minlength=len(point))
        some, none = int(per_cell[usable & (lost > 0)].sum()), int(per_cell[~usable].sum())
        note = (f"{int(failed.any(axis=1).sum())} of {n_draws} parameter draws gave no finite "
                f"CLV for some customers (a special function failed at extreme parameter "
                f"values): {some:,} customers' intervals use the remaining draws; {none:,} "
                f"lost more than {(1 - interval) / 2:.1%} of their draws and have no interval "
                f"(NaN)")
    lower, upper = clv * lo_q[cells.of_row], clv * hi_q[cells.of_row]
    n_failed = int(failed.any(axis=1).sum())
    return _Interval(np.minimum(lower, clv), np.maximum(upper, clv), note, n_failed,
                     n_failed > 0)


# ---- public API --------------------------------------------------------------------------------
def _point_scores(
    model: Any, spend_model: Any, cols: Mapping[str, FloatArray], ends: FloatArray,
    divisors: FloatArray, margin: float,
) -> dict[str, FloatArray]:
    """Point scores of every customer."""
    f, m = cols["frequency"], cols["monetary_value"]
    bought = _purchases(model, f, cols["recency"], cols["T"], ends, divisors)
    population = _population_spend(f, m)
    spend = _expected_spend(spend_model, f, m, population)
    out = {
        "p_alive": bought.alive,
        "expected_purchases": bought.total,
        "expected_spend": spend,
        "expected_revenue": bought.total * spend,
        "clv": margin * spend * bought.discounted,
    }
    out["_population"] = np.array([population])
    return out


def customer_lifetime_value(
    model: Any, spend_model: Any, rfm: Any, *, horizon: float = 365, discount_rate: float = 0.1,
    margin: float = 1.0, freq: str | None = None,
) -> pd.Series:
    """Discounted expected margin of each customer over ``horizon`` days (point estimate).

    Parameters
    ----------
    model
        A fitted BetaGeo, ModifiedBetaGeo or ParetoNBD.
    spend_model
        A fitted GammaGamma, or None to use each customer's ``monetary_value`` (see the module
        docstring for customers without repeat purchases).
    rfm
        Frame with ``frequency``, ``recency``, ``T``, ``monetary_value`` (as from
        :func:`clvlab.rfm_summary`), one row per customer.
    horizon
        Days ahead.
    discount_rate
        Annual discount rate in [0, 1), applied monthly: ``(1 + d) ** (t_k / 365.25)``.
    margin
        Share of revenue that is margin, in (0, 1].
    freq
        Period of ``rfm`` (``"D"``, ``"W"``, ``"M"``); default ``rfm.attrs["freq"]``.

    Returns
    -------
    pandas.Series
        ``clv`` indexed like ``rfm``.
    """
    where = "customer_lifetime_value"
    _check_common(where, horizon, discount_rate, margin)
    _check_models(where, model, spend_model)
    frame, cols = _read_rfm(rfm, where)
    period = _resolve_freq(where, frame, freq)
    ends, divisors = _schedule(float(horizon), float(discount_rate), period)
    scores = _point_scores(model, spend_model, cols, ends, divisors, float(margin))
    return pd.Series(scores["clv"], index=frame.index, name="clv")


def score_customers(
    rfm: Any, model: Any, spend_model: Any = None, *, horizon: float = 365,
    discount_rate: float = 0.1, margin: float = 1.0, freq: str | None = None,
    interval: float = 0.9, n_draws: int = 200, seed: int | None = 0,
) -> pd.DataFrame:
    """Score every customer: P(alive), expected purchases, spend and revenue, CLV with an
    interval, and the RFM segment.

    Parameters
    ----------
    rfm, model, spend_model, horizon, discount_rate, margin, freq
        As in :func:`customer_lifetime_value` (``horizon`` in days, ``discount_rate`` annual).
    interval
        Coverage of the CLV interval from parameter uncertainty, in (0, 1).
    n_draws
        Parameter draws for the interval; 0 skips it (``clv_lower``/``clv_upper`` are NaN, as
        they are when a model has no finite ``covariance_``).
    seed
        Seed of the draws (results are reproducible).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rfm``: ``frequency``, ``recency``, ``T``, ``monetary_value`` (as given),
        ``p_alive``, ``expected_purchases`` (over the horizon), ``expected_spend`` (per
        transaction), ``expected_revenue`` (their product, undiscounted), ``clv`` (discounted
        margin), ``clv_lower``, ``clv_upper`` (the interval from parameter uncertainty only,
        not the customer's own randomness: module docstring), and ``r_score``, ``f_score``,
        ``m_score``, ``rfm_score``, ``segment`` from :func:`clvlab.rfm_segments`. ``attrs``
        record the settings, the models' names and parameters, what the interval covers
        (``clv_interval``) and why bounds are missing or draws were dropped
        (``clv_interval_note``, ``clv_interval_failed_draws``).

    Examples
    --------
    >>> import clvlab
    >>> from clvlab.datasets import load_cdnow_summary
    >>> rfm = load_cdnow_summary()
    >>> rfm.attrs["freq"] = "W"
    >>> scores = clvlab.score_customers(rfm, clvlab.BetaGeo().fit(rfm), horizon=365, discount_rate=0.1)
    >>> scores.loc["1", ["p_alive", "expected_purchases"]].round(3).tolist()
    [0.727, 1.562]
    """
    where = "score_customers"
    _check_common(where, horizon, discount_rate, margin)
    check_param(_is_real(interval) and 0 < float(interval) < 1, "interval", where,
                "a float in (0, 1)", interval)
    check_param(isinstance(n_draws, Integral) and not isinstance(n_draws, bool) and n_draws >= 0,
                "n_draws", where, "an int >= 0", n_draws)
    check_param(seed is None or (isinstance(seed, Integral) and not isinstance(seed, bool)
                                 and seed >= 0), "seed", where, "an int >= 0 or None", seed)
    _check_models(where, model, spend_model)
    frame, cols = _read_rfm(rfm, where)
    period = _resolve_freq(where, frame, freq)
    ends, divisors = _schedule(float(horizon), float(discount_rate), period)
    scores = _point_scores(model, spend_model, cols, ends, divisors, float(margin))
    population = float(scores.pop("_population")[0])
    bounds = _clv_interval(
        model, spend_model, cols, scores["clv"], ends=ends, divisors=divisors,
        margin=float(margin), population=population, interval=float(interval),
        n_draws=int(n_draws), seed=None if seed is None else int(seed),
    )
    if bounds.alarm:
        warnings.warn(f"{where}: {bounds.note}", DataQualityWarning, stacklevel=2)
    lower, upper = bounds.lower, bounds.upper
    segments = rfm_segments(pd.DataFrame(dict(cols), index=frame.index, copy=False))
    columns: dict[str, Any] = {**cols, **scores, "clv_lower": lower, "clv_upper": upper}
    for name in ("r_score", "f_score", "m_score"):
        columns[name] = segments[name].to_numpy()
    for name in ("rfm_score", "segment"):  # as strings: decoded from the categories' codes
        labels = segments[name].array
        columns[name] = labels.categories.array.take(labels.codes)
    out = pd.DataFrame(index=frame.index)
    for name, values in columns.items():  # column by column: no copy into one 2-D block
        out[name] = values
    out.attrs = {
        "horizon_days": float(horizon),
        "horizon_periods": float(ends[-1]),
        "freq": period,
        "discount_rate": float(discount_rate),
        "discounting": "annual rate, monthly steps: (1 + d) ** (t_k_days / 365.25)",
        "margin": float(margin),
        "interval": float(interval),
        "n_draws": int(n_draws),
        "seed": seed,
        "model": type(model).__name__,
        "model_params": _fitted_params(model),
        "spend_model": None if spend_model is None else type(spend_model).__name__,
        "spend_model_params": None if spend_model is None else _fitted_params(spend_model),
        "spend_population_mean": population,
        "clv_interval": INTERVAL_COVERS,
        "clv_interval_note": bounds.note,
        "clv_interval_failed_draws": bounds.failed_draws,
    }
    return out
