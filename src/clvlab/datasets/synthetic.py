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

__all__ = ["simulate_baskets", "simulate_bgnbd", "simulate_paretonbd", "simulate_transactions"]


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


def simulate_baskets(
    n_customers: int,
    *,
    n_groups: int = 10,
    items_per_group: int = 8,
    n_popular: int = 10,
    orders: float = 6.0,
    items_per_order: int = 3,
    affinity: float = 0.7,
    start: str = "2024-01-01",
    days: int = 365,
    seed: int = 0,
) -> pd.DataFrame:
    """An order-line log with planted co-purchase structure, for the cross-sell recommender.

    Items ``g<group>-<i>`` come in ``n_groups`` groups of ``items_per_group``, plus ``n_popular``
    items ``pop-<i>`` that everybody buys now and then (with Zipf-like weights 1/rank). Each
    customer likes one group; each line of an order is, with probability ``affinity``, an item of
    that group (uniformly), else a popular item. Orders per customer ~ 1 + Poisson(orders - 1)
    at uniform times over ``days``. Returns ``customer_id``, ``order_id``, ``line``,
    ``ordered_at``, ``product_id``, ``category`` (the group, or ``popular``), ``amount``.
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n_customers)
    n_orders = 1 + rng.poisson(orders - 1, n_customers)
    cust = np.repeat(np.arange(n_customers), n_orders)
    when = pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, days, len(cust)) * 86400, unit="s")
    order = np.arange(len(cust))
    line_cust = np.repeat(cust, items_per_order)
    line_order = np.repeat(order, items_per_order)
    own = rng.random(len(line_cust)) < affinity
    weights = 1.0 / np.arange(1, n_popular + 1)
    popular = rng.choice(n_popular, len(line_cust), p=weights / weights.sum())
    member = rng.integers(0, items_per_group, len(line_cust))
    product = np.where(own, np.char.add(np.char.add("g", group[line_cust].astype(str)),
                                        np.char.add("-", member.astype(str))),
                       np.char.add("pop-", popular.astype(str)))
    category = np.where(own, np.char.add("g", group[line_cust].astype(str)), "popular")
    frame = pd.DataFrame({"customer_id": np.char.add("C", line_cust.astype(str)),
                          "order_id": np.char.add("O", line_order.astype(str)),
                          "line": np.tile(np.arange(1, items_per_order + 1), len(cust)),
                          "ordered_at": np.repeat(when.floor("s").to_numpy(), items_per_order),
                          "product_id": product, "category": category,
                          "amount": np.round(rng.gamma(2.0, 5.0, len(line_cust)), 2)})
    return frame.sort_values(["ordered_at", "order_id", "line"]).reset_index(drop=True)
