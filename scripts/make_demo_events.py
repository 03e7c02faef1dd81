"""Build the demo behavioural events and prospects shipped in ``clvlab.datasets``.

Usage: ``python scripts/make_demo_events.py [--out DIR]``

DEMO ASSUMPTIONS, not data: CDNOW records purchases only, no site behaviour and no prospect who
never bought. So that ``clvlab leads`` (prospects and their lead score) has something to show,
this script makes both up, reproducibly (fixed seed, same bytes on every run):

* ``demo_events.csv.gz``: for every CDNOW master customer, a short journey before (and on the
  day of) the first purchase: ``site_visit`` days (1 + Poisson(1.2), spread over the 1 +
  Gamma(1.5, 12) days before it), ``product_view`` events per visit (Poisson(2), with a music
  category in ``properties``), a ``cart_add`` (with a cart ``value``) on the last visit with
  probability 0.45 (0.1 on other visits), a ``newsletter_signup`` with probability 0.25;
  and for 30,000 prospects ``P00001``.. who never buy (first visit uniform over 1996-12-01 ..
  1997-03-31, then 1 + Poisson(0.8) visits over the next Gamma(1, 40) days), the same events
  with fewer views (Poisson(1.2)), rarer cart adds (0.06) and signups (0.15);
* ``demo_prospects.csv.gz``: those prospects' ``acquisition_channel`` (social 40 %, search 35 %,
  email 15 %, referral 10 %: unlike the buyers' 40/25/20/15 of ``demo_customers.csv.gz``), to be
  loaded into ``customers``.

So conversion depends on behaviour by construction (more views, a cart add, a recent visit): a
lead score's AUC on these files measures how well it recovers rules made up here, not how well
it would do on real prospects.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

from clvlab.datasets import load_cdnow

FILES = Path(__file__).resolve().parents[1] / "src" / "clvlab" / "datasets" / "files"
SEED = 20261205
N_PROSPECTS = 30000
CATEGORIES = ("rock", "pop", "jazz", "classical", "country", "soundtrack")
PROSPECT_CHANNELS = (("social", 0.40), ("search", 0.35), ("email", 0.15), ("referral", 0.10))


def _journey(rng: np.random.Generator, cid: str, days: list[pd.Timestamp], views: float, cart_last: float,
             cart_other: float, signup: float) -> list[tuple[str, pd.Timestamp, str, str, str]]:
    """Events of one person on the given visit days (sorted), as (id, time, event, value, properties)."""
    rows = []
    for i, day in enumerate(days):
        t = day + pd.Timedelta(seconds=int(rng.integers(8 * 3600, 23 * 3600)))
        rows.append((cid, t, "site_visit", "", ""))
        for _ in range(int(rng.poisson(views))):
            t += pd.Timedelta(seconds=int(rng.integers(20, 400)))
            cat = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            rows.append((cid, t, "product_view", "", json.dumps({"category": cat})))
        if rng.random() < (cart_last if i == len(days) - 1 else cart_other):
            t += pd.Timedelta(seconds=int(rng.integers(20, 300)))
            rows.append((cid, t, "cart_add", f"{rng.lognormal(3.0, 0.5):.2f}", json.dumps({"items": int(1 + rng.poisson(0.8))})))
    if rng.random() < signup:
        day = days[int(rng.integers(len(days)))]
        rows.append((cid, day + pd.Timedelta(seconds=int(rng.integers(8 * 3600, 23 * 3600))), "newsletter_signup", "", ""))
    return rows


def _visit_days(rng: np.random.Generator, last: pd.Timestamp, span: float, n: int, include_last: bool) -> list[pd.Timestamp]:
    offsets = set(rng.integers(0, int(span) + 1, size=n).tolist())
    if include_last:
        offsets.add(0)
    return sorted(last - pd.Timedelta(days=int(o)) for o in offsets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FILES)
    out = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    tx = load_cdnow("master")
    first = tx.groupby("customer_id")["ordered_at"].min()
    first = first.sort_index(key=lambda s: s.astype(int))
    rows: list[tuple[str, pd.Timestamp, str, str, str]] = []
    for cid, day in first.items():
        span = 1 + rng.gamma(1.5, 12.0)
        days = _visit_days(rng, day, span, 1 + int(rng.poisson(1.2)), include_last=rng.random() < 0.6)
        rows += _journey(rng, str(cid), days, views=2.0, cart_last=0.45, cart_other=0.1, signup=0.25)
    start, end = pd.Timestamp("1996-12-01"), pd.Timestamp("1997-03-31")
    names, shares = zip(*PROSPECT_CHANNELS, strict=True)
    prospects = []
    for i in range(1, N_PROSPECTS + 1):
        cid = f"P{i:05d}"
        day0 = start + pd.Timedelta(days=int(rng.integers(0, (end - start).days + 1)))
        span = rng.gamma(1.0, 40.0)
        days = _visit_days(rng, day0 + pd.Timedelta(days=int(span)), span, 1 + int(rng.poisson(0.8)), include_last=True)
        rows += _journey(rng, cid, days, views=1.2, cart_last=0.06, cart_other=0.06, signup=0.15)
        prospects.append((cid, names[int(rng.choice(len(names), p=shares))]))
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "event", "value", "properties"])
    frame = frame.sort_values(["occurred_at", "customer_id"], kind="stable")
    frame["occurred_at"] = frame["occurred_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    with gzip.GzipFile(out / "demo_events.csv.gz", "wb", mtime=0) as fh:
        fh.write(frame.to_csv(index=False).encode())
    with gzip.GzipFile(out / "demo_prospects.csv.gz", "wb", mtime=0) as fh:
        fh.write(pd.DataFrame(prospects, columns=["customer_id", "acquisition_channel"]).to_csv(index=False).encode())


if __name__ == "__main__":
    main()
