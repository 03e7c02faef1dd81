"""Build the demo acquisition channels and marketing spend shipped in ``clvlab.datasets``.

Usage: ``python scripts/make_demo_economics.py [--out DIR]``

DEMO ASSUMPTIONS, not data: CDNOW records neither how customers were won nor what marketing
cost. So that ``clvlab economics`` has something to show, this script makes up both,
reproducibly (same inputs, same bytes):

* ``demo_customers.csv.gz``: every CDNOW master customer gets an ``acquisition_channel``
  fixed by the MD5 of its customer id: search 40 %, social 25 %, referral 20 %, email 15 %
  (so channels differ in cost, not in behaviour: any behavioural gap between them is noise),
  and a home ``store_id`` (CDNOW sold by mail order and had no stores): the store of the
  customer's answers in ``demo_feedback.csv.gz`` (most answers, ties to the earliest), else one
  of that file's stores fixed by the MD5 of "store:" + the customer id, so that a demo store
  manager sees their store's customers and those customers' answers;
* ``demo_marketing_spend.csv``: one row per channel and month of 1997-01..1997-03 (the months
  CDNOW's customers were acquired in), cost = an assumed CAC per channel (search $48,
  social $75, referral $30, email $12) x the customers that channel won that month, rounded
  to $10.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from pathlib import Path

import pandas as pd

from clvlab.datasets import load_cdnow

FILES = Path(__file__).resolve().parents[1] / "src" / "clvlab" / "datasets" / "files"
#: channel, cumulative share upper bound, assumed CAC in dollars
CHANNELS = (("search", 0.40, 48.0), ("social", 0.65, 75.0), ("referral", 0.85, 30.0), ("email", 1.00, 12.0))


def channel_of(customer_id: str) -> str:
    """The demo channel of a customer: a fixed function of its id."""
    u = int(hashlib.md5(customer_id.encode()).hexdigest()[:8], 16) / 2**32
    return next(name for name, upper, _ in CHANNELS if u < upper)


def store_of(customer_id: str, stores: list[str]) -> str:
    """The demo home store of a customer without answers: a fixed function of its id."""
    u = int(hashlib.md5(f"store:{customer_id}".encode()).hexdigest()[:8], 16) / 2**32
    return stores[int(u * len(stores))]


def home_stores(customer_ids: pd.Series) -> pd.Series:
    """Each customer's demo home store (see the module docstring)."""
    fb = pd.read_csv(FILES / "demo_feedback.csv.gz", dtype=str, keep_default_na=False)
    fb = fb[fb["store_id"] != ""]
    counts = fb.groupby(["customer_id", "store_id"]).agg(n=("response_id", "size"), first=("responded_at", "min"))
    best = counts.reset_index().sort_values(["customer_id", "n", "first"], ascending=[True, False, True])
    answered = best.drop_duplicates("customer_id").set_index("customer_id")["store_id"]
    stores = sorted(fb["store_id"].unique())
    return customer_ids.map(lambda c: answered.get(c) or store_of(c, stores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FILES)
    out = parser.parse_args().out
    tx = load_cdnow("master")
    first = tx.groupby("customer_id")["ordered_at"].min().rename("first").reset_index()
    first["acquisition_channel"] = first["customer_id"].map(channel_of)
    first["store_id"] = home_stores(first["customer_id"])
    first = first.sort_values("customer_id", key=lambda s: s.astype(int))
    with gzip.GzipFile(out / "demo_customers.csv.gz", "wb", mtime=0) as fh:
        fh.write(first[["customer_id", "acquisition_channel", "store_id"]].to_csv(index=False).encode())
    first["period"] = first["first"].dt.to_period("M").dt.start_time.dt.strftime("%Y-%m-%d")
    won = first.groupby(["period", "acquisition_channel"]).size().rename("won").reset_index()
    cac = {name: value for name, _, value in CHANNELS}
    won["cost"] = (won["won"] * won["acquisition_channel"].map(cac) / 10).round() * 10
    spend = won.rename(columns={"acquisition_channel": "channel"})[["period", "channel", "cost"]]
    spend.to_csv(out / "demo_marketing_spend.csv", index=False, float_format="%.2f")


if __name__ == "__main__":
    main()
