"""``clvlab run`` on a loaded workspace: the whole pipeline against its CLV part alone.

DESIGN.md and issue 8 set the bar: the lifecycle, health, churn, cohort and economics steps add at
most 50% to the time of the CLV part. The CLV part is what ``clvlab run`` did before those steps
existed: RFM, model choice on a calibration/holdout split, refit, Gamma-Gamma, scoring, and
writing the ``scores`` and ``diagnostics`` tables (:func:`clvlab.pipeline.run_clv` then
:func:`clvlab.pipeline.write_clv_tables`, the calls ``run_pipeline`` makes). Both sides run on the
same workspace, each in its own process, and the whole run writes every derived table as
``clvlab run -w`` does (no feedback, no app store: the transaction-only path). The notes give
the CLV part without its writes as well, and the whole run step by step (the run starts its
lifecycle work ahead, on two more connections, while the CLV part fits in Python:
:mod:`clvlab.run_ahead`; that work's time falls inside the CLV steps). The log is the simulated one of :mod:`benchmarks.bench_rfm` (10M rows;
1M with ``--quick``), loaded once through :meth:`clvlab.Workspace.load` into a DuckDB file in
``benchmarks/.cache/`` (the load is not timed).

Here "ours" is the whole run and "theirs" the CLV part alone, so the ratio (theirs / ours) is
below 1; the bar is a ratio of at least 1 / 1.5 = 0.67.
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks import CACHE, result_row, run_isolated
from benchmarks.bench_rfm import dataset

OBSERVATION_END = "2025-12-31"  # the end of simulate_transactions' two years (2024-01-01 on)


def workspace(rows: int) -> Path:
    """A DuckDB workspace holding the simulated log as ``transactions`` (made on first use)."""
    import clvlab

    parquet = dataset(rows)
    path = CACHE / f"run_{parquet.stem}.duckdb"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    with clvlab.connect(str(tmp)) as ws:
        ws.load("transactions", str(parquet), progress=False)
    tmp.rename(path)
    return path


def _copy(path: str) -> str:
    """A private copy, so the run's derived tables never change the cached workspace."""
    copy = Path(path).with_suffix(".work.duckdb")
    shutil.copyfile(path, copy)
    return str(copy)


def clv_part(path: str) -> tuple[float, dict[str, float]]:
    import clvlab
    from clvlab.pipeline import run_clv, write_clv_tables

    with clvlab.connect(_copy(path)) as ws:
        started = time.perf_counter()
        result = run_clv(ws, observation_end=OBSERVATION_END)
        fitted = time.perf_counter() - started
        write_clv_tables(ws, result)
        seconds = time.perf_counter() - started
    return seconds, {"clv": round(float(result.scores["clv"].sum()), 2), "without_writes": fitted}


#: the steps of the whole run reported one by one in the notes (the rest is summed as "other")
STEPS = ("writing the scores table", "lifecycle stages and health", "churn early warning",
         "writing the cohorts and economics tables")


def whole_run(path: str) -> tuple[float, dict[str, Any]]:
    import clvlab

    marks: list[tuple[str, float]] = []
    with clvlab.connect(_copy(path)) as ws:
        started = time.perf_counter()
        result = clvlab.run_pipeline(ws, observation_end=OBSERVATION_END,
                                     on_progress=lambda msg, *_: marks.append((msg, time.perf_counter())))
        seconds = time.perf_counter() - started
    steps = {msg: end - start for (msg, start), (_, end) in itertools.pairwise(marks)}
    return seconds, {"clv": round(float(result.clv.scores["clv"].sum()), 2), "steps": steps}


def run(quick: bool) -> list[dict[str, Any]]:
    """Time the CLV part and the whole run on one workspace (1M rows quick, 10M full)."""
    rows = 1_000_000 if quick else 10_000_000
    path = str(workspace(rows))
    here = "benchmarks.bench_run"
    whole = run_isolated(f"{here}:whole_run", path)
    clv = run_isolated(f"{here}:clv_part", path)
    same = "same total CLV" if whole["value"]["clv"] == clv["value"]["clv"] else (
        f"DIFFERENT total CLV: {whole['value']['clv']} vs {clv['value']['clv']}")
    extra = whole["seconds"] / clv["seconds"] - 1
    bare = clv["value"]["without_writes"]
    steps = whole["value"]["steps"]
    named = {name: steps.get(name, 0.0) for name in STEPS}
    split = ", ".join(f"{name} {s:.1f} s" for name, s in named.items())
    notes = (f"{rows / 1e6:.0f}M rows; whole run vs CLV part alone (with its scores and diagnostics "
             f"tables written): +{extra:.0%} time (bar: +50%); vs the CLV part without writing "
             f"({bare:.1f} s): +{whole['seconds'] / bare - 1:.0%}; {same}; steps of the whole run: {split}, "
             f"the CLV steps and the rest {whole['seconds'] - sum(named.values()):.1f} s")
    return [result_row("clvlab run vs its CLV part", whole, clv, notes)]
