"""The CLV interval of :func:`clvlab.score_customers` (method in :mod:`clvlab.value.score`'s
docstring): parameter draws, the cells they are evaluated on, failed draws."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from clvlab.models._base import FloatArray
from clvlab.models._btyd import IntArray, distinct_rows
from clvlab.value._expected import (
    RFM_COLUMNS,
    cumulative_purchases,
    expected_spend,
    fitted_params,
    pair_recency,
    per_pair,
    special_per_step,
)
from clvlab.value.segments import share_below

#: what ``clv_lower`` / ``clv_upper`` cover (also in the result's ``attrs["clv_interval"]``)
INTERVAL_COVERS = ("parameter uncertainty only: the spread of the expected CLV over draws of "
                   "the models' fitted parameters; not the customer's own randomness (how "
                   "many purchases one customer makes), which is much wider")
#: above this many distinct rows the interval is computed on a grid of cells
MAX_EXACT_INTERVAL_ROWS = 5_000
#: quantile bins of recency, T and monetary value on the interval grid
_GRID_BINS = 8


def with_params(model: Any, params: Mapping[str, float]) -> Any:
    other = copy.copy(model)
    other.params_ = dict(params)
    return other


class Draws(NamedTuple):
    params: list[dict[str, float]] | None
    """parameter dicts, None when the fit gives no usable covariance"""
    why: str | None = None
    """why there are none"""
    alarm: bool = False
    """the covariance exists but is unusable (a warning, not just missing bounds)"""


def draw_params(model: Any, n_draws: int, rng: np.random.Generator) -> Draws:
    """``n_draws`` parameter dicts from the asymptotic normal of the log-parameters."""
    params = fitted_params(model)
    names = list(params)
    theta = np.array([params[k] for k in names])
    name = type(model).__name__
    cov_frame = getattr(model, "covariance_", None)
    if cov_frame is None:
        return Draws(None, f"{name} has no covariance_")
    cov = np.asarray(pd.DataFrame(cov_frame).loc[names, names], dtype=np.float64)
    if not np.all(np.isfinite(cov)) or not np.all(theta > 0):
        return Draws(None, f"{name}'s covariance is not finite (no standard errors)")
    if not np.all(np.diag(cov) >= 0):
        bad = [k for k, v in zip(names, np.diag(cov), strict=True) if not v >= 0]
        return Draws(None, f"{name}'s covariance has negative variances ({', '.join(bad)}: "
                      "NaN standard errors, the likelihood peaks at a boundary)", alarm=True)
    cov_log = cov / np.outer(theta, theta)
    vals, vecs = np.linalg.eigh((cov_log + cov_log.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = np.log(theta) + rng.standard_normal((n_draws, len(names))) @ root.T
    return Draws([dict(zip(names, np.exp(row).tolist(), strict=True)) for row in z])


class Cells(NamedTuple):
    """Where the interval's draws are evaluated (see :func:`interval_cells`)."""

    rep: dict[str, FloatArray]
    """representative frequency, recency, T and monetary value of each cell"""
    of_row: IntArray
    """each customer's cell"""
    pair_x: FloatArray
    pair_T: FloatArray
    """representative (x, T) of each pair"""
    pair_of_cell: IntArray
    """each cell's pair"""


def interval_cells(cols: Mapping[str, FloatArray]) -> Cells:
    """Distinct rows (or grid cells when too many), and the (x, T) pairs they lie in."""
    n = len(cols["frequency"])
    step = max(n // 20_000, 1)  # a sample with too many distinct rows rules the full set out
    if step == 1 or distinct_rows({k: v[::step] for k, v in cols.items()}).n_rows <= (
            MAX_EXACT_INTERVAL_ROWS):
        keys = distinct_rows(dict(cols))
        if keys.n_rows <= MAX_EXACT_INTERVAL_ROWS:
            rep = {k: keys.column(k) for k in cols}
            pairs = distinct_rows({"x": rep["frequency"], "T": rep["T"]})
            return Cells(rep, keys.inverse, pairs.column("x"), pairs.column("T"),
                          pairs.inverse)
    f = cols["frequency"]
    f_code = np.where(f < 8, f, 8 + np.floor(2 * np.log2(np.maximum(f, 8) / 8)))
    codes = {"frequency": f_code}
    for name in ("recency", "T", "monetary_value"):
        codes[name] = np.floor(share_below(cols[name]) * _GRID_BINS)
    cells = distinct_rows(codes)
    rep = cell_means(cells.inverse, cells.n_rows, cols)
    rep["recency"] = np.where(rep["frequency"] == 0, 0.0, np.minimum(rep["recency"], rep["T"]))
    pairs = distinct_rows({"x": f_code, "T": codes["T"]})
    pair_rep = cell_means(pairs.inverse, pairs.n_rows, {"frequency": f, "T": cols["T"]})
    first = np.empty(cells.n_rows, dtype=np.intp)
    first[cells.inverse] = np.arange(len(f))
    return Cells(rep, cells.inverse, pair_rep["frequency"], pair_rep["T"],
                  pairs.inverse[first])


def cell_means(group: IntArray, n: int, cols: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """Mean of each column per group (frequency rounded to a whole number)."""
    count = np.bincount(group, minlength=n)
    out = {k: np.bincount(group, weights=v, minlength=n) / count for k, v in cols.items()}
    out["frequency"] = np.round(out["frequency"])
    return out


def cell_clv(model: Any, spend_model: Any, cells: Cells, ends: FloatArray,
              divisors: FloatArray, margin: float, population: float) -> FloatArray:
    """CLV of each cell. For BG/NBD and MBG/NBD P(alive) per cell times the discounted sum of
    its (x, T) pair (the pair's own for exact cells; the pair's representative on the grid);
    other models per cell and step in one call (Pareto/NBD's special functions do not depend
    on t, so this costs it no more)."""
    f, r, T, m = (cells.rep[k] for k in RFM_COLUMNS)
    spend = margin * expected_spend(spend_model, f, m, population)
    if special_per_step(model):
        px, pT = cells.pair_x, cells.pair_T
        both = np.asarray(model.probability_alive(  # cells and pairs in one call
            np.concatenate([f, px]), np.concatenate([r, pair_recency(px, pT)]),
            np.concatenate([T, pT])), dtype=np.float64)
        sums = per_pair(model, px, pT, ends, divisors, both[len(f):])
        if sums is not None:
            return spend * both[: len(f)] * sums[0][cells.pair_of_cell]
    cum = cumulative_purchases(model, f, r, T, ends)
    return spend * (np.diff(cum, axis=1, prepend=0.0) @ (1.0 / divisors))


class Interval(NamedTuple):
    lower: FloatArray
    upper: FloatArray
    note: str | None
    """why some or all customers have no interval, or which draws were dropped"""
    failed_draws: int
    """draws that gave no finite CLV for at least one customer"""
    alarm: bool = False
    """worth a warning: draws failed, or the covariance is unusable"""


def clv_interval(
    model: Any, spend_model: Any, cols: Mapping[str, FloatArray], clv: FloatArray, *,
    ends: FloatArray, divisors: FloatArray, margin: float, population: float,
    interval: float, n_draws: int, seed: int | None,
) -> Interval:
    """The interval of every customer (module docstring). Draws whose CLV is not finite (a
    special function failing at extreme parameter values) are dropped per cell; a cell that
    loses more than one tail's share ``(1 - interval) / 2`` of its draws gets NaN bounds (the
    lost draws could be that whole tail)."""
    nan = np.full(len(clv), np.nan)
    if n_draws == 0:
        return Interval(nan, nan.copy(), "n_draws=0", 0)
    rng = np.random.default_rng(seed)
    drawn = draw_params(model, n_draws, rng)
    draws, spend_draws = drawn.params, None
    if spend_model is not None and draws is not None:
        drawn = draw_params(spend_model, n_draws, rng)
        spend_draws = drawn.params
    if draws is None or (spend_model is not None and spend_draws is None):
        return Interval(nan, nan.copy(), f"no interval: {drawn.why}", 0, drawn.alarm)
    cells = interval_cells(cols)
    point = cell_clv(model, spend_model, cells, ends, divisors, margin, population)
    ratios = np.empty((n_draws, len(point)))
    for i, params in enumerate(draws):
        spender = None if spend_draws is None else with_params(spend_model, spend_draws[i])
        with np.errstate(all="ignore"):
            value = cell_clv(with_params(model, params), spender, cells, ends, divisors,
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
    return Interval(np.minimum(lower, clv), np.maximum(upper, clv), note, n_failed,
                     n_failed > 0)
