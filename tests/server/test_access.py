"""A store manager cannot read or change another store by any API route (session or token), on
SQLite and on PostgreSQL; admins and analysts see every store."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

ERROR_KEYS = {"ok", "error", "errors", "hints", "status"}


def _case_ids(client: Any) -> dict[str, list[int]]:
    items = client.get("/api/v1/cases", params={"per_page": 200}).json()["items"]
    out: dict[str, list[int]] = {}
    for c in items:
        out.setdefault(c["store_id"], []).append(c["id"])
    return out


def _token_client(app: Any, store_url: str, name: str) -> TestClient:
    from clvlab.server.auth.accounts import Accounts
    from clvlab.store import open_app_store

    with open_app_store(store_url) as store:
        _, token = Accounts(store).create_token(name)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("via", ["session", "token"])
def test_store_manager_cannot_reach_another_store(client_for: Any, app: Any, store_url: str, via: str) -> None:
    ids = _case_ids(client_for("boss"))
    other = ids["S2"][0]
    mgr = client_for("mgr1") if via == "session" else _token_client(app, store_url, "mgr1")
    denied = [
        ("GET", f"/api/v1/cases/{other}", None, 404),
        ("POST", f"/api/v1/cases/{other}/start", {}, 404),
        ("POST", f"/api/v1/cases/{other}/resolve", {"root_cause": "delivery"}, 404),
        ("POST", f"/api/v1/cases/{other}/assign", {"owner_id": "O1"}, 404),
        ("GET", "/api/v1/cases?store=S2", None, 403),
        ("GET", "/api/v1/cases?store=S1&store=S2", None, 403),
        ("GET", "/api/v1/cases/export.csv?store=S2", None, 403),
        ("GET", "/api/v1/customers/c15", None, 404),
        ("GET", "/api/v1/customers?store=S2", None, 403),
        ("GET", "/api/v1/lifecycle?store=S2", None, 403),
        ("GET", "/api/v1/voc/metrics?metric=csat&store=S2", None, 403),
        ("GET", "/api/v1/voc/text?store=S2", None, 403),
        ("GET", "/api/v1/overview?store=S2", None, 403),
        ("GET", "/api/v1/voc/nps?store=S2", None, 403),
        ("GET", "/api/v1/voc/nps?by=store&store=S2", None, 403),
        ("GET", "/api/v1/value/clv?store=S2", None, 403),
        ("GET", "/api/v1/value/clv?by=none&store=S1&store=S2", None, 403),
        ("GET", "/api/v1/journey?store=S2", None, 403),
        ("GET", "/api/v1/surveys/nps-after-purchase/responses?store=S2", None, 403),
        ("GET", "/api/v1/surveys/nps-after-purchase/responses/export.csv?store=S2", None, 403),
        # company-wide figures: no store's rows can be cut out of them
        ("GET", "/api/v1/models/diagnostics", None, 403),
        ("GET", "/api/v1/economics", None, 403),
        ("GET", "/api/v1/cohorts", None, 403),
        ("GET", "/api/v1/experiments", None, 403),
        ("GET", "/api/v1/experiments/any", None, 403),
    ]
    for method, url, body, status in denied:
        answer = mgr.request(method, url, json=body)
        assert answer.status_code == status, (method, url, answer.text)
        assert set(answer.json()) == ERROR_KEYS
        assert "S2" not in answer.json()["error"] or status == 403
    # what the manager does see is their own store only
    assert set(_case_ids(mgr)) == {"S1"}
    export = mgr.get("/api/v1/cases/export.csv")
    assert export.status_code == 200
    assert ",S2," not in export.text
    assert ",S1," in export.text
    nps = mgr.get("/api/v1/voc/nps", params={"by": "store"}).json()
    assert [r["store_id"] for r in nps["rows"]] == ["S1"]
    overall = mgr.get("/api/v1/voc/nps", params={"by": "none", "min_n": 0}).json()
    assert overall["rows"][0]["n"] == 20  # the 20 responses of S1, none of S2
    clv = mgr.get("/api/v1/value/clv").json()["rows"]
    assert [(r["store_id"], r["customers"], r["clv_total"]) for r in clv] == [("S1", 10, sum(range(100, 110)))]
    assert mgr.get("/api/v1/value/clv", params={"by": "none"}).json()["rows"][0]["customers"] == 10
    own = mgr.get("/api/v1/customers/c03").json()
    assert own["customer_id"] == "c03"
    assert {f["store_id"] for f in own["feedback"]} == {"S1"}
    # the other store's case is untouched
    case = client_for("boss").get(f"/api/v1/cases/{other}").json()
    assert case["state"] == "open"
    assert case["owner_id"] == "O2"


def test_unknown_and_foreign_ids_answer_alike(client_for: Any) -> None:
    ids = _case_ids(client_for("boss"))
    mgr = client_for("mgr1")
    foreign = mgr.get(f"/api/v1/cases/{ids['S2'][0]}").json()
    missing = mgr.get("/api/v1/cases/999999").json()
    assert foreign["error"].replace(str(ids["S2"][0]), "N") == missing["error"].replace("999999", "N")
    assert mgr.get("/api/v1/customers/nobody").status_code == 404


def test_store_manager_works_own_cases_and_analyst_sees_all(client_for: Any) -> None:
    mgr = client_for("mgr1")
    case_id = _case_ids(mgr)["S1"][0]
    started = mgr.post(f"/api/v1/cases/{case_id}/start", json={"note": "called"})
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "in_progress"
    resolved = mgr.post(f"/api/v1/cases/{case_id}/resolve", json={"root_cause": "Delivery"})
    assert resolved.json()["state"] == "resolved"
    assert resolved.json()["root_cause"] == "delivery"
    history = mgr.get(f"/api/v1/cases/{case_id}").json()["history"]
    assert [h["action"] for h in history][-2:] == ["start", "resolve"]
    assert history[-1]["actor"] == "mgr1"
    again = mgr.post(f"/api/v1/cases/{case_id}/start")
    assert again.status_code == 409
    assert "cannot start" in again.json()["error"]
    analyst = client_for("ana")
    assert set(_case_ids(analyst)) == {"S1", "S2"}
    assert analyst.get("/api/v1/customers/c15").status_code == 200


def test_pagination_and_filters(client_for: Any) -> None:
    boss = client_for("boss")
    total = boss.get("/api/v1/cases").json()["total"]
    pages = [boss.get("/api/v1/cases", params={"per_page": 3, "page": p}).json() for p in (1, 2)]
    assert pages[0]["total"] == total
    assert len(pages[0]["items"]) == 3
    assert not {c["id"] for c in pages[0]["items"]} & {c["id"] for c in pages[1]["items"]}
    s2 = boss.get("/api/v1/cases", params={"store": "S2", "state": "open"}).json()
    assert s2["items"]
    assert {c["store_id"] for c in s2["items"]} == {"S2"}
    bad = boss.get("/api/v1/cases", params={"per_page": 0})
    assert bad.status_code == 422
    assert set(bad.json()) == ERROR_KEYS
    assert boss.get("/api/v1/cases", params={"state": "lost"}).status_code == 409


def test_anonymous_gets_401_in_the_error_shape(anonymous: Any) -> None:
    for url in ("/api/v1/me", "/api/v1/cases", "/api/v1/customers/c01", "/api/v1/voc/nps"):
        answer = anonymous.get(url)
        assert answer.status_code == 401
        assert answer.json()["ok"] is False
        assert answer.json()["status"] == 401
    assert anonymous.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert anonymous.get("/api/docs").status_code == 200
    assert "/api/v1/cases" in anonymous.get("/api/openapi.json").json()["paths"]


def test_only_admins_read_the_audit_log_and_the_users(client_for: Any) -> None:
    for name in ("ana", "mgr1"):
        client = client_for(name)
        for url in ("/api/v1/audit", "/api/v1/users"):
            answer = client.get(url)
            assert answer.status_code == 403
            assert "needs the role admin" in answer.json()["error"]
    boss = client_for("boss")
    entries = boss.get("/api/v1/audit", params={"limit": 5}).json()
    assert entries[0]["action"] == "login"
    assert entries[0]["actor"] == "boss"
    users = {u["name"]: u for u in boss.get("/api/v1/users").json()}
    assert users["mgr2"]["stores"] == ["S2"]
    assert users["ana"]["role"] == "analyst"


def test_customer_list_is_the_pages_list_of_the_users_stores(client_for: Any) -> None:
    boss, mgr = client_for("boss"), client_for("mgr1")
    every = boss.get("/api/v1/customers", params={"per_page": 200}).json()
    assert every["total"] == 20
    assert [c["customer_id"] for c in every["items"][:3]] == ["c20", "c19", "c18"]  # CLV 119, 118, ...
    assert every["items"][0] | {"clv": 119.0, "store_id": "S2", "stage": "active", "health": 70.0,
                                "band": "green"} == every["items"][0]
    assert every["options"] == {"segment": [], "stage": ["active"], "store_id": ["S1", "S2"]}
    page = boss.get("/api/v1/customers", params={"sort": "customer", "per_page": 5, "page": 2}).json()
    assert [c["customer_id"] for c in page["items"]] == ["c06", "c07", "c08", "c09", "c10"]
    found = boss.get("/api/v1/customers", params={"q": "c1", "store": "S2", "sort": "customer"}).json()
    assert [c["customer_id"] for c in found["items"]] == [f"c{i}" for i in range(11, 20)]
    assert boss.get("/api/v1/customers", params={"stage": "lapsed"}).json()["total"] == 0
    own = mgr.get("/api/v1/customers", params={"per_page": 200}).json()
    assert own["total"] == 10
    assert {c["store_id"] for c in own["items"]} == {"S1"}
    assert own["options"]["store_id"] == ["S1"]
    assert mgr.get("/api/v1/customers", params={"q": "c15"}).json()["total"] == 0
    assert mgr.get("/api/v1/customers", params={"sort": "nonsense"}).status_code == 422


def test_lifecycle_is_the_pages_figures_of_the_users_stores(client_for: Any) -> None:
    every = client_for("boss").get("/api/v1/lifecycle", params={"min_n": 0}).json()
    assert every["as_of"] == "2025-03-01"
    assert every["stages"] == [{"stage": "active", "customers": 20}]
    assert every["bands"] == [{"band": "green", "customers": 20, "mean_health": 70.0}]
    [active] = every["nps_by_stage"]
    assert (active["stage"], active["n"]) == ("active", 40)
    own = client_for("mgr1").get("/api/v1/lifecycle", params={"min_n": 0}).json()
    assert own["stages"] == [{"stage": "active", "customers": 10}]
    assert own["bands"][0]["customers"] == 10
    assert own["nps_by_stage"][0]["n"] == 20  # the 20 answers of S1
    # S1: c01-c10 answer 10 unless i % 3 == 0 (c03, c06, c09 answer 2), and 9: 17 promoters, 3 detractors
    assert own["nps_by_stage"][0]["value"] == 70.0


def test_voc_metrics_and_text_are_the_pages_figures_of_the_users_stores(client_for: Any) -> None:
    boss, mgr = client_for("boss"), client_for("mgr1")
    by_store = boss.get("/api/v1/voc/metrics", params={"metric": "nps", "min_n": 0}).json()
    assert by_store == boss.get("/api/v1/voc/nps", params={"min_n": 0}).json()
    # S2: c11-c20 answer 10 unless i % 3 == 0 (c12, c15, c18 answer 2), and 3: 7 promoters, 13 detractors
    assert [(r["store_id"], r["n"]) for r in by_store["rows"]] == [("S1", 20), ("S2", 20)]
    assert [r["value"] for r in by_store["rows"]] == pytest.approx([70.0, -30.0])
    assert boss.get("/api/v1/voc/metrics", params={"metric": "csat"}).json()["rows"] == []  # no CSAT answers
    months = mgr.get("/api/v1/voc/metrics", params={"by": "month", "min_n": 0}).json()
    assert sum(r["n"] for r in months["rows"]) == 20
    every = boss.get("/api/v1/voc/text").json()["keywords"]
    assert every[0]["word"] == "comment"
    assert every[0]["comments"] == 40
    assert mgr.get("/api/v1/voc/text").json()["keywords"][0]["comments"] == 20
    # S1 comments praise friendly staff (service), S2's find it too expensive (price)
    every = boss.get("/api/v1/voc/text").json()
    assert [(r["theme"], r["n"], r["share"]) for r in every["themes"]] == [("price", 20, 0.5), ("service", 20, 0.5)]
    assert [(r["sentiment"], r["comments"]) for r in every["sentiment"]] == [("positive", 20), ("neutral", 0),
                                                                             ("negative", 20)]
    gaps = {r["level"]: (r["nps"], r["gap"]) for r in every["drivers"]}
    assert gaps["price"] == pytest.approx((-30.0, -100.0))  # S2's NPS -30 vs S1's 70
    assert gaps["service"] == pytest.approx((70.0, 100.0))
    own = mgr.get("/api/v1/voc/text").json()
    assert [(r["theme"], r["n"]) for r in own["themes"]] == [("service", 20)]
    assert [r["comments"] for r in own["sentiment"]] == [20, 0, 0]
    assert own["drivers"] == []  # every comment of S1 is about service: nothing to compare with
    assert boss.get("/api/v1/voc/metrics", params={"metric": "sentiment"}).status_code == 422


def test_overview_is_the_pages_headline_of_the_users_stores(client_for: Any) -> None:
    every = client_for("boss").get("/api/v1/overview").json()
    assert (every["customers"], every["clv_total"], every["horizon_days"]) == (20, sum(range(100, 120)), 365)
    assert every["top_decile_share"] == pytest.approx((119 + 118) / sum(range(100, 120)) * 100)
    assert (every["nps"]["n"], every["open_cases"]) == (40, 16)  # 3 + 13 detractors opened cases
    assert every["nps"]["value"] == pytest.approx(20.0)
    own = client_for("mgr1").get("/api/v1/overview").json()
    assert (own["customers"], own["clv_total"], own["nps"]["n"], own["open_cases"]) == (10, sum(range(100, 110)), 20, 3)
    assert own["top_decile_share"] == pytest.approx(109 / sum(range(100, 110)) * 100)
