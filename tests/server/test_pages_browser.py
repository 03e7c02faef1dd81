"""The pages in a real browser: Debian's headless Chromium (never `playwright install`) against a
real `clvlab serve` process on a free port, every request off this server refused. An admin logs in,
sees the overview's charts drawn, opens a customer and resolves a case in the inbox; a store manager
tries another store by every route and gets 403/404; the Chinese pages show Chinese.
Screenshots are kept under the test's tmp_path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.server.conftest import PASSWORD, _customers, seed_store
from tests.server.test_serve_e2e import Served, _env

#: per chart container: its canvas's size and how many of its pixels are painted
PAINTED = """() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
  const c = el.querySelector('canvas');
  if (!c) { return {id: el.id, width: 0, height: 0, painted: 0}; }
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { painted++; } }
  return {id: el.id, width: c.width, height: c.height, painted: painted};
})"""


def _workspace(path: Path) -> None:
    """Customers c01-c10 in S1 and c11-c20 in S2 with purchases, NPS answers over four months,
    scores, stages, health and churn, and its serving snapshot."""
    import clvlab
    from clvlab.data.snapshot import publish_snapshot
    from clvlab.derived import write_derived

    customers = _customers()
    ids = customers["customer_id"].tolist()
    store = dict(zip(ids, customers["store_id"], strict=True))
    tx = pd.DataFrame([{"order_id": f"o{i}-{k}", "customer_id": c, "store_id": store[c],
                        "ordered_at": f"2024-{1 + (i + 3 * k) % 12:02d}-{1 + k:02d}", "amount": 20.0 + i + 5 * k}
                       for i, c in enumerate(ids) for k in range(1 + i % 4)])
    words = ["slow delivery", "friendly staff", "price too high", "great quality", "slow checkout"]
    fb = pd.DataFrame([{"response_id": f"r{i}-{m}", "customer_id": c, "store_id": store[c], "metric": "nps",
                        "responded_at": f"2024-{9 + m:02d}-{1 + i:02d} 10:00:00",
                        "score": (i * 7 + m * 3) % 11, "comment": words[(i + m) % 5]}
                       for i, c in enumerate(ids) for m in range(4)])
    n = len(ids)
    with clvlab.connect(path) as ws:
        ws.load_customers(customers)
        ws.load_transactions(tx)
        ws.load_feedback(fb)
        scores = customers[["customer_id"]].assign(
            frequency=2.0, recency=10.0, T=20.0, monetary_value=50.0, p_alive=[0.3 + 0.03 * i for i in range(n)],
            expected_purchases=1.5, expected_spend=50.0, clv=[float(40 + 13 * i) for i in range(n)],
            segment=["champions" if i % 3 == 0 else "at risk" for i in range(n)])
        write_derived(ws, "scores", scores, as_of="2024-12-31")
        stages = ["growth", "mature", "declining", "churned", "onboarding"]
        write_derived(ws, "stages", customers[["customer_id"]].assign(
            stage=[stages[i % 5] for i in range(n)], n_purchases=3), as_of="2024-12-31")
        write_derived(ws, "health", customers[["customer_id"]].assign(
            health=[20.0 + 3 * i for i in range(n)], band=["red", "yellow", "green", "green"][:1] * 0
            + [("red", "yellow", "green")[i % 3] for i in range(n)]), as_of="2024-12-31")
        p = [0.1 + 0.04 * i for i in range(n)]
        clv = scores["clv"].tolist()
        write_derived(ws, "churn", customers[["customer_id"]].assign(
            p_churn=p, clv=clv, clv_at_risk=[a * b for a, b in zip(p, clv, strict=True)], rank=list(range(n, 0, -1)),
            reason_1="long gap since the last purchase", reason_2=None, reason_3=None), as_of="2024-12-31")
        publish_snapshot(ws)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("pages")
    ws = folder / "shop.duckdb"
    _workspace(ws)
    url = seed_store(f"sqlite:///{folder / 'app.sqlite'}")
    served = Served(ws, _env(url), folder, workers=1, first_start=False)
    try:
        yield served
    finally:
        log = served.stop()
        assert PASSWORD not in log


def _context(browser: Any, server: Served, seen: dict[str, list[str]], width: int = 1366) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=server.base)

    def route(r: Any) -> None:
        if r.request.url.startswith(server.base):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context


def _watched(context: Any, seen: dict[str, list[str]]) -> Any:
    """A new page of ``context`` whose script errors and console errors go to ``seen["errors"]``."""
    page = context.new_page()
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("console", lambda msg: seen["errors"].append(msg.text) if msg.type == "error" else None)
    return page


def _login(page: Any, name: str) -> None:
    page.goto("/overview")
    assert "/login" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/overview")


def _charts_drawn(page: Any) -> list[dict[str, Any]]:
    page.wait_for_function("document.querySelectorAll('[data-chart] canvas').length === "
                           "document.querySelectorAll('[data-chart]').length")
    charts: list[dict[str, Any]] = page.evaluate(PAINTED)
    for chart in charts:
        assert min(chart["width"], chart["height"]) > 200, chart
        assert chart["painted"] > 2000, chart  # bars, points, axes and labels: not an empty canvas
    return charts


@pytest.mark.slow
def test_admin_overview_customer_and_case(browser: Any, server: Served, tmp_path: Path) -> None:
    seen: dict[str, list[str]] = {"blocked": [], "errors": []}
    context = _context(browser, server, seen)
    page = _watched(context, seen)
    _login(page, "boss")
    charts = _charts_drawn(page)
    assert {c["id"] for c in charts} == {"chart-clv-hist", "chart-clv-deciles", "chart-nps-month", "chart-at-risk"}
    assert page.inner_text("[data-user]").startswith("boss · admin · stores: all stores")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    for path, expected in (("/voc", 3), ("/lifecycle", 3), ("/customers/c20", 1)):
        page.goto(path)
        assert len(_charts_drawn(page)) >= expected, path
        page.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '-')}.png"), full_page=True)

    page.goto("/customers?sort=clv")
    page.screenshot(path=str(tmp_path / "customers.png"), full_page=True)
    page.click("text=c20")
    page.wait_for_url("**/customers/c20")
    assert "Customer c20" in page.inner_text("h1")
    assert page.locator("#chart-timeline-table tbody tr").count() >= 1

    page.goto("/cases")
    page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)
    first = page.locator("tr[data-case]").first
    case_id = first.get_attribute("data-case")
    first.locator("input[name=root_cause]").fill("delivery")
    first.locator("form[action$='/resolve'] button").click()
    page.wait_for_url("**/cases?done=*")
    assert f"Case {case_id}: Resolve done." in page.inner_text("p.flash")
    assert page.locator(f"#case-{case_id}").count() == 0  # no longer open
    page.goto("/cases?state=resolved")
    assert "resolved (delivery)" in page.inner_text(f"#case-{case_id}")
    page.screenshot(path=str(tmp_path / "cases.png"), full_page=True)
    context.close()
    assert seen == {"blocked": [], "errors": []}


@pytest.mark.slow
def test_store_manager_cannot_read_another_store(browser: Any, server: Served, tmp_path: Path) -> None:
    seen: dict[str, list[str]] = {"blocked": [], "errors": []}
    context = _context(browser, server, seen)
    page = context.new_page()
    _login(page, "mgr1")
    assert page.inner_text("[data-user]").startswith("mgr1 · store manager · stores: S1")
    _charts_drawn(page)
    page.screenshot(path=str(tmp_path / "manager-overview.png"), full_page=True)
    boss = context.request  # the manager's cookies; the admin reads the other store's case ids by API
    admin = server.base
    import httpx

    with httpx.Client(base_url=admin) as api:
        api.post("/api/v1/auth/login", json={"name": "boss", "password": PASSWORD})
        other = [c["id"] for c in api.get("/api/v1/cases", params={"store": "S2"}).json()["items"]]
    assert other
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "clvlab_csrf")
    denied = {
        "/customers/c15": 404, "/customers/c15?csv=feedback-1": 404, "/customers?store=S2": 403,
        "/customers?store=S2&csv=customers": 403, "/cases?store=S2": 403, "/cases?store=S2&csv=cases": 403,
        f"/api/v1/cases/{other[0]}": 404, "/api/v1/cases/export.csv?store=S2": 403, "/api/v1/customers/c15": 404,
        "/api/v1/voc/nps?store=S2": 403, "/api/v1/value/clv?store=S2": 403,
    }
    for path, status in denied.items():
        assert boss.get(path).status == status, path
    for action in ("start", "resolve", "assign"):
        answer = boss.post(f"/cases/{other[0]}/{action}", form={"csrf_token": csrf, "root_cause": "x", "owner_id": "O1"})
        assert answer.status == 404, action
    page.goto("/customers/c15")
    assert "no customer 'c15'" in page.inner_text("p.error")
    page.screenshot(path=str(tmp_path / "manager-404.png"), full_page=True)
    for path in ("/overview", "/customers", "/cases?state=all", "/voc", "/lifecycle"):
        page.goto(path)
        assert not re.search(r"\bc1[1-9]\b|\bc20\b|\bS2\b", page.inner_text("main")), path
    context.close()
    assert seen["blocked"] == []


@pytest.mark.slow
def test_chinese_pages_show_chinese(browser: Any, server: Served, tmp_path: Path) -> None:
    seen: dict[str, list[str]] = {"blocked": [], "errors": []}
    context = _context(browser, server, seen)
    page = context.new_page()
    page.goto("/login?lang=zh")
    assert page.inner_text("h1") == "登录 clvlab"
    page.fill("#name", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/overview")
    assert page.get_attribute("html", "lang") == "zh-CN"
    _charts_drawn(page)
    headings = page.eval_on_selector_all("h1, h2", "els => els.map(e => e.textContent)")
    assert all(re.search(r"[\u4e00-\u9fff]", h) for h in headings), headings
    assert "总览" in headings
    assert "CLV 分布" in headings
    page.screenshot(path=str(tmp_path / "overview-zh.png"), full_page=True)
    page.goto("/cases")
    assert "工单" in page.inner_text("h1")
    page.screenshot(path=str(tmp_path / "cases-zh.png"), full_page=True)
    context.close()
    assert seen["blocked"] == []
