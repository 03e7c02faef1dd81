"""A simulated shop for experiments: 2,000 customers, a pre and a post half-year, known effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.derived import write_derived

STAGES = ("growth", "mature", "declining")


def simulate_shop(path: Path | str, n: int = 2000, seed: int = 3) -> None:
    """Customers with a gamma purchase rate; Poisson purchase days in 1998 H1 (pre) and H2 (post).

    Stages are drawn at random (three strata); nobody is treated: an effect is added by the tests.
    """
    rng = np.random.default_rng(seed)
    rate = rng.gamma(1.5, 1.0, n)  # purchases per half-year
    rows = []
    for i in range(n):
        for start in ("1998-01-01", "1998-07-01"):
            for d in rng.choice(180, size=min(rng.poisson(rate[i]), 180), replace=False):
                rows.append((f"c{i:04d}", pd.Timestamp(start) + pd.Timedelta(days=int(d)),
                             round(float(rng.gamma(2.0, 20.0)), 2)))
    tx = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    tx["order_id"] = [f"o{k}" for k in range(len(tx))]
    stages = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)],
                           "stage": rng.choice(STAGES, n, p=[0.5, 0.3, 0.2]), "n_purchases": 1})
    with clvlab.connect(path) as ws:
        ws.load_transactions(tx)
        write_derived(ws, "stages", stages, as_of="1998-06-30")


@pytest.fixture(scope="session")
def shop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "shop.duckdb"
    simulate_shop(path)
    return path


@pytest.fixture
def shop(shop_file: Path, tmp_path: Path) -> Path:
    """A fresh copy of the simulated shop (tests write experiments into it)."""
    copy = tmp_path / "shop.duckdb"
    copy.write_bytes(shop_file.read_bytes())
    return copy
