"""A survey answered on a phone in headless Chromium (Debian's, never `playwright install`): the
zh page with scripts off and a WeChat user agent, every request outside the server refused; the
answer becomes a response and a case in the owner's inbox.  Screenshots: ``$CLVLAB_ARTEFACTS``
(default: the test's tmp folder)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.conftest import PASSWORD
from tests.server.test_surveys import make_links

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
             "Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560 "
             "WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64")


@pytest.fixture
def served(store_url: str, settings_for: Callable[..., Any]) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port (in a thread)."""
    import uvicorn

    from clvlab.server import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings_for(store_url)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.slow
def test_a_customer_answers_in_zh_on_a_phone(served: str, store_url: str, tmp_path: Path) -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    token = make_links(store_url, {"c03": "S1"})["c03"]
    shots = Path(os.environ.get("CLVLAB_ARTEFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                          is_mobile=True, has_touch=True, user_agent=WECHAT_UA,
                                          java_script_enabled=False, locale="zh-CN")

            def route(r: Any) -> None:
                if r.request.url.startswith(served):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.goto(f"{served}/s/{token}")
            assert page.title() == "购物体验调查"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360  # nothing wider than the phone: no sideways scrolling
            boxes = page.eval_on_selector_all(".scale span", "els => els.map(e => e.getBoundingClientRect().width)")
            assert len(boxes) == 11
            assert min(boxes) >= 40  # 0-10 tappable on a 360 px phone
            page.screenshot(path=str(shots / "survey-zh-phone.png"), full_page=True)
            page.click("text=提交")  # nothing chosen: the form again, the problem beside the question
            assert "请回答此题" in page.content()
            page.locator(".scale label", has_text="3").first.click()
            page.fill("textarea[name=reason]", "排队太久，店员态度一般")
            page.locator("label.opt", has_text="店员服务").click()
            page.screenshot(path=str(shots / "survey-zh-phone-filled.png"), full_page=True)
            page.click("text=提交")
            assert "感谢您的反馈" in page.content()
            page.screenshot(path=str(shots / "survey-zh-phone-thanks.png"), full_page=True)
        finally:
            browser.close()
    assert blocked == []
    with httpx.Client(base_url=served) as mgr:
        login = mgr.post("/api/v1/auth/login", json={"name": "mgr1", "password": PASSWORD})
        assert login.status_code == 200
        inbox = mgr.get("/api/v1/cases", params={"owner": "O1", "per_page": 200}).json()["items"]
    mine = [c for c in inbox if c["customer_id"] == "c03" and c["response_id"].startswith("sv")]
    assert len(mine) == 1
    assert mine[0]["score"] == 3
    assert "排队太久" in mine[0]["comment"]
