"""Seeded simulations of buy-till-you-die customer bases, for tests, benchmarks and demos.

Each simulator draws the customers' latent traits from the model's mixing distributions and
then their purchases exactly (no time discretisation), vectorised over customers.

>>> from clvlab.datasets.synthetic import simulate_bgnbd
>>> simulate_bgnbd(3, r=0.243, alpha=4.414, a=0.793, b=2.426, T=39.0, seed=1).columns.tolist()
['frequency', 'recency', 'T']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["simulate_bgnbd", "simulate_paretonbd", "simulate_transactions"]


def _as_T(T: float | np.ndarray, n: int) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    if np.any(arr <= 0):
        msg = "T must be > 0 for every customer"
        raise ValueError(msg)
    return arr


def _frame(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, id_offset: int) -> pd.DataFrame:
    index = pd.Index([str(i) for i in range(id_offset, id_offset + len(x))], name="customer_id")
    return pd.DataFrame({"frequency": x.astype(np.float64), "recency": t_x, "T": T}, index=index)


def simulate_bgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float | np.ndarray,
    a: float | np.ndarray,
    b: float | np.ndarray,
    T: float | np.ndarray,
    seed: int = 0,
    id_offset: int = 0,
) -> pd.DataFrame:
    """Per-customer (frequency, recency, T) from the BG/NBD process.

    ``alpha``, ``a``, ``b`` are numbers, or one value per customer (a covariate model's
    individual parameters, :class:`clvlab.models.BetaGeoCovariates`).

    lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); repeat purchases arrive as a Poisson process
    with rate lambda; after each repeat purchase the customer drops out with probability p.
    Exact: with n ~ Poisson(lambda T) arrivals and dropout after the D-th, D ~ Geometric(p),
    x = min(n, D) and t_x is the x-th order statistic of n uniform arrival times on (0, T].
    """
    rng = np.random.default_rng(seed)
    Tv = _as_T(T, n_customers)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = rng.beta(a, b, n_customers)
    n = rng.poisson(lam * Tv)
    d = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(n, d)
    t_x = np.zeros(n_customers)
    has = x > 0
    # x-th smallest of n uniforms on (0, 1) ~ Beta(x, n - x + 1)
    t_x[has] = Tv[has] * rng.beta(x[has], n[has] - x[has] + 1)
    return _frame(x, t_x, Tv, id_offset)


def simulate_paretonbd(
    n_customers: int,
    *,
    r: float,
    alpha: float | np.ndarray,
    s: float,
    beta: float | np.ndarray,
    T: float | np.ndarray,
    seed: int = 0,
    id_offset: int = 0,
) -> pd.DataFrame:
    """Per-customer (frequency, recency, T) from the Pareto/NBD process.

    ``alpha`` and ``beta`` are numbers, or one value per customer (a covariate model's
    individual parameters, :class:`clvlab.models.ParetoNBDCovariates`).

    lambda ~ Gamma(r, rate alpha), mu ~ Gamma(s, rate beta); the customer is alive for an
    exponential lifetime tau with rate mu and buys at rate lambda while alive. Exact: x ~
    Poisson(lambda min(tau, T)), and t_x is the largest of x uniform times on (0, min(tau, T)].
    """
    rng = np.random.default_rng(seed)
    Tv = _as_T(T, n_customers)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    tau = rng.exponential(1.0 / np.maximum(mu, 1e-300))
    horizon = np.minimum(tau, Tv)
    x = rng.poisson(lam * horizon)
    t_x = np.zeros(n_customers)
    has = x > 0
    t_x[has] = horizon[has] * rng.beta(x[has], 1.0)
    return _frame(x, t_x, Tv, id_offset)


def simulate_transactions(
    n_customers: int,
    *,
    r: float = 0.243,
    alpha: float = 4.414 * 7,
    a: float = 0.793,
    b: float = 2.426,
    p: float = 6.25,
    q: float = 3.74,
    v: float = 15.44,
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    cohort_days: int = 90,
    seed: int = 0,
    id_offset: int = 0,
) -> pd.DataFrame:
    """A transaction log from the BG/NBD purchase process with Gamma-Gamma spend.

    Rates are per day (the defaults are the CDNOW BG/NBD estimates, converted from weeks).
    Each customer makes a first purchase uniformly within ``cohort_days`` of ``start``, then
    repeat purchases until dropout or ``end``. Spend per transaction ~ Gamma(p, rate nu) with
    nu ~ Gamma(q, rate v) per customer. Returns ``customer_id`` (str), ``ordered_at``
    (datetime64[s]), ``amount`` (float, cents rounded), in no particular order.
    """
    rng = np.random.default_rng(seed)
    t0 = np.datetime64(pd.Timestamp(start).isoformat(), "s")
    horizon_days = (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() / 86400.0
    first = rng.uniform(0.0, cohort_days, n_customers)
    T = horizon_days - first
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    drop = rng.beta(a, b, n_customers)
    nu = rng.gamma(q, 1.0 / v, n_customers)

    ids: list[np.ndarray[Any, Any]] = [np.arange(n_customers)]
    times: list[np.ndarray[Any, Any]] = [first]
    active = np.arange(n_customers)
    elapsed = np.zeros(n_customers)
    while active.size:
        elapsed[active] += rng.exponential(1.0, active.size) / np.maximum(lam[active], 1e-300)
        active = active[elapsed[active] <= T[active]]
        ids.append(active)
        times.append(first[active] + elapsed[active])
        active = active[rng.random(active.size) >= drop[active]]

    cust = np.concatenate(ids)
    days = np.concatenate(times)
    amount = np.round(rng.gamma(p, 1.0 / nu[cust]), 2)
    ordered_at = t0 + (days * 86400.0).astype("timedelta64[s]")
    return pd.DataFrame({
        "customer_id": (cust + id_offset).astype(str),
        "ordered_at": ordered_at,
        "amount": amount,
    })
