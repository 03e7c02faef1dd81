"""The analytics pages in a real browser: Debian's headless Chromium against a real `clvlab serve`
on the workspace of :func:`tests.server.conftest.analytics_workspace`, every request off this server
refused. An analyst logs in, each page's charts are drawn (canvas, animation off) and a screenshot
is kept under the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.conftest import seed_store
from tests.server.test_pages_browser import _charts_drawn, _context, _login, _watched
from tests.server.test_serve_e2e import Served, _env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(analytics_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("analytics-pages")
    served = Served(analytics_ws, _env(seed_store(f"sqlite:///{folder / 'app.sqlite'}")), folder, workers=1,
                    first_start=False)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def page(browser: Any, server: Served) -> Iterator[Any]:
    """A page of an analyst's logged-in browser; no request left this server and no script failed."""
    seen: dict[str, list[str]] = {"blocked": [], "errors": []}
    context = _context(browser, server, seen)
    tab = _watched(context, seen)
    _login(tab, "ana")
    yield tab
    context.close()
    assert seen == {"blocked": [], "errors": []}


#: ids of the tables that scroll sideways (wider than their box) at the page's width
SIDEWAYS = """() => [...document.querySelectorAll('.tablewrap')]
    .filter(w => w.scrollWidth > w.clientWidth + 1).map(w => (w.closest('[id]') || {}).id || '?')"""


def _shows(page: Any, path: str, shot: Path) -> set[str]:
    page.goto(path)
    drawn = {c["id"] for c in _charts_drawn(page)}
    page.screenshot(path=str(shot), full_page=True)
    assert page.evaluate(SIDEWAYS) == [], path  # wide tables go under their chart, full width
    return drawn


def test_models_page(page: Any, tmp_path: Path) -> None:
    drawn = _shows(page, "/models", tmp_path / "models.png")
    assert drawn == {"chart-model-totals", "chart-tracking", "chart-tracking-cumulative"}
    assert page.locator("#chart-tracking-table tbody tr").count() == 39  # weeks 40-78, the holdout of the papers


def test_economics_page(page: Any, tmp_path: Path) -> None:
    assert _shows(page, "/economics", tmp_path / "economics.png") == {"chart-ltv-cac", "chart-cohorts"}
    assert page.locator("#chart-ltv-cac-table tbody tr").count() == 4  # the demo's four channels
    assert page.locator("#chart-cohorts-table tbody tr").count() == 3  # CDNOW: first purchases in 1997 Q1


def test_experiment_page(page: Any, tmp_path: Path) -> None:
    page.goto("/experiments")
    page.screenshot(path=str(tmp_path / "experiments.png"), full_page=True)
    page.click("text=demo-winback-simulated")
    page.wait_for_url("**/experiments/demo-winback-simulated")
    assert {c["id"] for c in _charts_drawn(page)} == {"chart-effects"}
    page.screenshot(path=str(tmp_path / "experiment.png"), full_page=True)
    assert page.locator("#chart-effects-table tbody tr").count() == 4
    assert "no sample ratio mismatch" in page.inner_text("#design")
    assert page.evaluate(SIDEWAYS) == []


def test_journey_page(page: Any, tmp_path: Path) -> None:
    drawn = _shows(page, "/journey", tmp_path / "journey.png")
    assert drawn == {"chart-touchpoints", "chart-touchpoint-nps", "chart-funnel"}
    assert page.locator("#chart-funnel-table tbody tr").count() == 5
