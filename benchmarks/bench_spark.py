"""RFM + fit + scoring with the log left in the engine (:mod:`clvlab.scale`): Spark local mode
against DuckDB, at several sizes, to show the driver's memory does not grow with the log.

Both sides run :func:`clvlab.scale.run_clv_at_scale` on the simulated Parquet log of
:mod:`benchmarks.bench_rfm` (no load: each engine reads the file in place) and write the scores
as a table in the engine. Timed: the whole call (distinct rows counted in the engine, the three
candidates compared on the holdout, refit, Gamma-Gamma, scores computed and written). Memory:
the Python process's peak (``VmHWM``, :func:`benchmarks.peak_mb`) and, for Spark, the driver JVM's peak resident set
(``VmHWM``; in local mode the JVM is the driver and its executors). Each measurement runs in its
own process; the Spark one includes no session start-up in the time (it is reported apart).

Here "ours" is Spark and "theirs" DuckDB, so the ratio (theirs / ours) below 1 says how much
slower Spark local mode is on one 2-core machine: the point is the memory, and that the same
code runs where the data is.

    python -m benchmarks.bench_spark --rows 10_000_000 30_000_000 --duckdb-only 100_000_000

(``--duckdb-only``: sizes where Spark local mode on two cores would take too long; DuckDB's
row then has no Spark figures.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import peak_mb, result_row, run_isolated
from benchmarks.bench_rfm import dataset

OBSERVATION_END = "2025-12-31"  # the end of simulate_transactions' two years


def spark_side(path: str) -> tuple[float, list[float]]:
    from pyspark.sql import SparkSession

    import clvlab
    from clvlab.scale import run_clv_at_scale

    started = time.perf_counter()
    session = (
        SparkSession.builder.master("local[2]").appName("clvlab-bench")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8").config("spark.driver.memory", "2g")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="clvlab-bench-"))
        .config("spark.sql.session.timeZone", "UTC").getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    session.read.parquet(path).createOrReplaceTempView("transactions")
    ws = clvlab.connect(session)
    started = time.perf_counter()
    result = run_clv_at_scale(ws, table="transactions", scores_table="bench_scores",
                              observation_end=OBSERVATION_END)
    seconds = time.perf_counter() - started
    jvm = session._jvm.java.lang.ProcessHandle.current().pid()
    jvm_mb = peak_mb(int(jvm))
    session.stop()
    return seconds, [result.n_customers, round(result.total_clv, 2), result.best, round(jvm_mb),
                     round(startup, 1), result.rows_collected, result.settings["spend_fit"]]


def duckdb_side(path: str) -> tuple[float, list[float]]:
    import ibis

    from clvlab.data.workspace import Workspace
    from clvlab.scale import run_clv_at_scale

    folder = Path(tempfile.mkdtemp(prefix="clvlab-bench-"))
    con = ibis.duckdb.connect(str(folder / "scores.duckdb"))
    con.read_parquet(path, table_name="transactions")
    ws = Workspace(con, path=folder / "scores.duckdb", url="bench")
    started = time.perf_counter()
    result = run_clv_at_scale(ws, table="transactions", scores_table="bench_scores",
                              observation_end=OBSERVATION_END)
    seconds = time.perf_counter() - started
    return seconds, [result.n_customers, round(result.total_clv, 2), result.best, 0, 0.0,
                     result.rows_collected, result.settings["spend_fit"]]


def measure(rows: int, *, spark: bool = True) -> dict[str, Any]:
    """Both sides on about ``rows`` transactions (DuckDB alone with ``spark=False``)."""
    path = str(dataset(rows))
    here = "benchmarks.bench_spark"
    duck = run_isolated(f"{here}:duckdb_side", path)
    n_d, clv_d, best_d, _, _, collected_d, spend_d = duck["value"]
    if not spark:
        return {
            "benchmark": f"CLV run at scale, {rows / 1e6:g}M rows: DuckDB only", "ours_s": None,
            "theirs_s": round(duck["seconds"], 3), "ratio": None, "ours_peak_mb": None,
            "theirs_peak_mb": round(duck["peak_mb"]),
            "notes": (f"{rows / 1e6:g}M rows, {n_d:,} customers; DuckDB only (Spark local[2] at this size, about 15 "
                      f"minutes on two cores: --rows, see docs/scale.md); model {best_d}; rows brought to Python: {collected_d}; "
                      f"Gamma-Gamma on {spend_d}"),
        }
    sp = run_isolated(f"{here}:spark_side", path)
    n, clv, best, jvm_mb, startup, collected, spend = sp["value"]
    same = ("same customers, model and total CLV" if (n, best) == (n_d, best_d)
            and abs(clv - clv_d) <= 1e-6 * abs(clv_d) else f"DIFFERENT: {n, best, clv} vs {n_d, best_d, clv_d}")
    notes = (f"{rows / 1e6:g}M rows, {n:,} customers; Spark local[2] (session start {startup:.0f} s, not "
             f"timed) vs DuckDB; Spark driver JVM peak {jvm_mb:,} MB, Python peak {sp['peak_mb']:.0f} MB; "
             f"rows brought to Python: {collected}; Gamma-Gamma on {spend}; {same}")
    return result_row(f"CLV run at scale, {rows / 1e6:g}M rows: Spark vs DuckDB", sp, duck, notes)


#: full run: (rows, with Spark); Spark local[2] at 100M rows adds about 15 minutes (docs/scale.md)
FULL = ((10_000_000, True), (30_000_000, True), (100_000_000, False))


def run(quick: bool) -> list[dict[str, Any]]:
    """Quick: 1M and 3M rows; full: :data:`FULL`. The Spark driver's memory must not grow."""
    sizes = ((1_000_000, True), (3_000_000, True)) if quick else FULL
    return [measure(rows, spark=spark) for rows, spark in sizes]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    size = lambda s: int(s.replace("_", ""))  # noqa: E731
    parser.add_argument("--rows", type=size, nargs="*", default=[1_000_000])
    parser.add_argument("--duckdb-only", type=size, nargs="*", default=[])
    args = parser.parse_args()
    for rows, spark in [*((r, True) for r in args.rows), *((r, False) for r in args.duckdb_only)]:
        print(measure(rows, spark=spark))
