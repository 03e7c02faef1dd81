"""Pareto/NBD against lifetimes 0.11.3: fit and scoring (P(alive) + conditional expectation).

Data: ``simulate_paretonbd`` with CDNOW-like parameters in days (r=0.55, alpha=74, s=0.61,
beta=82), T uniform on 1..364 whole days, recency floored to whole days, as an RFM summary
from a transaction log gives them. Each timing runs in its own process (:func:`run_isolated`).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import result_row, run_isolated

PARAMS = {"r": 0.55, "alpha": 74.0, "s": 0.61, "beta": 82.0}
NAMES = ("r", "alpha", "s", "beta")
LIFETIMES_MAX_FIT = 50_000  # lifetimes takes minutes on 1M rows; its fit is linear in rows


def _data(n: int, seed: int = 11) -> pd.DataFrame:
    from clvlab.datasets.synthetic import simulate_paretonbd

    rng = np.random.default_rng(seed)
    T = rng.integers(1, 365, n).astype(float)
    df = simulate_paretonbd(n, **PARAMS, T=T, seed=seed)
    repeat = df["frequency"].to_numpy() > 0  # a repeat purchase at least a day after the first
    df["recency"] = np.where(repeat, np.maximum(np.floor(df["recency"].to_numpy()), 1.0), 0.0)
    return df.reset_index(drop=True)


def _lt_ll(params: tuple[float, ...], df: pd.DataFrame) -> float:
    from lifetimes import ParetoNBDFitter

    ll = ParetoNBDFitter._conditional_log_likelihood(
        params, df["frequency"].to_numpy(), df["recency"].to_numpy(), df["T"].to_numpy())
    return float(np.sum(ll))


def ours_fit(n: int) -> tuple[float, Any]:
    """Time ``ParetoNBD().fit`` on n customers."""
    from clvlab.models.pareto_nbd import ParetoNBD

    df = _data(n)
    start = time.perf_counter()
    model = ParetoNBD().fit(df)
    seconds = time.perf_counter() - start
    return seconds, {"params": model.params_, "ll": model.log_likelihood_, "rows": model.n_rows_}


def theirs_fit(n: int, n_fit: int) -> tuple[float, Any]:
    """Time lifetimes on the first ``n_fit`` of n customers; fit ours there too (untimed)."""
    from lifetimes import ParetoNBDFitter

    from clvlab.models.pareto_nbd import ParetoNBD

    df = _data(n).iloc[:n_fit]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        lt = ParetoNBDFitter().fit(df["frequency"].to_numpy(), df["recency"].to_numpy(),
                                   df["T"].to_numpy())
        seconds = time.perf_counter() - start
    theirs = tuple(float(lt.params_[k]) for k in NAMES)
    ours = ParetoNBD().fit(df)
    return seconds, {
        "ll_theirs": _lt_ll(theirs, df), "ll_ours": ours.log_likelihood_,
        "params_theirs": dict(zip(NAMES, theirs, strict=True)), "params_ours": ours.params_,
    }


def _boundary_data() -> pd.DataFrame:
    """A real log whose Pareto/NBD MLE sits at a boundary: the CDNOW sample with a short
    calibration (weeks, to 1997-03-25, the day the cohort's last first purchases were made)."""
    import clvlab

    cal = clvlab.calibration_holdout(clvlab.datasets.load_cdnow("sample"),
                                     calibration_end="1997-03-25", freq="W")
    return cal.rename(columns=lambda c: c.removesuffix("_cal"))[["frequency", "recency", "T"]]


def ours_boundary_fit() -> tuple[float, Any]:
    """Time ``ParetoNBD().fit`` on the boundary-MLE log (its status reported, not timed)."""
    from clvlab.models.pareto_nbd import ParetoNBD

    df = _boundary_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = ParetoNBD().fit(df)
        seconds = time.perf_counter() - start
    return seconds, {"ll": model.log_likelihood_, "status": model.fit_status_.label}


def theirs_boundary_fit() -> tuple[float, Any]:
    """lifetimes on the same log, with its log-likelihood by its own function."""
    from lifetimes import ParetoNBDFitter

    df = _boundary_data()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        lt = ParetoNBDFitter().fit(df["frequency"].to_numpy(), df["recency"].to_numpy(),
                                   df["T"].to_numpy())
        seconds = time.perf_counter() - start
    return seconds, {"ll": _lt_ll(tuple(float(lt.params_[k]) for k in NAMES), df)}


def ours_score(n: int) -> tuple[float, Any]:
    """P(alive) and 52-day conditional expectation of n customers."""
    from clvlab.models.pareto_nbd import ParetoNBD

    df = _data(n)
    model = ParetoNBD()
    model.params_ = dict(PARAMS)
    x, tx, T = df["frequency"], df["recency"], df["T"]
    start = time.perf_counter()
    pa = model.probability_alive(x, tx, T)
    ce = model.conditional_expected_purchases(52.0, x, tx, T)
    seconds = time.perf_counter() - start
    return seconds, {"pa": np.asarray(pa)[:2000].tolist(), "ce": np.asarray(ce)[:2000].tolist()}


def theirs_score(n: int) -> tuple[float, Any]:
    """The same with lifetimes."""
    from lifetimes import ParetoNBDFitter

    df = _data(n)
    lt = ParetoNBDFitter()
    lt.params_ = pd.Series(PARAMS)
    x, tx, T = (df[c].to_numpy() for c in ("frequency", "recency", "T"))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        pa = lt.conditional_probability_alive(x, tx, T)
        ce = lt.conditional_expected_number_of_purchases_up_to_time(52.0, x, tx, T)
        seconds = time.perf_counter() - start
    return seconds, {"pa": np.asarray(pa)[:2000].tolist(), "ce": np.asarray(ce)[:2000].tolist()}


def run(quick: bool) -> list[dict[str, Any]]:
    """Fit and scoring rows (quick: 20k customers; full: 1M, lifetimes' fit on 50k scaled, and
    100k in full), and the fit on a real log whose MLE sits at a boundary."""
    n = 20_000 if quick else 1_000_000
    n_fit = min(n, LIFETIMES_MAX_FIT)
    mod = "benchmarks.bench_pareto"
    rows = []

    ours_b = run_isolated(f"{mod}:ours_boundary_fit")
    theirs_b = run_isolated(f"{mod}:theirs_boundary_fit", timeout=1800)
    rows.append(result_row(
        "Pareto/NBD fit, real log with a boundary MLE (CDNOW sample, 12-week calibration)",
        ours_b, theirs_b,
        f"2,357 customers; ours {ours_b['value']['status']} (reported), LL ours "
        f"{ours_b['value']['ll']:.4f} vs lifetimes {theirs_b['value']['ll']:.4f}"))
    if not quick:  # the 100k simulated case, lifetimes timed in full
        ours_m = run_isolated(f"{mod}:ours_fit", 100_000)
        theirs_m = run_isolated(f"{mod}:theirs_fit", 100_000, 100_000, timeout=7200)
        rows.append(result_row("Pareto/NBD fit, 100,000 customers", ours_m, theirs_m,
                               f"day grid, {ours_m['value']['rows']:,} distinct rows"))

    ours = run_isolated(f"{mod}:ours_fit", n)
    theirs = run_isolated(f"{mod}:theirs_fit", n, n_fit, timeout=7200)
    scale = n / n_fit
    theirs_scaled = {**theirs, "seconds": theirs["seconds"] * scale}
    v = theirs["value"]
    ll_rel = abs(v["ll_ours"] - v["ll_theirs"]) / abs(v["ll_theirs"])
    p_rel = max(abs(v["params_ours"][k] / v["params_theirs"][k] - 1) for k in NAMES)
    note = (
        f"{n:,} customers, day grid, {ours['value']['rows']:,} distinct rows; "
        + (f"lifetimes timed on {n_fit:,} and scaled x{scale:g} (linear in rows); " if scale > 1 else "")
        + f"on the same {n_fit:,}: LL ours {v['ll_ours']:.4f} vs lifetimes {v['ll_theirs']:.4f} "
        f"(rel diff {ll_rel:.1e}), max param rel diff {p_rel:.1e} (lifetimes Nelder-Mead tol 1e-4)"
    )
    rows.append(result_row(f"Pareto/NBD fit, {n:,} customers", ours, theirs_scaled, note))

    ours_s = run_isolated(f"{mod}:ours_score", n, repeats=2)
    theirs_s = run_isolated(f"{mod}:theirs_score", n, timeout=7200)
    pa_diff = np.max(np.abs(np.array(ours_s["value"]["pa"]) / np.array(theirs_s["value"]["pa"]) - 1))
    ce_diff = np.max(np.abs(np.array(ours_s["value"]["ce"]) / np.array(theirs_s["value"]["ce"]) - 1))
    rows.append(result_row(
        f"Pareto/NBD P(alive) + conditional expectation, {n:,} customers", ours_s, theirs_s,
        f"same parameters; max rel diff on 2,000 customers: P(alive) {pa_diff:.1e}, "
        f"E[X] {ce_diff:.1e}",
    ))
    return rows
