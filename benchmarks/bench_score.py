"""Scoring as users call it: ``clvlab.score_customers`` against lifetimes'
``customer_lifetime_value``, end to end, on the same customers and models.

Data: the BG/NBD customers of :mod:`benchmarks.bench_models` (CDNOW parameters, T on a day grid
in weeks, recency floored to whole days) with a Gamma-Gamma mean spend per repeat buyer
(p=6.25, q=3.74, v=15.44, cents). BG/NBD, Pareto/NBD (fitted on a 100,000-customer subsample:
its fit is not what is timed here) and Gamma-Gamma are fitted once, saved as JSON in
``benchmarks/.cache/`` and loaded by each timed process, so both sides score with the same
parameters.

clvlab: ``score_customers(rfm, model, gamma_gamma, horizon=365, discount_rate=0.1)``, the whole
call: checks, P(alive), expected purchases and spend, discounted CLV, the 90% interval from 200
parameter draws, RFM segments, the result frame. lifetimes 0.11.3:
``GammaGammaFitter.customer_lifetime_value(model, ..., time=12, discount_rate=1.1 ** (1 / 12) -
1, freq="W")``, which returns the point CLV only. Agreement is checked on the point CLV: as
called, the two differ by lifetimes' month (4.345 weeks = 30.415 days; ours 365.25 / 12 days);
with lifetimes' own schedule passed to our computation they agree to rounding.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import CACHE, result_row, run_isolated

GG = {"p": 6.25, "q": 3.74, "v": 15.44}
_MODELS = {"bg": "BetaGeo", "pareto": "ParetoNBD"}
_LIFETIMES = {"bg": "BetaGeoFitter", "pareto": "ParetoNBDFitter"}
_MONTHLY = 1.1 ** (1 / 12) - 1  # lifetimes' monthly rate for an annual 10%


def _data(n: int) -> pd.DataFrame:
    from benchmarks.bench_models import _data as bg_customers

    data = bg_customers(n)
    rng = np.random.default_rng(7)
    x = data["frequency"].to_numpy()
    nu = rng.gamma(GG["q"], 1.0 / GG["v"], n)
    reps = np.maximum(x, 1.0)
    mean_spend = rng.gamma(GG["p"] * reps, 1.0) / nu / reps  # mean of x Gamma(p, nu) spends
    data["monetary_value"] = np.where(x > 0, np.round(mean_spend, 2), 0.0)
    data.attrs["freq"] = "W"
    return data


def _model_path(kind: str, n: int) -> str:
    return str(CACHE / f"score_{kind}_{n}.json")


def _prepare(n: int) -> None:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma once and save them for the timed processes."""
    from clvlab.models import BetaGeo, GammaGamma, ParetoNBD

    CACHE.mkdir(exist_ok=True)
    data = _data(n)
    BetaGeo().fit(data).save(_model_path("bg", n))
    ParetoNBD().fit(data.iloc[:100_000]).save(_model_path("pareto", n))
    GammaGamma().fit(data[data["frequency"] > 0]).save(_model_path("gg", n))


def ours(n: int, kind: str, n_draws: int) -> tuple[float, Any]:
    """Time ``score_customers`` (BG/NBD or Pareto/NBD + Gamma-Gamma) on n customers."""
    import clvlab
    from clvlab.models import load_model

    data = _data(n)
    model, spend = load_model(_model_path(kind, n)), load_model(_model_path("gg", n))
    start, cpu = time.perf_counter(), time.process_time()
    scores = clvlab.score_customers(data, model, spend, horizon=365, discount_rate=0.1,
                                    n_draws=n_draws)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(CACHE / f"score_ours_{kind}.npy", scores["clv"].to_numpy())
    return seconds, {"cpu_s": cpu, "total_clv": float(scores["clv"].sum()),
                     "interval_nan": int(scores["clv_lower"].isna().sum())}


def theirs(n: int, kind: str) -> tuple[float, Any]:
    """Time lifetimes' ``customer_lifetime_value`` with the same models on the same customers."""
    import lifetimes

    from clvlab.models import load_model

    data = _data(n)
    model, spend = load_model(_model_path(kind, n)), load_model(_model_path("gg", n))
    fitter = getattr(lifetimes, _LIFETIMES[kind])()
    fitter.params_ = pd.Series(model.params_)
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time  # set by fit()
    gg = lifetimes.GammaGammaFitter()
    gg.params_ = pd.Series(spend.params_)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        start, cpu = time.perf_counter(), time.process_time()
        clv = gg.customer_lifetime_value(fitter, data["frequency"], data["recency"], data["T"],
                                         data["monetary_value"], time=12,
                                         discount_rate=_MONTHLY, freq="W")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(CACHE / f"score_theirs_{kind}.npy", clv.to_numpy())
    return seconds, {"cpu_s": cpu, "total_clv": float(clv.sum())}


def _same_schedule(n: int, kind: str) -> np.ndarray:
    """Our point CLV computed with lifetimes' schedule: 12 steps of 4.345 weeks, 1.1^(1/12)
    per step (the computation score_customers runs, with those step ends and divisors)."""
    from clvlab.models import load_model
    from clvlab.value._expected import purchases

    data = _data(n)
    model, spend = load_model(_model_path(kind, n)), load_model(_model_path("gg", n))
    f, r, t, m = (data[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    steps = np.arange(1, 13, dtype=np.float64)
    bought = purchases(model, f, r, t, 4.345 * steps, (1.0 + _MONTHLY) ** steps)
    return np.asarray(spend.expected_spend(f, m), dtype=np.float64) * bought.discounted


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows for BG/NBD and Pareto/NBD scoring with the interval, and BG/NBD without it."""
    n = 100_000 if quick else 1_000_000
    repeats = 1 if quick else 2
    _prepare(n)
    rows = []
    for kind, label in (("bg", "BG/NBD"), ("pareto", "Pareto/NBD")):
        their = run_isolated("benchmarks.bench_score:theirs", n, kind, repeats=repeats)
        lt = np.load(CACHE / f"score_theirs_{kind}.npy")
        same = _rel(_same_schedule(n, kind), lt)
        for n_draws in (200, 0) if kind == "bg" else (200,):
            our = run_isolated("benchmarks.bench_score:ours", n, kind, n_draws, repeats=repeats)
            called = _rel(np.load(CACHE / f"score_ours_{kind}.npy"), lt)
            what = "with the 90% interval (200 draws)" if n_draws else "point only (n_draws=0)"
            rows.append(result_row(
                f"score_customers, {label} + Gamma-Gamma, {n:,} customers, {what}", our, their,
                f"vs lifetimes customer_lifetime_value (point CLV only), same parameters, "
                f"365 days at 10%/year; point CLV max rel diff {called:.1e} as called (lifetimes' "
                f"month is 4.345 weeks), {same:.1e} on lifetimes' schedule; CPU s of the "
                f"timed call (last run) {our['value']['cpu_s']:.2f} vs "
                f"{their['value']['cpu_s']:.1f}",
            ))
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
