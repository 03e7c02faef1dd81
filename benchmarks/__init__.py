"""clvlab benchmarks: ``python -m benchmarks [--quick] [--only rfm,models]``.

Each module ``benchmarks/bench_<name>.py`` defines ``run(quick: bool) -> list[dict]``; every dict
has the keys ``benchmark``, ``ours_s``, ``theirs_s``, ``ratio`` (theirs / ours: > 1 means clvlab
is faster) and ``notes``, and optionally ``ours_peak_mb``, ``theirs_peak_mb``.

:func:`run_isolated` runs one timed function in a fresh Python process and reports its seconds
and the process's peak resident memory, so measurements do not share caches or memory.
"""

from __future__ import annotations

import importlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"

__all__ = ["CACHE", "ROOT", "peak_mb", "result_row", "run_isolated"]

_MARK = "BENCHMARK-RESULT "  # engines may print progress bars on stdout; our line is marked


def run_isolated(
    target: str, *args: Any, repeats: int = 1, timeout: float = 3600
) -> dict[str, Any]:
    """Call ``target`` (``"module:function"``) with JSON-able ``args`` in a child process.

    The function does its own set-up and returns ``(seconds, value)``: the seconds it timed
    (set-up excluded) and any JSON-able value (e.g. a checksum of its result). It is called
    ``repeats`` times in the same child and the fastest time is kept (the first call pays
    one-off costs such as engine start-up). Returns ``{"seconds", "cpu_s", "peak_mb", "value",
    "wall_s"}``; ``cpu_s`` is the child's user + system CPU time over all calls; ``peak_mb`` its
    peak resident memory (:func:`peak_mb`), interpreter and imported libraries included.
    """
    code = "import sys; from benchmarks import _child_main; _child_main()"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, target, json.dumps(list(args)), str(repeats)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT.parent, check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        msg = f"benchmark child {target} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)]
    if not lines:
        msg = f"benchmark child {target} printed no result:\n{proc.stdout[-3000:]}"
        raise RuntimeError(msg)
    out = json.loads(lines[-1].removeprefix(_MARK))
    out["wall_s"] = wall
    return out


def _child_main() -> None:
    """Entry point of the child process started by :func:`run_isolated`."""
    target, raw_args, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    before = resource.getrusage(resource.RUSAGE_SELF)
    times, value = [], None
    for _ in range(repeats):
        seconds, value = func(*json.loads(raw_args))
        times.append(seconds)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {"seconds": min(times), "cpu_s": cpu, "peak_mb": peak_mb(), "value": value}
    print("\n" + _MARK + json.dumps(result))


def peak_mb(pid: int | str = "self") -> float:
    """Peak resident memory of process ``pid`` in MB: Linux's ``VmHWM``, the high-water mark of
    the process's own memory since it started its program. Not ``ru_maxrss``: a child keeps
    its parent's peak at the fork across ``exec`` (a child of a 7 GB runner read 7 GB whatever
    it used); where ``/proc`` is missing, ``ru_maxrss`` it is (kilobytes on Linux, bytes on macOS)."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    if pid != "self":
        return float("nan")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def result_row(
    benchmark: str, ours: dict[str, Any], theirs: dict[str, Any], notes: str
) -> dict[str, Any]:
    """One result dict from two :func:`run_isolated` measurements."""
    return {
        "benchmark": benchmark,
        "ours_s": round(ours["seconds"], 3),
        "theirs_s": round(theirs["seconds"], 3),
        "ratio": round(theirs["seconds"] / ours["seconds"], 2),
        "ours_peak_mb": round(ours["peak_mb"]),
        "theirs_peak_mb": round(theirs["peak_mb"]),
        "notes": notes,
    }
