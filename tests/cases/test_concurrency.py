"""Several processes on one SQLite app store: migrations and case opening neither lose nor duplicate."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pandas as pd
import pytest

from clvlab.cases.service import CaseService
from clvlab.store import open_app_store


def _worker(url: str, start: int, stop: int, rounds: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    with open_app_store(url) as store:  # both processes migrate a brand-new file at once
        svc = CaseService(store)
        for i in range(rounds):
            ids = [f"r{j:04d}" for j in range(start + i * 10, min(stop, start + i * 10 + 25))]
            frame = pd.DataFrame({"response_id": ids, "metric": "nps", "score": 3.0})
            svc.open_cases(frame, actor=f"proc-{start}")


@pytest.mark.slow
def test_two_processes_opening_overlapping_cases(tmp_path: Path) -> None:
    """Two processes open overlapping batches (r0000-r0159 and r0100-r0259) at the same time."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(url, 0, 160, 16, barrier)),
             ctx.Process(target=_worker, args=(url, 100, 260, 16, barrier))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_app_store(url) as store:
        cases = CaseService(store).list_cases()
        from sqlalchemy import func, select

        from clvlab.store import CaseEvent

        with store.session() as s:
            opens = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "open"))
    ids = sorted(c.response_id for c in cases)
    assert ids == [f"r{j:04d}" for j in range(260)]
    assert opens == 260
