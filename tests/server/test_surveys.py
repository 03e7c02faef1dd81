"""Survey links answered through the public JSON endpoint and page, on SQLite and PostgreSQL:
one row per link, cases for detractors in the owner's inbox, 4xx for bad links, rate limits,
signed webhooks a real receiver verifies, and the admin API."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pandas as pd
import pytest
from tests.server.conftest import SECRET


def make_links(url: str, customers: dict[str, str], *, survey: str = "nps-after-purchase", **options: Any) -> dict[str, str]:
    """Invitations (sms) for ``{customer: store}``; returns ``{customer: token}``."""
    from clvlab.store import open_app_store
    from clvlab.surveys.invites import create_invites
    from clvlab.surveys.registry import create_survey

    with open_app_store(url) as store:
        create_survey(store, survey)
        frame = pd.DataFrame({"customer_id": list(customers), "store_id": list(customers.values())})
        batch = create_invites(store, survey, frame, channel="sms", key=SECRET.encode(),
                               base_url="https://s.example.com/s/", hidden={"touchpoint": "checkout"}, **options)
    return {r.customer_id: r.link.rsplit("/", 1)[1] for r in batch.links.itertuples()}


@pytest.fixture
def links(store_url: str) -> dict[str, str]:
    return make_links(store_url, {"c01": "S1", "c02": "S1", "c11": "S2"})


def _count(url: str, table: Any) -> int:
    from sqlalchemy import func, select

    from clvlab.store import open_app_store

    with open_app_store(url) as store, store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_a_detractor_opens_a_case_in_the_owners_inbox(app: Any, anonymous: Any, links: dict[str, str],
                                                       client_for: Callable[[str], Any]) -> None:
    answer = anonymous.post(f"/api/v1/surveys/respond/{links['c01']}",
                            json={"answers": {"nps": 2, "reason": "排队太久", "improve": ["service"]}})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["created"]
    assert len(body["cases"]) == 1
    case_id = body["cases"][0]
    mgr1 = client_for("mgr1")
    case = mgr1.get(f"/api/v1/cases/{case_id}").json()
    assert case["owner_id"] == "O1"
    assert case["store_id"] == "S1"
    assert case["score"] == 2
    assert case["response_id"] == f"sv{body['response_id']}-nps"
    assert "排队太久" in case["comment"]
    inbox = mgr1.get("/api/v1/cases", params={"owner": "O1", "per_page": 200}).json()["items"]
    assert case_id in [c["id"] for c in inbox]
    assert client_for("mgr2").get(f"/api/v1/cases/{case_id}").status_code == 404
    # a promoter opens nothing
    assert anonymous.post(f"/api/v1/surveys/respond/{links['c02']}", json={"answers": {"nps": 10}}).json()["cases"] == []


def test_a_resubmit_updates_the_response_never_duplicates(app: Any, anonymous: Any, links: dict[str, str],
                                                          store_url: str, client_for: Callable[[str], Any]) -> None:
    from clvlab.store import SurveyResponse

    url = f"/api/v1/surveys/respond/{links['c11']}"
    first = anonymous.post(url, json={"answers": {"nps": 9}})
    again = anonymous.post(url, json={"answers": {"nps": 7, "reason": "ok"}, "language": "en"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["response_id"] == again.json()["response_id"]
    assert again.json()["revision"] == 2
    assert _count(store_url, SurveyResponse) == 1
    form = anonymous.get(url).json()
    assert form["answers"] == {"nps": 7, "reason": "ok"}
    assert form["survey"]["language"] == "zh"
    listed = client_for("ana").get("/api/v1/surveys/nps-after-purchase/responses").json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["hidden"] == {"store_id": "S2", "touchpoint": "checkout"}
    assert item["language"] == "en"
    assert client_for("mgr1").get("/api/v1/surveys/nps-after-purchase/responses").json()["total"] == 0  # S2's


@pytest.mark.parametrize("via", ["session", "token"])
def test_a_store_manager_sees_their_stores_responses_only(app: Any, anonymous: Any, links: dict[str, str],
                                                          store_url: str, client_for: Callable[[str], Any],
                                                          via: str) -> None:
    import csv
    import io

    from fastapi.testclient import TestClient

    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import open_app_store

    for customer, score in (("c01", 9), ("c02", 3), ("c11", 10)):
        answered = anonymous.post(f"/api/v1/surveys/respond/{links[customer]}",
                                  json={"answers": {"nps": score, "reason": f"said {customer}"}})
        assert answered.status_code == 201, answered.text
    if via == "session":
        mgr = client_for("mgr1")
    else:
        with open_app_store(store_url) as store:
            _, token = Accounts(store).create_token("mgr1")
        mgr = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    api = "/api/v1/surveys/nps-after-purchase/responses"
    mine = mgr.get(api).json()
    assert mine["total"] == 2
    assert {(r["customer_id"], r["store_id"]) for r in mine["items"]} == {("c01", "S1"), ("c02", "S1")}
    assert mgr.get(api, params={"per_page": 1, "page": 2}).json()["items"][0]["customer_id"] == "c01"
    exported = mgr.get(f"{api}/export.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["customer_id"] for r in rows) == ["c01", "c02"]
    assert "said c11" not in exported.text
    for path in (f"{api}?store=S2", f"{api}?store=S1&store=S2", f"{api}/export.csv?store=S2"):
        refused = mgr.get(path)
        assert refused.status_code == 403, path
        assert refused.json()["status"] == 403
    everyone = client_for("ana").get(api).json()
    assert everyone["total"] == 3
    assert [r["customer_id"] for r in client_for("mgr2").get(api).json()["items"]] == ["c11"]
    audit = client_for("boss").get("/api/v1/audit").json()
    assert any(e["action"] == "export" and e["actor"] == "mgr1" and e["target"] == "responses-nps-after-purchase.csv"
               for e in audit)
    if via == "token":
        return
    page = mgr.get("/responses")
    assert page.status_code == 200
    assert "said c02" in page.text
    assert not re.search(r"\bc11\b", page.text)  # the id as a word: a CSRF token's hex may hold "c11"
    assert "said c11" not in page.text
    listed = list(csv.DictReader(io.StringIO(mgr.get("/responses", params={"csv": "responses-1"}).text)))
    assert sorted(r["customer"] for r in listed) == ["c01", "c02"]
    for path in ("/responses?store=S2", "/responses?store=S2&csv=responses-1"):
        assert mgr.get(path).status_code == 403, path
    assert "said c11" in client_for("ana").get("/responses", params={"survey": "nps-after-purchase"}).text


def test_two_submits_of_one_link_at_once_give_one_row(store_url: str, links: dict[str, str]) -> None:
    from clvlab.store import SurveyResponse, open_app_store
    from clvlab.surveys.responses import Collector

    barrier = threading.Barrier(4)
    results: list[Any] = []
    errors: list[BaseException] = []
    with open_app_store(store_url) as store:
        collector = Collector(store, SECRET.encode())

        def answer(score: int) -> None:
            barrier.wait()
            try:
                results.append(collector.submit(links["c02"], {"nps": score}))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=answer, args=(s,)) for s in (3, 5, 8, 9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len({r.response_id for r in results}) == 1
    assert sorted(r.revision for r in results) == [1, 2, 3, 4]
    assert sum(r.created for r in results) == 1
    assert _count(store_url, SurveyResponse) == 1


def test_bad_links_get_a_clear_4xx(app: Any, anonymous: Any, store_url: str, links: dict[str, str]) -> None:
    from clvlab.store import utcnow
    from clvlab.surveys.tokens import sign_token

    token = links["c01"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_id = f"{int(token.split('.')[0]) + 1}.{token.split('.', 1)[1]}"
    expired = make_links(store_url, {"c05": "S1"}, now=utcnow() - timedelta(days=20))["c05"]
    unknown = sign_token(SECRET.encode(), 999_999, expires=utcnow() + timedelta(days=1))
    for bad, status in ((tampered, 403), (other_id, 403), ("nonsense", 404), ("1.x", 403), (expired, 410), (unknown, 404)):
        page = anonymous.get(f"/s/{bad}")
        assert page.status_code == status, (bad, page.text)
        assert page.headers["content-type"].startswith("text/html")
        assert "<script" not in page.text
        if bad not in {"nonsense", "1.x"}:  # the API's path pattern refuses them before (422)
            api = anonymous.post(f"/api/v1/surveys/respond/{bad}", json={"answers": {"nps": 3}})
            assert api.status_code == status, api.text
            assert api.json()["ok"] is False
    assert "已过期" in anonymous.get(f"/s/{expired}").text
    assert "altered" in anonymous.get(f"/s/{tampered}?lang=en").text


def test_invalid_answers_are_422_located(app: Any, anonymous: Any, links: dict[str, str]) -> None:
    answer = anonymous.post(f"/api/v1/surveys/respond/{links['c01']}",
                            json={"answers": {"nps": 11, "improve": ["a", "b", "c"], "nope": 1}})
    assert answer.status_code == 422
    columns = {e["column"] for e in answer.json()["errors"]}
    assert columns == {"nps", "improve", "nope"}


def test_submissions_are_rate_limited_per_link(store_url: str, settings_for: Callable[..., Any],
                                              links: dict[str, str]) -> None:
    from fastapi.testclient import TestClient

    from clvlab.server import create_app

    with TestClient(create_app(settings_for(store_url, survey_rate_token=2, survey_rate_ip=4))) as client:
        url = f"/api/v1/surveys/respond/{links['c01']}"
        codes = [client.post(url, json={"answers": {"nps": 9}}).status_code for _ in range(3)]
        assert codes == [201, 200, 429]
        limited = client.post(url, json={"answers": {"nps": 9}})
        assert limited.headers["retry-after"] == "3600"
        assert limited.json()["status"] == 429
        # the address limit (4 a minute) stops the next link of the same client too
        other = client.post(f"/s/{links['c02']}", data={"nps": "9"})
        assert other.status_code == 429
        assert "频繁" in other.text


class _Receiver(http.server.BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    _Receiver.got = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.got
    server.shutdown()
    server.server_close()


def test_each_response_fires_a_signed_webhook(app: Any, anonymous: Any, links: dict[str, str],
                                              client_for: Callable[[str], Any], receiver: Any) -> None:
    from clvlab.surveys.webhooks import verify_signature

    url, got = receiver
    boss = client_for("boss")
    added = boss.post("/api/v1/survey-webhooks", json={"url": url})
    assert added.status_code == 201, added.text
    secret = added.json()["secret"]
    assert client_for("ana").post("/api/v1/survey-webhooks", json={"url": url}).status_code == 403
    assert [w["url"] for w in boss.get("/api/v1/survey-webhooks").json()] == [url]
    anonymous.post(f"/api/v1/surveys/respond/{links['c01']}", json={"answers": {"nps": 1}})
    anonymous.post(f"/s/{links['c01']}", data={"nps": "4"})
    assert len(got) == 2
    events = []
    for headers, body in got:
        assert verify_signature(secret, headers["X-Clvlab-Timestamp"], body, headers["X-Clvlab-Signature"])
        assert not verify_signature(secret, headers["X-Clvlab-Timestamp"], body + b" ", headers["X-Clvlab-Signature"])
        assert not verify_signature("whsec_other", headers["X-Clvlab-Timestamp"], body, headers["X-Clvlab-Signature"])
        events.append(json.loads(body))
    assert [e["event"] for e in events] == ["response.created", "response.updated"]
    assert events[0]["scores"] == {"nps": 1.0}
    assert len(events[0]["cases_opened"]) == 1
    assert events[1]["hidden"] == {"store_id": "S1", "touchpoint": "checkout"}


def test_an_answer_without_subscribers_leaves_the_outbox_alone(app: Any, anonymous: Any, links: dict[str, str],
                                                              client_for: Callable[[str], Any], receiver: Any) -> None:
    """Checking the outbox after every answer cost a write lock on SQLite; only an answer that
    queued an event looks now (the statements the app store's engine runs are counted)."""
    from sqlalchemy import event

    engine = app.state.clvlab.store.engine
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert anonymous.post(f"/api/v1/surveys/respond/{links['c02']}", json={"answers": {"nps": 10}}).status_code == 201
        assert anonymous.post(f"/s/{links['c02']}", data={"nps": "9"}).status_code == 200
        assert any("survey_responses" in s for s in statements)
        assert not [s for s in statements if "outbox" in s]
        url, got = receiver
        assert client_for("boss").post("/api/v1/survey-webhooks", json={"url": url}).status_code == 201
        statements.clear()
        assert anonymous.post(f"/s/{links['c02']}", data={"nps": "8"}).status_code == 200
        assert any("insert into outbox" in s for s in statements)
        assert any("update outbox" in s for s in statements)  # delivered (claimed, then marked sent)
        assert [json.loads(body)["event"] for _, body in got] == ["response.updated"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_the_page_answers_in_chinese_without_script(app: Any, anonymous: Any, links: dict[str, str],
                                                    store_url: str) -> None:
    from clvlab.store import SurveyResponse

    page = anonymous.get(f"/s/{links['c11']}")
    assert page.status_code == 200
    html = page.text
    assert 'name="viewport"' in html
    assert "您有多大可能向朋友或同事推荐我们" in html
    assert 'lang="zh-CN"' in html
    assert "<script" not in html
    assert "src=" not in html
    assert "http" not in html.split("<body>")[1].split("</form>")[0]
    assert "How likely" in anonymous.get(f"/s/{links['c11']}?lang=en").text
    missing = anonymous.post(f"/s/{links['c11']}", data={"reason": "太贵"})
    assert missing.status_code == 422
    assert "请回答此题" in missing.text
    assert "太贵" in missing.text
    done = anonymous.post(f"/s/{links['c11']}", data={"nps": "6", "reason": "太贵", "improve": "price"})
    assert done.status_code == 200
    assert "感谢您的反馈" in done.text
    assert _count(store_url, SurveyResponse) == 1
    again = anonymous.get(f"/s/{links['c11']}")
    assert "再次提交将更新" in again.text
    assert 'value="6" checked' in again.text


def test_admins_and_analysts_manage_surveys(app: Any, client_for: Callable[[str], Any]) -> None:
    ana = client_for("ana")
    definition = {"id": "pickup", "language": "en", "title": {"en": "Pick-up", "zh": "自提"},
                  "questions": [{"id": "ces", "type": "ces", "text": {"en": "Easy?", "zh": "容易吗?"}},
                                {"id": "where", "type": "single", "text": "Where?", "options": [{"id": "a", "text": "A"}]}]}
    bad = ana.post("/api/v1/surveys", json=definition)
    assert bad.status_code == 422
    assert "at least two options" in bad.json()["error"]
    definition["questions"][1]["options"].append({"id": "b", "text": "B"})
    assert ana.post("/api/v1/surveys", json=definition).json() == {"survey_id": "pickup", "created": True}
    assert [s["survey_id"] for s in ana.get("/api/v1/surveys").json()] == ["pickup"]
    assert ana.get("/api/v1/surveys/pickup").json()["questions"][0]["type"] == "ces"
    assert ana.get("/api/v1/surveys/nothing").status_code == 404
    assert client_for("mgr1").get("/api/v1/surveys").status_code == 403


def test_a_cases_resurvey_link_is_answered_once_on_the_page(app: Any, anonymous: Any, store_url: str) -> None:
    from clvlab.cases.service import CaseService
    from clvlab.store import open_app_store

    with open_app_store(store_url) as store:
        svc = CaseService(store, survey_base_url="https://s.example.com/s/")
        case_id = 1  # the seed's first case (an open detractor of S1)
        svc.start(case_id)
        svc.resolve(case_id, root_cause="delivery")
        token = svc.resurvey(case_id).token
    page = anonymous.get(f"/s/{token}")
    assert page.status_code == 200
    assert "问题处理之后" in page.text
    assert anonymous.post(f"/s/{token}", data={}).status_code == 422
    done = anonymous.post(f"/s/{token}", data={"score": "9"})
    assert done.status_code == 200
    assert "感谢" in done.text
    with open_app_store(store_url) as store:
        assert CaseService(store).resurveys(case_id)[0].score == 9
    again = anonymous.post(f"/s/{token}", data={"score": "3"})
    assert "已回答" in again.text
    assert anonymous.get(f"/s/{token}x").status_code == 404


def test_the_api_invites_after_a_first_purchase(app: Any, anonymous: Any, client_for: Callable[[str], Any]) -> None:
    ana = client_for("ana")
    assert ana.post("/api/v1/surveys", json={"id": "first", "questions": [
        {"id": "csat", "type": "csat", "text": {"zh": "满意吗？", "en": "Satisfied?"}}]}).status_code == 201
    body = {"channel": "wechat", "customers": [{"customer_id": "c07", "store_id": "S1", "order_id": "A-1001",
                                                "touchpoint": "pos"}]}
    made = ana.post("/api/v1/surveys/first/invites", json=body)
    assert made.status_code == 201, made.text
    link = made.json()["links"][0]
    assert link["link"].startswith("http://testserver/s/")
    assert link["order_id"] == "A-1001"
    assert ana.post("/api/v1/surveys/first/invites", json=body).json()["skipped_recent"] == 1
    token = link["link"].rsplit("/", 1)[1]
    assert anonymous.post(f"/api/v1/surveys/respond/{token}", json={"answers": {"csat": 1}}).status_code == 201
    hidden = ana.get("/api/v1/surveys/first/responses").json()["items"][0]["hidden"]
    assert hidden == {"store_id": "S1", "order_id": "A-1001", "touchpoint": "pos"}
    assert client_for("mgr1").post("/api/v1/surveys/first/invites", json=body).status_code == 403


def test_expired_rate_hits_are_swept_so_the_table_stays_bounded(store_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from clvlab.store import RateHit, open_app_store
    from clvlab.surveys.responses import RateLimit, RateLimiter

    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    with open_app_store(store_url) as store:
        limiter = RateLimiter(store, {"survey.ip": RateLimit(5, 60), "survey.token": RateLimit(5, 3600)},
                              sweep_every=60)
        for i in range(30):  # addresses and links seen once
            limiter.hit("survey.ip", f"10.0.0.{i}", now=t0)
            limiter.hit("survey.token", str(i), now=t0)
        assert _count(store_url, RateHit) == 60
        # within the sweep interval nothing else is deleted; after it, the expired address rows go
        limiter.hit("survey.ip", "10.9.9.9", now=t0 + timedelta(seconds=59))
        assert _count(store_url, RateHit) == 61
        limiter.hit("survey.ip", "10.9.9.9", now=t0 + timedelta(seconds=125))
        with store.session() as s:
            left = sorted(s.execute(select(RateHit.bucket, RateHit.key)))
        assert left == sorted([("survey.ip", "10.9.9.9")] + [("survey.token", str(i)) for i in range(30)])
        # after the token window, every old row is gone
        limiter.hit("survey.ip", "10.9.9.9", now=t0 + timedelta(seconds=3700))
        with store.session() as s:
            assert list(s.execute(select(RateHit.bucket, RateHit.key))) == [("survey.ip", "10.9.9.9")]


def test_a_promoters_complaint_opens_a_case_through_the_text_rules(anonymous: Any, links: dict[str, str]) -> None:
    """The comment's sentiment and intents are computed before the write transaction and reach the rules."""
    angry = anonymous.post(f"/api/v1/surveys/respond/{links['c01']}",
                           json={"answers": {"nps": 9, "reason": "质量太差了，非常失望，我要投诉，马上退款！"}})
    assert angry.status_code == 201, angry.text
    assert len(angry.json()["cases"]) == 1
    happy = anonymous.post(f"/api/v1/surveys/respond/{links['c02']}",
                           json={"answers": {"nps": 9, "reason": "很满意，店员很热情"}})
    assert happy.json()["cases"] == []
