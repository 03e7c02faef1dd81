"""Fixtures of the server tests: one small served workspace (two stores), an app store on SQLite and
on PostgreSQL with users of every role and cases in both stores, and logged-in test clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

#: every test user's password (long enough for the rules)
PASSWORD = "correct horse battery"
SECRET = "k" * 40
USERS = {"boss": ("admin", []), "ana": ("analyst", []), "mgr1": ("store_manager", ["S1"]),
         "mgr2": ("store_manager", ["S2"])}


def pg_store_url(schema: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with its smallest cost: the default (RFC 9106 low-memory, about 0.4 s per hash on the
    CI machine) is what the product uses and test_auth checks; here it would dominate the run."""
    from argon2 import PasswordHasher

    from clvlab.server.auth import accounts

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(autouse=True)
def _settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLVLAB_APP_STORE", "CLVLAB_WORKSPACE", "CLVLAB_TIMEZONE", "CLVLAB_CONFIG", "CLVLAB_SMTP",
                 "CLVLAB_SECRET_KEY", "CLVLAB_DEV", "CLVLAB_LOGIN_MAX_FAILURES", "CLVLAB_SESSION_HOURS"):
        monkeypatch.delenv(name, raising=False)


def _customers() -> pd.DataFrame:
    ids = [f"c{i:02d}" for i in range(1, 21)]
    return pd.DataFrame({"customer_id": ids, "store_id": ["S1"] * 10 + ["S2"] * 10})


def _feedback() -> pd.DataFrame:
    rows = []
    for i in range(1, 21):
        store = "S1" if i <= 10 else "S2"
        for k, score in enumerate((10 if i % 3 else 2, 9 if store == "S1" else 3)):
            rows.append({"response_id": f"r{i:02d}{k}", "responded_at": f"2025-02-{1 + k + i % 20:02d} 10:00:00",
                         "metric": "nps", "score": score, "customer_id": f"c{i:02d}", "store_id": store,
                         "comment": f"comment {i}-{k}: " + ("friendly staff, great" if store == "S1" else "too expensive, bad")})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def served_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB workspace with customers in S1 (c01-c10) and S2 (c11-c20), feedback, scores,
    stages and health, and its serving snapshot."""
    import clvlab
    from clvlab.data.snapshot import publish_snapshot
    from clvlab.derived import write_derived

    path = tmp_path_factory.mktemp("served") / "shop.duckdb"
    customers = _customers()
    n = len(customers)
    with clvlab.connect(path) as ws:
        ws.load_customers(customers)
        ws.load_feedback(_feedback())
        scores = customers[["customer_id"]].assign(
            frequency=2.0, recency=10.0, T=20.0, monetary_value=50.0, p_alive=0.8, expected_purchases=1.5,
            expected_spend=50.0, clv=[float(100 + i) for i in range(n)])
        write_derived(ws, "scores", scores, as_of="2025-03-01")
        write_derived(ws, "stages", customers[["customer_id"]].assign(stage="active", n_purchases=3),
                      as_of="2025-03-01")
        write_derived(ws, "health", customers[["customer_id"]].assign(health=70.0, band="green"),
                      as_of="2025-03-01")
        publish_snapshot(ws)
    return path


def _detractors() -> pd.DataFrame:
    fb = _feedback()
    return fb[fb.score <= 6].assign(reasons="nps_detractor", responded_at=lambda d: pd.to_datetime(d.responded_at))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An app store with users of every role, owners O1 (S1) and O2 (S2), and cases in both stores."""
    url = (f"sqlite:///{tmp_path / 'app.sqlite'}" if request.param == "sqlite"
           else pg_store_url(request.getfixturevalue("pg_schema")))
    return seed_store(url)


def seed_store(url: str) -> str:
    """Users of every role, owners O1 (S1) and O2 (S2), and cases in both stores, in the app store ``url``."""
    from clvlab.cases.owners import load_owners
    from clvlab.cases.service import CaseService
    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import open_app_store

    with open_app_store(url) as store:
        accounts = Accounts(store)
        for name, (role, stores) in USERS.items():
            accounts.add_user(name, role=role, stores=stores, password=PASSWORD)
        load_owners(store, pd.DataFrame({"owner_id": ["O1", "O2"], "store_id": ["S1", "S2"]}))
        CaseService(store, survey_base_url="https://s.example.com/s/").open_cases(_detractors())
    return url


@pytest.fixture
def settings_for(served_workspace: Path) -> Callable[..., Any]:
    from clvlab.settings import get_settings

    def make(url: str, **overrides: Any) -> Any:
        return get_settings(**{"workspace": str(served_workspace), "app_store": url, "secret_key": SECRET, **overrides})

    return make


@pytest.fixture
def app(store_url: str, settings_for: Callable[..., Any]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from clvlab.server import create_app

    application = create_app(settings_for(store_url))
    with TestClient(application):  # runs the lifespan (closes the store afterwards)
        yield application


@pytest.fixture
def client_for(app: Any) -> Callable[[str], Any]:
    """A TestClient logged in (session cookie, CSRF header set) as one of :data:`USERS`."""
    from fastapi.testclient import TestClient

    def login(name: str) -> Any:
        client = TestClient(app)
        answer = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    return login


@pytest.fixture
def anonymous(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app)


#: prospects of the demo in :func:`analytics_workspace`
PROSPECTS = 2000


def analytics_workspace(path: Path) -> Path:
    """The CDNOW sample (2,357 customers) and the demo's first 2,000 prospects (who never buy) with
    the demo's channels, spend, feedback and events: the CLV run (BG/NBD only) with its diagnostics, the cohorts and economics tables, the demo's
    simulated experiment, and the serving snapshot; the pieces of ``clvlab run`` the analytics pages
    read, without churn and lead scores (which they do not show)."""
    import clvlab
    from clvlab.data.snapshot import publish_snapshot
    from clvlab.datasets import load_cdnow
    from clvlab.datasets import path as dataset
    from clvlab.derived import write_derived
    from clvlab.experiments.demo import demo_experiment
    from clvlab.pipeline import run_clv
    from clvlab.value.diagnostics import write_run_diagnostics
    from clvlab.value.economics_tables import write_economics_tables

    tx = load_cdnow("sample")
    prospects = pd.read_csv(dataset("demo_prospects"), dtype=str).head(PROSPECTS)
    ids = set(tx["customer_id"]) | set(prospects["customer_id"])
    events = pd.read_csv(dataset("demo_events"), dtype=str, keep_default_na=False)
    with clvlab.connect(path) as ws:
        ws.load_transactions(tx)
        ws.load_customers(dataset("demo_customers"))  # every master customer: only the sample's buy here
        ws.load_customers(prospects)
        ws.load_feedback(dataset("demo_feedback"))
        ws.load("marketing_spend", dataset("demo_marketing_spend"))
        ws.load("events", events[events["customer_id"].isin(ids)])
        run = run_clv(ws, calibration_end="1997-09-30", observation_end="1998-06-30", candidates=("BetaGeo",))
        run_id = write_derived(ws, "scores", run.scores, as_of="1998-06-30",
                               values={"time_unit": "W", "horizon_days": 365.0, "model": run.best})
        write_run_diagnostics(ws, run, run_id=run_id)
        write_economics_tables(ws, run_id=run_id, as_of="1998-06-30")
        demo_experiment(ws)
        publish_snapshot(ws)
    return path


@pytest.fixture(scope="session")
def analytics_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`analytics_workspace` built once per test session."""
    return analytics_workspace(tmp_path_factory.mktemp("analytics") / "shop.duckdb")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium (``executable_path``; never ``playwright install``)."""
    from playwright.sync_api import sync_playwright
    from tests.report.test_report_browser import ARGS, CHROMIUM

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
