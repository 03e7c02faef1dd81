"""The analytics pages and their API in process (TestClient) on a workspace the CLV run, the
economics tables and the demo's simulated experiment were written to: what admins and analysts see,
and that a store manager is refused the company-wide ones by page, CSV and API alike."""

from __future__ import annotations

import csv
import io
import re
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


def test_economics_page_and_api(client_as: Any) -> None:
    boss = client_as("boss")
    page = boss.get("/economics")
    assert page.status_code == 200
    for chart in ("chart-ltv-cac", "chart-cohorts"):
        assert f'data-chart="{chart}"' in page.text
    assert "demo assumption" in page.text  # the spend is made up, and the page says so
    rows = _csv(boss.get("/economics", params={"csv": "chart-ltv-cac"}))
    assert [r["channel"] for r in rows] == ["email", "referral", "search", "social"]
    for r in rows:  # the definitions: LTV:CAC is LTV over CAC
        assert _number(r["LTV:CAC"]) == pytest.approx(_number(r["LTV"]) / _number(r["CAC"]), abs=0.006)
    api = boss.get("/api/v1/economics", params={"per_page": 3}).json()
    assert (api["total"], len(api["items"]), api["by"], api["as_of"]) == (4, 3, ["channel"], "1998-06-30")
    rest = boss.get("/api/v1/economics", params={"per_page": 3, "page": 2}).json()["items"]
    items = api["items"] + rest
    # CDNOW: the 2,357 customers of the sample first bought in the first quarter of 1997
    assert sum(r["customers"] for r in items) == 2357
    for r in items:
        assert r["aov"] == pytest.approx(r["revenue"] / r["orders"])
        assert r["ltv_cac"] == pytest.approx(r["ltv"] / r["cac"])
    cohorts = boss.get("/api/v1/cohorts", params={"per_page": 200}).json()["items"]
    first = [c for c in cohorts if c["age"] == 0]
    assert [c["cohort"][:7] for c in first] == ["1997-01", "1997-02", "1997-03"]
    assert sum(c["cohort_size"] for c in first) == 2357
    assert all(c["retention"] == 1.0 for c in first)
    by_cohort = boss.get("/api/v1/economics", params={"by": "cohort"}).json()
    assert by_cohort["total"] == 3
    assert "economics" not in set(re.findall(r'data-section="([a-z_]+)"', boss.get("/lifecycle").text))


def test_experiments_pages_and_api(client_as: Any) -> None:
    from scipy.stats import chisquare

    ana = client_as("ana")
    listed = ana.get("/api/v1/experiments").json()
    assert listed["total"] == 1
    demo = listed["items"][0]
    assert (demo["experiment_id"], demo["status"], demo["control_share"]) == ("demo-winback-simulated", "stopped", 0.3)
    rows = _csv(ana.get("/experiments", params={"csv": "experiments-1"}))
    assert [(r["experiment"], r["control"], r["treatment"]) for r in rows] == [
        ("demo-winback-simulated", str(demo["control"]), str(demo["treatment"]))]
    assert 'href="/experiments/demo-winback-simulated"' in ana.get("/experiments").text
    result = ana.get("/api/v1/experiments/demo-winback-simulated").json()
    assert (result["n_control"], result["n_treatment"]) == (demo["control"], demo["treatment"])
    # the sample-ratio check is Pearson's chi-squared of the arm sizes against the planned 30/70 split
    n = demo["control"] + demo["treatment"]
    expected = chisquare([demo["control"], demo["treatment"]], [0.3 * n, 0.7 * n])
    assert result["srm"]["p_value"] == pytest.approx(expected.pvalue)
    assert result["srm"]["flagged"] is False
    assert [m["metric"] for m in result["metrics"]] == ["retention", "repurchase", "spend", "clv"]
    for m in result["metrics"]:
        assert (m["n_control"], m["n_treatment"]) == (demo["control"], demo["treatment"])
        assert m["lower"] < m["effect"] < m["upper"]
        assert m["summary"].endswith(".")
    page = ana.get("/experiments/demo-winback-simulated")
    assert 'data-chart="chart-effects"' in page.text
    assert "no sample ratio mismatch" in page.text
    effects = _csv(ana.get("/experiments/demo-winback-simulated", params={"csv": "chart-effects"}))
    assert [r["metric"] for r in effects] == ["retention", "repurchase", "spend", "CLV"]
    assert [r["treatment n"] for r in effects] == [str(demo["treatment"])] * 4
    words = _csv(ana.get("/experiments/demo-winback-simulated", params={"csv": "plain_words-1"}))
    assert [w["what the data say"] for w in words] == [m["summary"] for m in result["metrics"]]
    assert "实验组" in ana.get("/experiments/demo-winback-simulated", params={"lang": "zh"}).text
    zh = _csv(ana.get("/experiments/demo-winback-simulated", params={"csv": "plain_words-1", "lang": "zh"}))
    findings = [list(w.values())[1] for w in zh]  # the findings in Chinese, from the same figures
    assert findings[0].startswith("实验组在后测期购买的客户比对照组")
    assert all(f.endswith("。") and "Treatment" not in f for f in findings)
    ana.get("/experiments", params={"lang": "en"})  # back to English for what follows
    for path in ("/experiments/nope", "/api/v1/experiments/nope"):
        assert ana.get(path).status_code == 404, path


def _demo_feedback() -> Any:
    import pandas as pd

    from clvlab.datasets import path

    return pd.read_csv(path("demo_feedback"), dtype={"store_id": str, "customer_id": str})


def _nps(scores: Any) -> float:
    return float(100 * ((scores >= 9).mean() - (scores <= 6).mean()))


def test_journey_page_and_api(client_as: Any) -> None:
    from clvlab.datasets import load_cdnow

    feedback = _demo_feedback()
    boss = client_as("boss")
    page = boss.get("/journey")
    for chart in ("chart-touchpoints", "chart-touchpoint-nps", "chart-funnel"):
        assert f'data-chart="{chart}"' in page.text
    assert "an assumption: feedback does not record which touchpoint" in page.text
    rows = _csv(boss.get("/journey", params={"csv": "chart-touchpoints"}))
    assert [r["touchpoint"] for r in rows] == ["website", "checkout", "delivery", "product", "customer service",
                                               "returns"]
    counted = feedback["touchpoint"].value_counts()
    assert {r["touchpoint"].replace(" ", "_"): int(r["answers"]) for r in rows} == counted.to_dict()
    api = boss.get("/api/v1/journey").json()
    for point in api["touchpoints"]:  # NPS = % promoters (9-10) - % detractors (0-6) of the touchpoint's answers
        answers = feedback[(feedback["touchpoint"] == point["touchpoint"]) & (feedback["metric"] == "nps")]
        assert point["nps_n"] == len(answers)
        assert point["nps"] == pytest.approx(_nps(answers["score"]))
        assert point["nps_lower"] < point["nps"] < point["nps_upper"]
    tx = load_cdnow("sample")
    days = tx.groupby("customer_id")["ordered_at"].nunique()
    steps = {s["step"]: s for s in api["funnel"]}
    assert list(steps) == ["site_visit", "product_view", "cart_add", "first_purchase", "second_purchase"]
    assert steps["first_purchase"]["customers"] == len(days) == 2357
    assert steps["second_purchase"]["customers"] == int((days >= 2).sum())
    assert steps["second_purchase"]["dropped"] == 2357 - int((days >= 2).sum())
    assert steps["site_visit"]["customers"] > 2357  # prospects visit and never buy
    for s in api["funnel"][1:]:
        assert s["from_previous"] + s["dropped"] == steps[api["funnel"][api["funnel"].index(s) - 1]["step"]]["customers"]
    assert any("assumption" in n for n in api["notes"])
    assert "客户旅程" in boss.get("/journey", params={"lang": "zh"}).text


def test_store_manager_sees_the_journey_of_their_store(client_as: Any) -> None:
    feedback = _demo_feedback()
    mgr = client_as("mgr01")
    rows = _csv(mgr.get("/journey", params={"csv": "chart-touchpoints"}))
    assert sum(int(r["answers"]) for r in rows) == int((feedback["store_id"] == "S01").sum())
    api = mgr.get("/api/v1/journey").json()
    own = feedback[(feedback["store_id"] == "S01") & (feedback["metric"] == "nps")]
    assert sum(p["nps_n"] for p in api["touchpoints"]) == len(own)
    assert mgr.get("/api/v1/journey", params={"store": "S02"}).status_code == 403
    assert mgr.get("/api/v1/journey", params={"store": "S01"}).json() == api


def test_a_demo_store_manager_sees_their_stores_customers(client_as: Any) -> None:
    import pandas as pd

    from clvlab.datasets import load_cdnow, path

    homes = pd.read_csv(path("demo_customers"), dtype=str).set_index("customer_id")["store_id"]
    sample = sorted(load_cdnow("sample")["customer_id"].unique())
    feedback = _demo_feedback()
    answered = feedback[feedback["customer_id"].isin(sample)]
    # a customer's demo home store is the store of their answers (every sample customer here has one)
    for customer, stores in answered.groupby("customer_id")["store_id"]:
        if stores.nunique() == 1:
            assert homes[customer] == stores.iloc[0], customer
    mine = sorted(c for c in sample if homes[c] == "S01")
    mgr = client_as("mgr01")
    listed = _csv(mgr.get("/customers", params={"csv": "customers", "sort": "customer"}))
    assert [r["customer"] for r in listed] == mine
    assert {r["store"] for r in listed} == {"S01"}
    assert "Demo assumption: CDNOW had no stores" in mgr.get("/customers").text
    assert "Demo assumption: CDNOW had no stores" in mgr.get("/overview").text
    theirs = answered[answered["store_id"] == "S01"]["customer_id"].iloc[0]
    assert mgr.get(f"/customers/{theirs}").status_code == 200
    other = next(c for c in sample if homes[c] == "S02")
    assert mgr.get(f"/customers/{other}").status_code == 404
    assert mgr.get(f"/api/v1/customers/{other}").status_code == 404


def test_store_manager_is_refused_company_wide_pages(client_as: Any) -> None:
    mgr = client_as("mgr01")
    for path in ("/models", "/models?csv=chart-tracking", "/economics", "/economics?csv=chart-ltv-cac",
                 "/experiments", "/experiments?csv=experiments-1", "/experiments/demo-winback-simulated",
                 "/experiments/demo-winback-simulated?csv=chart-effects"):
        answer = mgr.get(path)
        assert answer.status_code == 403, path
        assert "text/html" in answer.headers["content-type"]
        assert "company-wide figures are shown to admins and analysts only" in answer.text
    for path in ("/api/v1/models/diagnostics", "/api/v1/economics", "/api/v1/cohorts", "/api/v1/experiments",
                 "/api/v1/experiments/demo-winback-simulated"):
        answer = mgr.get(path)
        assert answer.status_code == 403, path
        assert answer.json()["status"] == 403
    nav = mgr.get("/overview").text
    assert 'href="/models"' not in nav
    assert 'href="/economics"' not in nav
    assert 'href="/experiments"' not in nav
    admin_nav = client_as("boss").get("/overview").text
    assert 'href="/models"' in admin_nav
    assert 'href="/economics"' in admin_nav
