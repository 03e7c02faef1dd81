"""The report in a real browser: Debian's headless Chromium (installed by `./dev test`; never
`playwright install`) opens the en and zh pages from disk, with every network request refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import clvlab

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL = ("file://", "data:", "about:")

#: per chart container: the drawn element, its size and how many shapes it holds
MEASURE = """() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
  const g = el.querySelector('svg, canvas');
  const r = g ? g.getBoundingClientRect() : {width: 0, height: 0};
  return {id: el.id, width: r.width, height: r.height,
          shapes: g ? g.querySelectorAll('path, rect, text').length : 0};
})"""


def _open(browser: Any, page_path: Path, shot: Path) -> dict[str, Any]:
    """Load the page with every request outside the file refused; what happened, and a screenshot."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen: dict[str, list[str]] = {"requests": [], "blocked": [], "console": [], "errors": []}

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(LOCAL):
            r.continue_()
        else:
            seen["blocked"].append(url)
            r.abort()

    context.route("**/*", route)
    page.on("request", lambda req: seen["requests"].append(req.url))
    page.on("console", lambda msg: seen["console"].append(f"{msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('[data-chart] svg').length === "
                           "document.querySelectorAll('[data-chart]').length")
    result = {**seen, "charts": page.evaluate(MEASURE),
              "headings": page.eval_on_selector_all("h1, h2", "els => els.map(e => e.textContent)"),
              "lang": page.get_attribute("html", "lang")}
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    return result


@pytest.mark.slow
def test_report_renders_in_chromium_without_network(demo: tuple[Any, Any], demo_has_churn: bool,
                                                    tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ws, store = demo
    pages = {lang: clvlab.write_report(ws, tmp_path / f"report-{lang}.html", lang, currency="USD", app_store=store)
             for lang in ("en", "zh")}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            seen = {lang: _open(browser, path, tmp_path / f"report-{lang}.png") for lang, path in pages.items()}
        finally:
            browser.close()
    for lang, got in seen.items():
        assert got["errors"] == [], lang
        assert got["console"] == [], lang
        assert got["blocked"] == [], lang
        assert [u for u in got["requests"] if not u.startswith(LOCAL)] == [], lang
        assert len(got["charts"]) == 12 + demo_has_churn, lang  # the watchlist's once the run writes churn
        for chart in got["charts"]:
            assert min(chart["width"], chart["height"]) > 200, (lang, chart)
            assert chart["shapes"] > 10, (lang, chart)
        assert (tmp_path / f"report-{lang}.png").stat().st_size > 50_000
    assert seen["en"]["lang"] == "en"
    assert seen["zh"]["lang"] == "zh-CN"
    assert "Customer value report" in seen["en"]["headings"]
    chinese = [h for h in seen["zh"]["headings"] if re.search(r"[\u4e00-\u9fff]", h)]
    assert len(chinese) == len(seen["zh"]["headings"]) == 11  # the title and every section
    assert "客户价值报告" in chinese
    assert any("生命周期" in h for h in chinese)
