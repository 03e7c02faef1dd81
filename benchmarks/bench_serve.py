"""Survey submissions under load: ``clvlab serve --workers 4`` on SQLite and on PostgreSQL.

For each application store a fresh one is made (a SQLite file in a temporary folder; a dedicated
PostgreSQL database ``clvlab_bench_<random>`` on 127.0.0.1, dropped afterwards) with owners for four
stores and one personal link of ``nps-after-purchase`` per customer. ``clvlab serve --workers 4``
runs as its own process on a free port of 127.0.0.1; this process is the client (httpx, asyncio,
``CONCURRENCY`` requests in flight) and POSTs the answers to ``/api/v1/surveys/respond/{token}``:

- every link answered once (one in five a detractor with a comment, which opens a case; every
  third promoter leaves a comment, which the text rules read);
- one link in eight answered a second time *at the same moment* as its first answer (the request
  is queued right behind it), and one in eight a second time after all first answers: a resubmit
  must update the link's response, never add one.

A warm-up of ``WARM_UP`` other links goes first (each worker loads its text analysers once, ~3 s);
it is not timed, but verified like the rest. Afterwards the store is read: one response per
answered link (none lost, none duplicated), each response's ``revisions`` equal to the 2xx answers
its link got, exactly one ``201`` per link, and one case per detractor link. Bounded: at most
``DEADLINE`` seconds of load per store, 60 s per request; rate limits are raised for the run (every
request comes from 127.0.0.1).

``ours_s`` is the wall time of the timed submissions, ``theirs_s`` and ``ratio`` are empty (nothing
to compare with); the row also holds ``requests``, ``throughput_rps``, ``p50_s``, ``p95_s``,
``p99_s``, ``max_s``, ``responses``, ``revisions``, ``cases`` and ``errors``.
Run it alone: ``flock /work/bench.lock ./dev bench --only serve``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from benchmarks import CACHE

SECRET = "bench-serve-secret-0123456789abcdef"
WORKERS = 4
CONCURRENCY = 32
WARM_UP = 40
DEADLINE = 600.0
STORES = ("S1", "S2", "S3", "S4")
PG = "host=127.0.0.1 port=5432 user=postgres dbname=test"  # where the bench databases are made


@dataclass(frozen=True)
class Answer:
    """One planned submission: the link's customer and token, its NPS, an optional comment."""

    customer: str
    token: str
    nps: int
    comment: str | None

    def body(self) -> dict[str, Any]:
        answers: dict[str, Any] = {"nps": self.nps}
        if self.comment:
            answers["reason"] = self.comment
        return {"answers": answers}


def _workspace(folder: Path, customers: pd.DataFrame) -> Path:
    """A DuckDB workspace with the customers (home stores) and their CLV (case priority)."""
    import clvlab
    from clvlab.derived import write_derived

    path = folder / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_customers(customers)
        scores = customers[["customer_id"]].assign(
            frequency=2.0, recency=10.0, T=20.0, monetary_value=50.0, p_alive=0.8, expected_purchases=1.5,
            expected_spend=50.0, clv=np.linspace(10.0, 1000.0, len(customers)))
        write_derived(ws, "scores", scores, as_of="2026-11-30")
    return path


def _links(url: str, customers: pd.DataFrame) -> dict[str, str]:
    """The survey, the owners (O1-O4 for S1-S4) and one sms link per customer: ``{customer: token}``."""
    from clvlab.cases.owners import load_owners
    from clvlab.store import open_app_store
    from clvlab.surveys.invites import create_invites
    from clvlab.surveys.registry import create_survey

    with open_app_store(url) as store:
        create_survey(store, "nps-after-purchase")
        load_owners(store, pd.DataFrame({"owner_id": [f"O{i}" for i in range(1, 5)], "store_id": list(STORES)}))
        batch = create_invites(store, "nps-after-purchase", customers, channel="sms", key=SECRET.encode(),
                               base_url="http://127.0.0.1/s/", min_days=0)
    return {r.customer_id: r.link.rsplit("/", 1)[1] for r in batch.links.itertuples()}


def _plan(links: dict[str, str]) -> tuple[list[Answer], list[Answer]]:
    """(warm-up, timed) submissions; the timed list holds the racing and the later resubmits."""
    answers: list[Answer] = []
    racing: dict[str, Answer] = {}  # token -> the resubmit sent right behind the first answer
    later: list[Answer] = []
    for i, (customer, token) in enumerate(links.items()):
        detractor = i % 5 == 0
        comment = "排队太久，店员态度也不好" if detractor else ("很满意" if i % 3 == 0 else None)
        answers.append(Answer(customer, token, 3 if detractor else 9, comment))
        again = Answer(customer, token, 2 if detractor else 10, comment)
        if i % 8 == 1:
            racing[token] = again
        elif i % 8 == 2:
            later.append(again)
    warm, timed = answers[:WARM_UP], []
    for answer in answers[WARM_UP:]:
        timed.append(answer)
        if answer.token in racing:
            timed.append(racing.pop(answer.token))
    timed += later + list(racing.values())  # what is left of racing: warm-up links, answered already
    return warm, timed


async def _submit(base: str, plan: list[Answer], concurrency: int) -> list[tuple[Answer, int, float]]:
    """POST every answer, ``concurrency`` at a time, in order of the plan: (answer, status, seconds);
    status 0 for a transport error or timeout."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:

        async def one(answer: Answer) -> tuple[Answer, int, float]:
            async with gate:
                started = time.perf_counter()
                try:
                    reply = await client.post(f"/api/v1/surveys/respond/{answer.token}", json=answer.body())
                    status = reply.status_code
                except httpx.HTTPError:
                    status = 0
                return answer, status, time.perf_counter() - started

        tasks = [asyncio.ensure_future(one(a)) for a in plan]  # started in order: the gate keeps it
        return list(await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE))


@contextmanager
def _served(workspace: Path, url: str, folder: Path) -> Iterator[str]:
    """``clvlab serve --workers 4`` on a free port of 127.0.0.1 (the end-to-end tests' launcher);
    yields its base URL."""
    from tests.server.test_serve_e2e import Served

    env = {k: v for k, v in os.environ.items() if not k.startswith("CLVLAB_")}
    env.update(CLVLAB_SECRET_KEY=SECRET, CLVLAB_APP_STORE=url, CLVLAB_SURVEY_RATE_IP="1000000",
               CLVLAB_SURVEY_RATE_TOKEN="1000")
    server = Served(workspace, env, folder, workers=WORKERS, start_s=900)  # a busy machine starts slowly
    try:
        yield server.base
    finally:
        server.stop()


@contextmanager
def _pg_database() -> Iterator[str]:
    """A dedicated, empty PostgreSQL database for one run (dropped afterwards): its URL."""
    import psycopg

    name = f"clvlab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _verify(url: str, results: list[tuple[Answer, int, float]], links: dict[str, str]) -> dict[str, Any]:
    """What the store holds against what the server answered."""
    from sqlalchemy import func, select

    from clvlab.store import Case, SurveyInvite, SurveyResponse, open_app_store

    ok = Counter(a.token for a, status, _ in results if status in (200, 201))
    created = Counter(a.token for a, status, _ in results if status == 201)
    detractors = {a.token for a, _, _ in results if a.nps <= 6}
    by_invite = {token: int(token.split(".", 1)[0]) for token in links.values()}
    with open_app_store(url) as store, store.session() as s:
        rows = dict(s.execute(select(SurveyResponse.invite_id, SurveyResponse.revisions)).all())
        per_invite = s.execute(select(SurveyResponse.invite_id, func.count()).group_by(SurveyResponse.invite_id)
                               .having(func.count() > 1)).all()
        cases = s.scalar(select(func.count()).select_from(Case).where(Case.response_id.like("sv%"))) or 0
        invites = s.scalar(select(func.count()).select_from(SurveyInvite)) or 0
    answered = {by_invite[t] for t in ok}
    return {
        "links": invites, "responses": len(rows), "revisions": int(sum(rows.values())),
        "answers_2xx": int(sum(ok.values())), "duplicated": len(per_invite),
        "lost": sum(max(ok[t] - rows.get(by_invite[t], 0), 0) for t in ok) + len(answered - set(rows)),
        "mismatched_revisions": sum(rows.get(by_invite[t], 0) != n for t, n in ok.items()),
        "links_not_one_201": sum(created[t] != 1 for t in ok), "cases": int(cases),
        "detractor_links": len(detractors),
    }


def measure(backend: str, n_links: int) -> dict[str, Any]:
    """One run against a fresh store of ``backend`` (``sqlite`` or ``postgresql``): the result row."""
    customers = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in range(n_links)],
                              "store_id": [STORES[i % len(STORES)] for i in range(n_links)]})
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="serve-", dir=CACHE) as tmp:
        folder = Path(tmp)
        workspace = _workspace(folder, customers)
        stores = _pg_database() if backend == "postgresql" else _sqlite(folder)
        with stores as url:
            links = _links(url, customers)
            warm, timed = _plan(links)
            with _served(workspace, url, folder) as base:
                warm_results = asyncio.run(_submit(base, warm, 8))
                started = time.perf_counter()
                results = asyncio.run(_submit(base, timed, CONCURRENCY))
                wall = time.perf_counter() - started
            check = _verify(url, warm_results + results, links)
        log = [ln for ln in (folder / "serve.err").read_text().splitlines() if "Error" in ln or "error" in ln]
    seconds = np.array([t for _, status, t in results])
    statuses = Counter(status for _, status, _ in results + warm_results)
    errors = sum(n for status, n in statuses.items() if status not in (200, 201))
    p50, p95, p99 = (float(np.percentile(seconds, q)) for q in (50, 95, 99))
    label = "SQLite (WAL)" if backend == "sqlite" else "PostgreSQL 127.0.0.1"
    sound = (check["lost"] == 0 and check["duplicated"] == 0 and check["mismatched_revisions"] == 0
             and check["links_not_one_201"] == 0 and errors == 0 and check["responses"] == len(links)
             and check["cases"] == check["detractor_links"])
    notes = (f"{len(results)} timed POSTs ({len(warm)} warm-up first) over {len(links)} links, {CONCURRENCY} in "
             f"flight, {WORKERS} workers: {len(results) / wall:.0f} req/s, p50 {p50:.3f} s, p95 {p95:.3f} s, "
             f"p99 {p99:.3f} s; store: {check['responses']} responses for {len(links)} links, revisions "
             f"{check['revisions']} = 2xx answers {check['answers_2xx']}, lost {check['lost']}, duplicated "
             f"{check['duplicated']}, cases {check['cases']} for {check['detractor_links']} detractor links; "
             f"statuses {dict(sorted(statuses.items()))}; {'OK' if sound else 'CHECK FAILED'}")
    return {"benchmark": f"serve: survey answers, {label}, {WORKERS} workers", "ours_s": round(wall, 2),
            "theirs_s": "", "ratio": "", "notes": notes, "requests": len(results),
            "throughput_rps": round(len(results) / wall, 1), "p50_s": round(p50, 4), "p95_s": round(p95, 4),
            "p99_s": round(p99, 4), "max_s": round(float(seconds.max()), 4), "errors": errors, "sound": sound,
            **check, "server_errors": log[:20]}


@contextmanager
def _sqlite(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'shop-app.sqlite'}"


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per application store; raises when the store lost or duplicated an answer."""
    n_links = 200 if quick else 1000
    rows = [measure(backend, n_links) for backend in ("sqlite", "postgresql")]
    failed = [r["benchmark"] for r in rows if not r["sound"]]
    if failed:
        msg = f"answers lost, duplicated or refused: {failed}: " + "; ".join(r["notes"] for r in rows)
        raise RuntimeError(msg)
    return rows


if __name__ == "__main__":
    import json

    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    print(json.dumps(measure(backend, int(sys.argv[2]) if len(sys.argv) > 2 else 200), indent=2))
