"""The contact window under concurrent writers on PostgreSQL: several writers (threads, each on its
own connection) invite overlapping customers at once, and nobody gets two invitations within the
window (SQLite serialises every write transaction with BEGIN IMMEDIATE; PostgreSQL needs the
invitations' advisory lock, :func:`clvlab.store.serialise`: without it this test finds customers
invited two and three times)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from tests.server.conftest import pg_store_url

WRITERS = 4
ROUNDS = 5


@pytest.mark.postgres
@pytest.mark.slow
def test_no_customer_is_invited_twice_in_the_window_by_concurrent_writers(pg_schema: str) -> None:
    from sqlalchemy import func, select

    from clvlab.store import AppStore, SurveyInvite, open_app_store
    from clvlab.surveys.invites import create_invites
    from clvlab.surveys.registry import create_survey

    barrier = threading.Barrier(WRITERS)

    def writer(store: AppStore, first: int) -> int:
        barrier.wait()
        created = 0
        for round_ in range(ROUNDS):  # each round: 40 customers, overlapping the other writers'
            ids = [f"c{i:04d}" for i in range(first + 10 * round_, first + 10 * round_ + 40)]
            batch = create_invites(store, "csat", pd.DataFrame({"customer_id": ids}), channel="sms",
                                   key=b"k" * 40, base_url="https://s.example.com/s/", min_days=30)
            created += len(batch.links)
        return created

    with open_app_store(pg_store_url(pg_schema)) as store:
        create_survey(store, "csat")
        with ThreadPoolExecutor(WRITERS) as pool:
            created = list(pool.map(writer, [store] * WRITERS, [5 * w for w in range(WRITERS)]))
        with store.session() as s:
            per_customer = dict(s.execute(select(SurveyInvite.customer_id, func.count())
                                          .group_by(SurveyInvite.customer_id)).all())
    # writer w covers c(5w) to c(5w + 10 * (ROUNDS - 1) + 39): together c0000-c0094, each invited once
    assert per_customer == {f"c{i:04d}": 1 for i in range(5 * (WRITERS - 1) + 10 * (ROUNDS - 1) + 40)}
    assert sum(created) == len(per_customer)
