"""CLI start-up: ``clvlab --help``, ``--version`` and ``clvlab voc text --help`` in a fresh process.

Each command runs as its own process (as a user runs it), several times; the fastest wall time
is kept, and the CPU time (user + system) of that run is noted (on a busy machine wall time
waits for a core, CPU time does not). Byte-code caches are on, as after ``pip install`` (the
children run without ``PYTHONDONTWRITEBYTECODE``; a first untimed run writes the caches). The baseline ("theirs") is ``python -c pass``: the ratio
says how many interpreter start-ups the command costs. DESIGN.md's target: well under a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

_CLI = "import sys; from clvlab.cli import main; sys.argv[0] = 'clvlab'; main()"
COMMANDS: dict[str, list[str]] = {
    "clvlab --help": ["-c", _CLI, "--help"],
    "clvlab --version": ["-c", _CLI, "--version"],
    "clvlab voc text --help": ["-c", _CLI, "voc", "text", "--help"],
}


def _time(args: list[str], repeats: int) -> tuple[float, float]:
    """Fastest wall seconds of ``python *args`` and the CPU seconds of that run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, *args], check=True, capture_output=True, timeout=120, env=env)
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        before = os.times()
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, capture_output=True, timeout=120, env=env)
        wall = time.perf_counter() - start
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        best = min(best, (wall, cpu))
    return best


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows {benchmark, ours_s, theirs_s, ratio, notes}; ratio = baseline / command (< 1)."""
    repeats = 3 if quick else 7
    base_wall, base_cpu = _time(["-c", "pass"], repeats)
    rows = []
    for name, args in COMMANDS.items():
        wall, cpu = _time(args, repeats)
        rows.append({
            "benchmark": f"start-up: {name}", "ours_s": round(wall, 3), "theirs_s": round(base_wall, 3),
            "ratio": round(base_wall / wall, 3),
            "notes": f"vs `python -c pass`; best of {repeats}; CPU {cpu:.2f} s (baseline {base_cpu:.2f} s); "
                     "target well under 1 s",
        })
    return rows
