"""Run the benchmarks: ``python -m benchmarks [--quick] [--only rfm,models,...]``.

Discovers ``benchmarks/bench_*.py``, calls each module's ``run(quick)``, prints a Rich table,
and writes ``benchmarks/results.json`` and ``benchmarks/results.md`` (a table for the README;
``results-quick.*`` with ``--quick``); results of suites not run this time are kept from the
previous file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
import traceback
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks import ROOT

COLUMNS = ["benchmark", "ours_s", "theirs_s", "ratio", "ours_peak_mb", "theirs_peak_mb", "notes"]


def discover() -> list[str]:
    """Names of the benchmark modules (``bench_rfm.py`` -> ``rfm``), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in ROOT.glob("bench_*.py"))


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    body = "".join(
        "| " + " | ".join(_cell(r.get(c, "")) for c in COLUMNS) + " |\n" for r in rows
    )
    return head + body


def _cell(value: Any) -> str:
    """Numbers to 3 significant figures (ratios and seconds are measurements, not exact); no
    measurement (``None``, e.g. a size one side did not run) as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (CI, development)")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. rfm,models")
    args = parser.parse_args(argv)

    names = discover()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; available: {names}")
        names = [n for n in names if n in wanted]

    console = Console()
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in names:
        console.print(f"[bold]bench_{name}[/bold] ({'quick' if args.quick else 'full'}) ...")
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            rows.extend({**row, "suite": name} for row in module.run(args.quick))
        except Exception:
            failed.append(name)
            console.print(f"[red]bench_{name} failed[/red]\n{traceback.format_exc()}")
        console.print(f"  done in {time.perf_counter() - started:.1f} s")

    table = Table(title="clvlab benchmarks (ratio = theirs / ours, > 1: clvlab faster)")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("benchmark", "notes") else "right")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in COLUMNS))
    console.print(table)

    # keep earlier results of suites not run now (e.g. after --only rfm); quick runs (small
    # sizes) keep their own files so they never overwrite the full figures the README quotes
    stem = "results-quick" if args.quick else "results"
    path = ROOT / f"{stem}.json"
    if path.exists():
        try:
            earlier = json.loads(path.read_text()).get("results", [])
        except (ValueError, AttributeError):
            earlier = []
        rows = [r for r in earlier if r.get("suite") not in names] + rows
        order = {name: i for i, name in enumerate(discover())}  # suites in their usual order
        rows.sort(key=lambda r: order.get(str(r.get("suite")), len(order)))

    meta = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
    }
    path.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    md = markdown(rows)
    (ROOT / f"{stem}.md").write_text(md)
    print(md)  # plain print: Rich would wrap the long lines
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
