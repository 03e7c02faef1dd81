"""Expected purchases over the monthly steps of a CLV, and expected spend (for
:mod:`clvlab.value.score`; the conventions are in its docstring)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from clvlab.models._base import FloatArray
from clvlab.models._btyd import distinct_rows

RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")
#: rows per vectorised model call (bounds memory on millions of customers)
CHUNK = 1_000_000
#: rows per model call for small inputs (the interval's draws): BG/NBD evaluates up to 1,000
#: rows directly; above, it first looks for repeated (t, x, T) rows, which the step grid of
#: distinct pairs never has
SMALL_CALL = 1_000


def fitted_params(model: Any) -> dict[str, float]:
    """The fitted parameters; the model's own NotFittedError when it is not fitted."""
    checker = getattr(model, "_check_fitted", None)
    if callable(checker):
        checker()
    return {k: float(v) for k, v in dict(model.params_).items()}


def cumulative_purchases(
    model: Any, frequency: FloatArray, recency: FloatArray, T: FloatArray, ends: FloatArray,
    call_rows: int = CHUNK,
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


#: models whose expectation needs a special function per (t, x, T)
_SPECIAL_PER_STEP = ("BetaGeo", "ModifiedBetaGeo")
#: models whose expectation factors as P(alive) times a function of (t, x, T)
_FACTORED = (*_SPECIAL_PER_STEP, "ParetoNBD")


def factored(model: Any) -> bool:
    """Whether ``E[N(t) | x, t_x, T] = P(alive | x, t_x, T) g(t; x, T)`` (true of BG/NBD,
    MBG/NBD and Pareto/NBD: the history enters the expectation only through P(alive) and the
    (x, T) pair; not assumed of subclasses or other, duck-typed, models)."""
    return _is_one_of(model, _FACTORED)


def special_per_step(model: Any) -> bool:
    """Whether the model's expectation needs a special function per (t, x, T) (BG/NBD,
    MBG/NBD: a hypergeometric function), so that the interval's draws evaluate it per (x, T)
    pair rather than per cell and step."""
    return _is_one_of(model, _SPECIAL_PER_STEP)


def _is_one_of(model: Any, names: tuple[str, ...]) -> bool:
    """Whether the model's class is exactly one of these ``clvlab.models`` classes."""
    from clvlab import models

    return any(type(model) is getattr(models, name) for name in names)


class Purchases(NamedTuple):
    """Expected purchases of each row over the monthly steps (see :func:`purchases`)."""

    alive: FloatArray
    """P(alive) (``model.probability_alive``)."""
    discounted: FloatArray
    """``sum_k (E[N(t_k)] - E[N(t_{k-1})]) / divisor_k``."""
    total: FloatArray
    """``E[N(t_K)]``, the undiscounted expectation over the horizon."""


def per_pair(model: Any, x: FloatArray, T: FloatArray, ends: FloatArray,
              divisors: FloatArray, ref: FloatArray | None = None
              ) -> tuple[FloatArray, FloatArray] | None:
    """Discounted sum and last value of ``g(t_k; x, T)`` per (x, T) pair of a factored model.

    ``g = E[N(t) | x, t_x', T] / P(alive | x, t_x', T)`` at ``t_x' = T`` for x > 0 (0 for
    x = 0), where P(alive) is not small (``ref``, computed when not given). None when that
    P(alive) is 0 somewhere.
    """
    tx = pair_recency(x, T)
    if ref is None:
        ref = np.asarray(model.probability_alive(x, tx, T), dtype=np.float64)
    if not np.all(ref > 0):
        return None
    small = len(x) * len(ends) <= 20 * SMALL_CALL
    per = cumulative_purchases(model, x, tx, T, ends, SMALL_CALL if small else CHUNK)
    per /= ref[:, None]
    return np.diff(per, axis=1, prepend=0.0) @ (1.0 / divisors), per[:, -1]


def pair_recency(x: FloatArray, T: FloatArray) -> FloatArray:
    """The recency at which a pair's expectation is taken: T (last purchase at the end), 0 for
    x = 0."""
    return np.where(x > 0, T, 0.0)


def purchases(
    model: Any, frequency: FloatArray, recency: FloatArray, T: FloatArray,
    ends: FloatArray, divisors: FloatArray,
) -> Purchases:
    """Discounted and total expected purchases, and P(alive), of checked rows.

    For the factored models (:func:`factored`) the step expectations are computed once per
    distinct (x, T) pair (:func:`per_pair`) and each row gets its own P(alive) times its
    pair's sums: RFM summaries have a few thousand pairs where they have hundreds of
    thousands of (x, t_x, T) rows. Other models are evaluated per distinct (x, t_x, T) row.
    """
    alive = np.asarray(model.probability_alive(frequency, recency, T), dtype=np.float64)
    if factored(model):
        pairs = distinct_rows({"x": frequency, "T": T})
        sums = per_pair(model, pairs.column("x"), pairs.column("T"), ends, divisors)
        if sums is not None:
            return Purchases(alive, sums[0][pairs.inverse] * alive,
                              sums[1][pairs.inverse] * alive)
    rows = distinct_rows({"x": frequency, "tx": recency, "T": T})
    cum = cumulative_purchases(model, rows.column("x"), rows.column("tx"), rows.column("T"),
                                ends)
    discounted = np.diff(cum, axis=1, prepend=0.0) @ (1.0 / divisors)
    return Purchases(alive, discounted[rows.inverse], cum[:, -1][rows.inverse])


def population_spend(frequency: FloatArray, monetary: FloatArray) -> float:
    repeat = frequency > 0
    return float(monetary[repeat].mean()) if repeat.any() else float("nan")


def expected_spend(
    spend_model: Any, frequency: FloatArray, monetary: FloatArray, population: float
) -> FloatArray:
    if spend_model is None:
        return np.where(frequency > 0, monetary, population)
    return np.asarray(spend_model.expected_spend(frequency, monetary), dtype=np.float64)
