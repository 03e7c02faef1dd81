"""The API answers as a user would see it: who am I, my cases, a customer, NPS by store."""

from __future__ import annotations

from typing import Any


def test_admin_sees_every_store(client_for: Any) -> None:
    boss = client_for("boss")
    me = boss.get("/api/v1/me").json()
    assert me == {"name": "boss", "role": "admin", "stores": None, "via": "session"}
    cases = boss.get("/api/v1/cases").json()
    assert {c["store_id"] for c in cases["items"]} == {"S1", "S2"}
    nps = boss.get("/api/v1/voc/nps", params={"by": "store"}).json()
    assert [r["store_id"] for r in nps["rows"]] == ["S1", "S2"]
    monthly = boss.get("/api/v1/voc/nps", params={"by": "month", "min_n": 0}).json()
    assert monthly["by"] == ["month"]
    assert sum(r["n"] for r in monthly["rows"]) == 40
    clv = boss.get("/api/v1/value/clv").json()["rows"]
    assert [(r["store_id"], r["customers"], r["clv_total"]) for r in clv] == [
        ("S1", 10, sum(range(100, 110))), ("S2", 10, sum(range(110, 120)))]
    customer = boss.get("/api/v1/customers/c15").json()
    assert customer["scores"]["clv"] == 114.0
    assert customer["stage"]["stage"] == "active"
    assert customer["health"]["band"] == "green"
    assert len(customer["feedback"]) == 2
