"""The demo events and prospects are rebuilt byte for byte by their script and labelled as made up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import clvlab
from clvlab.datasets import path as dataset_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_events_are_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_events.py"), "--out", str(tmp_path)],
                   check=True)
    for name in ("demo_events", "demo_prospects"):
        shipped = dataset_path(name)
        assert (tmp_path / shipped.name).read_bytes() == shipped.read_bytes(), name
    assert dataset_path("demo_events").stat().st_size < 4_000_000  # small enough to ship


def test_demo_prospects_load_and_are_labelled(tmp_path: Path) -> None:
    with clvlab.connect(":memory:") as ws:
        report = ws.load_customers(dataset_path("demo_prospects"))
        assert (report.inserted, report.n_rejected) == (30000, 0)
        channels = ws.table("customers").acquisition_channel.value_counts().execute()
    assert set(channels["acquisition_channel"]) == {"social", "search", "email", "referral"}
    assert "demo assumption" in clvlab.datasets.path.__doc__  # type: ignore[operator]
