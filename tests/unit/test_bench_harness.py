"""The benchmark harness measures a child's own peak memory, not the runner's (benchmarks/)."""

from __future__ import annotations

from benchmarks import peak_mb, run_isolated


def small() -> tuple[float, int]:
    """A measurement that needs almost no memory."""
    return 0.0, 1


def test_a_child_reads_its_own_peak_not_the_runners() -> None:
    held = bytearray(800 * 2**20)  # the runner holds 800 MB when it starts the child
    held[:: 4096] = b"\x01" * len(held[:: 4096])  # touched: resident
    assert peak_mb() > 800
    child = run_isolated("tests.unit.test_bench_harness:small")
    assert child["value"] == 1
    assert 10 < child["peak_mb"] < 400  # an interpreter and the harness; ru_maxrss read 800+ here
