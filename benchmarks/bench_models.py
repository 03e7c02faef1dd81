"""BG/NBD fitting and scoring: clvlab against lifetimes 0.11.3 on the same simulated customers.

Data: ``simulate_bgnbd`` with the CDNOW parameters (r=0.243, alpha=4.414, a=0.793, b=2.426),
customers acquired over one year (T = 26 to 78 weeks, whole days), recency rounded down to
whole days as an RFM summary from dated transactions would give it.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from clvlab.datasets.synthetic import simulate_bgnbd
from clvlab.models.beta_geo import BetaGeo

TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _data(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    T = (rng.integers(0, 365, n) + 182) / 7.0
    data = simulate_bgnbd(n, **TRUE, T=T, seed=2024)
    # whole days, a repeat purchase at least a day after the first (as from a transaction log)
    repeat = data["frequency"].to_numpy() > 0
    data["recency"] = np.where(repeat, np.maximum(np.floor(data["recency"] * 7.0), 1.0), 0.0) / 7.0
    return data


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _lifetimes_ll(lt: Any, data: pd.DataFrame) -> float:
    log_params = np.log(lt.params_[["r", "alpha", "a", "b"]].to_numpy(dtype=float))
    nll = lt._negative_log_likelihood(log_params, data["frequency"].to_numpy(),
                                      data["recency"].to_numpy(), data["T"].to_numpy(),
                                      np.ones(len(data)), 0.0)
    return -float(nll) * len(data)


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows {benchmark, ours_s, theirs_s, ratio, notes}: fit on 1M (quick: 100k), score 1M."""
    from lifetimes import BetaGeoFitter

    n_fit = 100_000 if quick else 1_000_000
    n_score = 100_000 if quick else 1_000_000
    data = _data(max(n_fit, n_score))
    fit_data = data.iloc[:n_fit]
    f, r, t = (fit_data[c] for c in ("frequency", "recency", "T"))

    ours_s, ours = _timed(lambda: BetaGeo().fit(fit_data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_s, theirs = _timed(lambda: BetaGeoFitter().fit(f, r, t))
        lt_ll = _lifetimes_ll(theirs, fit_data)
    rel = max(abs(ours.params_[k] - float(theirs.params_[k])) / abs(float(theirs.params_[k]))
              for k in TRUE)
    rows = [{
        "benchmark": f"BG/NBD fit, {n_fit:,} customers",
        "ours_s": ours_s, "theirs_s": theirs_s, "ratio": theirs_s / ours_s,
        "notes": (f"vs lifetimes.BetaGeoFitter; {ours.n_rows_:,} distinct rows; "
                  f"|LL diff|/|LL| = {abs(ours.log_likelihood_ - lt_ll) / abs(lt_ll):.1e}; "
                  f"max param rel diff = {rel:.1e}"),
    }]

    score = data.iloc[:n_score]
    sf, sr, st = (score[c].to_numpy() for c in ("frequency", "recency", "T"))
    horizon = 52.0

    def ours_score() -> tuple[Any, Any]:
        return (ours.probability_alive(sf, sr, st),
                ours.conditional_expected_purchases(horizon, sf, sr, st))

    theirs.params_ = pd.Series(ours.params_)  # same parameters, so outputs are comparable

    def theirs_score() -> tuple[Any, Any]:
        return (theirs.conditional_probability_alive(sf, sr, st),
                theirs.conditional_expected_number_of_purchases_up_to_time(horizon, sf, sr, st))

    ours_s, (pa, ce) = _timed(ours_score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_s, (lpa, lce) = _timed(theirs_score)
    diff = max(float(np.max(np.abs(pa - lpa))), float(np.max(np.abs(ce - lce) / np.maximum(lce, 1e-12))))
    rows.append({
        "benchmark": f"BG/NBD scoring, {n_score:,} customers (P(alive) + E[Y(52)|history])",
        "ours_s": ours_s, "theirs_s": theirs_s, "ratio": theirs_s / ours_s,
        "notes": f"vs lifetimes 0.11.3 with the same parameters; max rel diff {diff:.1e}",
    })
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
