"""Fixtures of the closed-loop tests: a real app store on SQLite (tmp file) and on PostgreSQL (own schema)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from clvlab.store import AppStore, open_app_store


class Clock:
    """A settable clock (aware UTC) so SLA tests do not depend on the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def pg_store_url(schema: str) -> str:
    """URL of the test PostgreSQL database with ``schema`` first on the search path."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


@pytest.fixture(autouse=True)
def _settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from default settings plus a public URL for re-survey links."""
    for name in ("CLVLAB_APP_STORE", "CLVLAB_WORKSPACE", "CLVLAB_TIMEZONE", "CLVLAB_CONFIG", "CLVLAB_SMTP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLVLAB_PUBLIC_URL", "https://survey.example.com")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty app store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.sqlite'}"
    else:
        yield pg_store_url(request.getfixturevalue("pg_schema"))


@pytest.fixture
def store(store_url: str) -> Iterator[AppStore]:
    with open_app_store(store_url) as opened:
        yield opened


@pytest.fixture
def owners_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "owner_id": ["store-1", "store-2", "prod-owner", "cx-lead"],
        "name": ["Ann", "Bo", "Cy", "Dee"],
        "email": ["ann@example.com", "bo@example.com", None, "dee@example.com"],
        "webhook": [None, None, None, None],
        "store_id": ["S1", "S2", None, None],
        "product_id": [None, None, "P9", None],
        "default": ["", "", "", "yes"],
    })


@pytest.fixture
def detractors() -> pd.DataFrame:
    """Four alerting responses: two customers with CLV, one unknown customer, one product-only."""
    return pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4"],
        "responded_at": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-03-02", "2025-03-02"]),
        "metric": ["nps", "nps", "csat", "nps"],
        "score": [2.0, 6.0, 1.0, 0.0],
        "customer_id": ["c10", "c05", None, "c09"],
        "comment": ["late again", None, "rude staff", "broken"],
        "store_id": ["S1", "S2", "S7", None],
        "product_id": [None, None, None, "P9"],
        "reasons": ["nps_detractor", "nps_detractor", "csat_low", "nps_detractor"],
    })


@pytest.fixture
def clv() -> pd.Series:
    """CLV of ten customers c01..c10: c10 is the top decile, c08-c09 the next 20%."""
    return pd.Series([float(i) for i in range(1, 11)], index=[f"c{i:02d}" for i in range(1, 11)])
