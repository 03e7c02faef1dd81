"""RFM summary of a transaction log: clvlab (Ibis on DuckDB) vs a hand-written DuckDB query,
a hand-written Polars lazy query and ``lifetimes.utils.summary_data_from_transaction_data``.

The log (~10M rows; 1M with ``--quick``) is simulated once with
:func:`clvlab.datasets.synthetic.simulate_transactions` (BG/NBD purchases, Gamma-Gamma spend)
and cached as Parquet in ``benchmarks/.cache/``, written in chunks so generation stays small in
memory. Each contender runs in its own process; the time excludes imports and, for lifetimes,
reading the Parquet file into pandas (its memory peak includes the frame). clvlab, DuckDB and
Polars read the Parquet file themselves inside the timed call. Each contender is called 3 times
in its process (lifetimes: 2 quick, 1 full) and the fastest time is kept.

Out-of-memory check (not run by default; ~100M rows, several minutes)::

    python -m benchmarks.bench_rfm --rows 100_000_000 --memory-limit 1GB
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks import CACHE, result_row, run_isolated

ROWS_PER_CUSTOMER = 3.14  # measured mean of simulate_transactions' defaults over two years
CHUNK_CUSTOMERS = 250_000


def dataset(rows: int) -> Path:
    """Path of the cached Parquet log of about ``rows`` transactions (generated on first use)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clvlab.datasets.synthetic import simulate_transactions

    n_customers = max(1, round(rows / ROWS_PER_CUSTOMER))
    path = CACHE / f"transactions_{n_customers}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for chunk, offset in enumerate(range(0, n_customers, CHUNK_CUSTOMERS)):
            size = min(CHUNK_CUSTOMERS, n_customers - offset)
            frame = simulate_transactions(size, seed=1000 + chunk, id_offset=offset)
            table = pa.Table.from_pandas(frame, preserve_index=False).cast(
                pa.schema([("customer_id", pa.string()), ("ordered_at", pa.timestamp("us")),
                           ("amount", pa.float64())])
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)
    return path


def _checksum(frame: Any) -> list[float]:
    """Customers and column sums, to check that every contender computed the same thing."""
    return [
        len(frame), float(frame["frequency"].sum()), float(frame["recency"].sum()),
        float(frame["T"].sum()), round(float(frame["monetary_value"].sum()), 2),
    ]


# ---- contenders (each runs in a child process; returns (seconds, checksum)) ------------------


def ours(path: str, memory_limit: str | None = None) -> tuple[float, list[float]]:
    import ibis

    import clvlab

    con = ibis.duckdb.connect()
    if memory_limit:
        con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    table = con.read_parquet(path, table_name="transactions")
    start = time.perf_counter()
    frame = clvlab.rfm_summary(table, freq="D")
    return time.perf_counter() - start, _checksum(frame)


_SQL = """
WITH periods AS (
    SELECT customer_id, CAST(ordered_at AS DATE) AS day, SUM(amount) AS spend
    FROM read_parquet($path) GROUP BY ALL
), per AS (
    SELECT customer_id, COUNT(*) - 1 AS frequency, MIN(day) AS first_day, MAX(day) AS last_day,
           SUM(spend) AS total, arg_min(spend, day) AS first_spend
    FROM periods GROUP BY ALL
)
SELECT customer_id,
       frequency::DOUBLE AS frequency,
       date_diff('day', first_day, last_day)::DOUBLE AS recency,
       date_diff('day', first_day, (SELECT MAX(day) FROM periods))::DOUBLE AS "T",
       CASE WHEN frequency > 0 THEN (total - first_spend) / frequency ELSE 0 END AS monetary_value
FROM per ORDER BY customer_id
"""


def duckdb_sql(path: str) -> tuple[float, list[float]]:
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    frame = con.execute(_SQL, {"path": path}).df().set_index("customer_id")
    return time.perf_counter() - start, _checksum(frame)


def polars_lazy(path: str) -> tuple[float, list[float]]:
    import polars as pl

    start = time.perf_counter()
    periods = (
        pl.scan_parquet(path)
        .group_by("customer_id", pl.col("ordered_at").dt.date().alias("day"))
        .agg(pl.col("amount").sum().alias("spend"))
    )
    end = periods.select(pl.col("day").max()).collect().item()
    per = periods.group_by("customer_id").agg(
        (pl.len() - 1).alias("frequency"),
        pl.col("day").min().alias("first"),
        pl.col("day").max().alias("last"),
        pl.col("spend").sum().alias("total"),
        pl.col("spend").sort_by("day").first().alias("first_spend"),
    )
    out = per.select(
        "customer_id",
        pl.col("frequency").cast(pl.Float64),
        (pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64).alias("recency"),
        (pl.lit(end) - pl.col("first")).dt.total_days().cast(pl.Float64).alias("T"),
        pl.when(pl.col("frequency") > 0)
        .then((pl.col("total") - pl.col("first_spend")) / pl.col("frequency"))
        .otherwise(0.0)
        .alias("monetary_value"),
    ).sort("customer_id")
    frame = out.collect().to_pandas().set_index("customer_id")
    return time.perf_counter() - start, _checksum(frame)


def lifetimes_pandas(path: str) -> tuple[float, list[float]]:
    import warnings

    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    log = pd.read_parquet(path)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = summary_data_from_transaction_data(
            log, "customer_id", "ordered_at", monetary_value_col="amount", freq="D"
        )
    return time.perf_counter() - start, _checksum(frame)


# ---- the suite -----------------------------------------------------------------------------


def run(quick: bool) -> list[dict[str, Any]]:
    """Time the four contenders on one cached log (1M rows quick, 10M full)."""
    rows = 1_000_000 if quick else 10_000_000
    path = str(dataset(rows))
    import pyarrow.parquet as pq

    n_rows = pq.ParquetFile(path).metadata.num_rows
    here = "benchmarks.bench_rfm"
    mine = run_isolated(f"{here}:ours", path, repeats=3)
    others = {
        "DuckDB SQL": run_isolated(f"{here}:duckdb_sql", path, repeats=3),
        "Polars lazy": run_isolated(f"{here}:polars_lazy", path, repeats=3),
        "lifetimes": run_isolated(f"{here}:lifetimes_pandas", path, repeats=2 if quick else 1),
    }
    size = f"{n_rows / 1e6:.1f}M rows, {mine['value'][0] / 1e6:.2f}M customers, freq D"
    out = []
    for name, theirs in others.items():
        same = "same result" if theirs["value"] == mine["value"] else (
            f"DIFFERENT result: ours {mine['value']} vs {theirs['value']}"
        )
        out.append(result_row(f"rfm_summary vs {name}", mine, theirs, f"{size}; {same}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="RFM out-of-memory check on a large log")
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=100_000_000)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit for clvlab")
    args = parser.parse_args()
    started = time.perf_counter()
    path = dataset(args.rows)
    print(f"log: {path} (ready after {time.perf_counter() - started:.0f} s)")
    result = run_isolated("benchmarks.bench_rfm:ours", str(path), args.memory_limit)
    print(
        f"clvlab.rfm_summary: {result['seconds']:.1f} s, peak RSS {result['peak_mb']:.0f} MB "
        f"(DuckDB memory_limit {args.memory_limit}); customers {result['value'][0]:,}"
    )


if __name__ == "__main__":
    main()
