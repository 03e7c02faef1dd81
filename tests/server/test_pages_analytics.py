"""The analytics pages and their API in process (TestClient) on a workspace the CLV run, the
economics tables and the demo's simulated experiment were written to: what admins and analysts see,
and that a store manager is refused the company-wide ones by page, CSV and API alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.conftest import PASSWORD, SECRET, seed_store

pytestmark = pytest.mark.slow  # the workspace takes a CLV run


@pytest.fixture(scope="module")
def client_as(analytics_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of TestClients logged in as a user of :func:`seed_store` or ``mgr01`` (store S01)."""
    from fastapi.testclient import TestClient

    from clvlab.server import create_app
    from clvlab.server.auth.accounts import Accounts
    from clvlab.settings import get_settings
    from clvlab.store import open_app_store

    url = seed_store(f"sqlite:///{tmp_path_factory.mktemp('analytics-app') / 'app.sqlite'}")
    with open_app_store(url) as store:
        Accounts(store).add_user("mgr01", role="store_manager", stores=["S01"], password=PASSWORD)
    app = create_app(get_settings(workspace=str(analytics_ws), app_store=url, secret_key=SECRET))

    def login(name: str) -> Any:
        client = TestClient(app)
        answer = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return client

    with TestClient(app):
        yield login


def _csv(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_models_page_and_api(client_as: Any) -> None:
    ana = client_as("ana")
    page = ana.get("/models")
    assert page.status_code == 200
    for chart in ("chart-model-totals", "chart-tracking", "chart-tracking-cumulative"):
        assert f'data-chart="{chart}"' in page.text
        assert f'aria-describedby="{chart}-table"' in page.text
    diag = ana.get("/api/v1/models/diagnostics").json()
    chosen = [m for m in diag["models"] if m["chosen"]]
    assert [m["model"] for m in chosen] == ["BetaGeo"]
    assert diag["run"]["settings"]["calibration_end"] == "1997-09-30"
    # the tracking plot's periods add up to the holdout totals of the comparison (its definition)
    assert sum(h["actual"] for h in diag["holdout"]) == pytest.approx(chosen[0]["actual_total"])
    assert sum(h["predicted"] for h in diag["holdout"]) == pytest.approx(chosen[0]["predicted_total"], rel=1e-6)
    rows = _csv(ana.get("/models", params={"csv": "chart-tracking"}))
    assert len(rows) == len(diag["holdout"])
    assert sum(_number(r["actual"]) for r in rows) == chosen[0]["actual_total"]
    assert {p["name"] for p in diag["params"] if p["model"] == "BetaGeo"} == {"r", "alpha", "a", "b"}
    zh = ana.get("/models", params={"lang": "zh"}).text
    assert "模型诊断" in zh
    assert "保留期跟踪" in zh


def test_store_manager_is_refused_company_wide_pages(client_as: Any) -> None:
    mgr = client_as("mgr01")
    for path in ("/models", "/models?csv=chart-tracking"):
        answer = mgr.get(path)
        assert answer.status_code == 403, path
        assert "text/html" in answer.headers["content-type"]
        assert "company-wide figures are shown to admins and analysts only" in answer.text
    for path in ("/api/v1/models/diagnostics",):
        answer = mgr.get(path)
        assert answer.status_code == 403, path
        assert answer.json()["status"] == 403
    nav = mgr.get("/overview").text
    assert 'href="/models"' not in nav
    assert 'href="/models"' in client_as("boss").get("/overview").text
