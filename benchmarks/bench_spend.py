"""Gamma-Gamma spend fit: clvlab against lifetimes 0.11.3 on the repeat buyers of the 10M log.

Data: the RFM summary (weeks) of the simulated log of :mod:`benchmarks.bench_run` (10M rows,
3.18M customers, 1.68M repeat buyers; 1M rows with ``--quick``), computed once and kept in
``benchmarks/.cache/``. Ours is :meth:`clvlab.GammaGamma.fit` on the whole summary, the call
``clvlab run`` makes; lifetimes' ``GammaGammaFitter.fit`` is timed on a seeded sample of
100,000 repeat buyers and scaled to all of them (each of its iterations is linear in the rows),
and both are fitted on that sample to compare the parameters.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import CACHE, result_row, run_isolated

SAMPLE = 100_000
OBSERVATION_END = "2025-12-31"


def summary(rows: int) -> Path:
    """The RFM summary of the run benchmark's log as Parquet (made on first use)."""
    import clvlab
    from benchmarks.bench_run import workspace

    path = CACHE / f"spend_rfm_{rows}.parquet"
    if not path.exists():
        with clvlab.connect(str(workspace(rows)), read_only=True) as ws:
            rfm = clvlab.rfm_summary(ws, freq="W", observation_end=OBSERVATION_END)
        rfm.to_parquet(path)
    return path


def _repeat(path: str, sample: int | None) -> pd.DataFrame:
    rfm = pd.read_parquet(path)
    repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    return repeat if sample is None else repeat.sample(min(sample, len(repeat)), random_state=2024)


def ours(path: str, sample: int | None) -> tuple[float, dict[str, Any]]:
    import clvlab
    from clvlab.errors import DataQualityWarning, muted

    data = pd.read_parquet(path) if sample is None else _repeat(path, sample)
    started = time.perf_counter()
    with muted(DataQualityWarning):  # the customers without a repeat purchase are left out
        gg = clvlab.GammaGamma().fit(data)
    seconds = time.perf_counter() - started
    return seconds, {"params": gg.params_, "status": gg.fit_status_.label, "n_iter": gg.fit_status_.n_iter}


def theirs(path: str, sample: int) -> tuple[float, dict[str, Any]]:
    from lifetimes import GammaGammaFitter

    data = _repeat(path, sample)
    started = time.perf_counter()
    with warnings.catch_warnings():  # lifetimes' own deprecation noise
        warnings.simplefilter("ignore")
        gg = GammaGammaFitter().fit(data["frequency"], data["monetary_value"])
    seconds = time.perf_counter() - started
    return seconds, {"params": {k: float(gg.params_[k]) for k in ("p", "q", "v")}}


def run(quick: bool) -> list[dict[str, Any]]:
    """One row: our fit on every repeat buyer vs lifetimes' scaled from a sample."""
    rows = 1_000_000 if quick else 10_000_000
    path = str(summary(rows))
    n_repeat = len(_repeat(path, None))
    here = "benchmarks.bench_spend"
    whole = run_isolated(f"{here}:ours", path, None)
    same = run_isolated(f"{here}:ours", path, SAMPLE)
    lt = run_isolated(f"{here}:theirs", path, SAMPLE)
    scale = n_repeat / min(SAMPLE, n_repeat)
    lt_scaled = {**lt, "seconds": lt["seconds"] * scale}
    ref, got = lt["value"]["params"], same["value"]["params"]
    rel = max(abs(got[k] - ref[k]) / abs(ref[k]) for k in ref)
    notes = (f"{rows / 1e6:.0f}M-row log, {n_repeat:,} repeat buyers ({whole['value']['status']}, "
             f"{whole['value']['n_iter']} iterations); lifetimes timed on {min(SAMPLE, n_repeat):,} and "
             f"scaled x{scale:.1f} (linear in rows): {lt['seconds']:.1f} s; on that sample max param rel diff "
             f"{rel:.1e} (ours {got['p']:.4f}/{got['q']:.4f}/{got['v']:.4f} vs lifetimes "
             f"{ref['p']:.4f}/{ref['q']:.4f}/{ref['v']:.4f})")
    return [result_row(f"Gamma-Gamma fit, {n_repeat:,} repeat buyers", whole, lt_scaled, notes)]
