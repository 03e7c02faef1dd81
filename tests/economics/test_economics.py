"""Unit economics: CDNOW figures equal hand-written SQL; CAC, LTV:CAC and payback by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.derived import write_derived
from clvlab.errors import DataValidationError, ParameterError

#: the ``reading`` fixture (conftest.py): figures from the transactions or a run's held purchase days
Reading = Callable[[Any], AbstractContextManager[None]]

# CDNOW: no refunds, no order ids (an order is a purchase day), as_of = the last order day.
SQL = """
WITH per AS (
    SELECT customer_id, min(CAST(ordered_at AS DATE)) AS first_day, max(CAST(ordered_at AS DATE)) AS last_day,
           count(DISTINCT CAST(ordered_at AS DATE)) AS orders, sum(amount) AS revenue
    FROM transactions GROUP BY 1
), cut AS (SELECT max(CAST(ordered_at AS DATE)) AS d FROM transactions)
SELECT date_trunc('month', first_day) AS cohort, count(*) AS customers, sum(orders) AS orders,
       sum(revenue) AS revenue,
       sum(revenue) / sum(orders) AS aov,
       sum(orders) / (sum(cut.d - first_day + 1) / 365.25) AS purchase_frequency,
       sum(revenue) / (sum(cut.d - first_day + 1) / 365.25) AS arpu,
       avg(CASE WHEN last_day > first_day THEN 1 ELSE 0 END) AS repurchase_rate,
       count(*) FILTER (WHERE first_day <= cut.d - 365 AND last_day > cut.d - 365)
         / count(*) FILTER (WHERE first_day <= cut.d - 365) AS retention_rate
FROM per, cut GROUP BY 1 ORDER BY 1
"""


@pytest.fixture(scope="module")
def cdnow() -> Iterator[clvlab.Workspace]:
    with clvlab.connect(":memory:") as workspace:
        workspace.load_transactions(load_cdnow("master"))
        yield workspace


def test_cdnow_by_cohort_equals_sql(cdnow: clvlab.Workspace, reading: Reading) -> None:
    want = cdnow.con.con.execute(SQL).df()
    with reading(cdnow):
        got = clvlab.unit_economics(cdnow, by=("cohort",), cac=False, margin=0.3)
    assert [str(c) for c in got["cohort"]] == ["1997-01-01", "1997-02-01", "1997-03-01"]
    for col in ("customers", "orders", "revenue", "aov", "purchase_frequency", "arpu", "repurchase_rate",
                "retention_rate"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, err_msg=col)
    churn = 1 - want["retention_rate"]
    np.testing.assert_allclose(got["churn_rate"], churn, rtol=1e-9)
    np.testing.assert_allclose(got["formula_clv"], want["aov"] * want["purchase_frequency"] * 0.3 / churn, rtol=1e-9)
    assert got["model_clv"].isna().all()
    assert got["clv_note"].str.startswith("no model CLV: run `clvlab score`").all()


def test_missing_spend_says_what_to_load(cdnow: clvlab.Workspace) -> None:
    with pytest.raises(DataValidationError, match=r"no marketing spend .*`clvlab load marketing_spend FILE"):
        clvlab.unit_economics(cdnow, by=("cohort",))
    with pytest.raises(DataValidationError, match=r"by='channel' needs .* no customers table"):
        clvlab.unit_economics(cdnow, by=("channel",), cac=False)
    with pytest.raises(ParameterError, match=r"'as_of' .* within the data, 1997-01-01 to 1998-06-30. Got '1996-12-31'"):
        clvlab.unit_economics(cdnow, by=(), cac=False, as_of="1996-12-31")
    with pytest.raises(ParameterError, match="'by'"):
        clvlab.unit_economics(cdnow, by=("store",), cac=False)


TX = """customer_id,ordered_at,amount
A,2024-01-10,50
A,2024-02-15,40
A,2025-06-30,20
B,2024-01-20,40
C,2024-01-05,100
C,2024-03-01,100
D,2024-08-01,60
"""
CUSTOMERS = "customer_id,acquisition_channel\nA,search\nB,search\nC,social\nD,social\n"
SPEND = "period,channel,cost,new_customers\n2024-01-01,search,100,\n2024-01-01,social,60,2\n2024-08-01,social,90,1\n"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[clvlab.Workspace]:
    for name, text in (("tx.csv", TX), ("customers.csv", CUSTOMERS), ("spend.csv", SPEND)):
        (tmp_path / name).write_text(text)
    with clvlab.connect(tmp_path / "shop.duckdb") as ws:
        ws.load_transactions(tmp_path / "tx.csv")
        ws.load_customers(tmp_path / "customers.csv")
        ws.load_marketing_spend(tmp_path / "spend.csv")
        yield ws


def _years(*firsts: str) -> float:
    end = dt.date(2025, 6, 30)
    return sum((end - dt.date.fromisoformat(f)).days + 1 for f in firsts) / 365.25


def test_cac_ltv_cac_and_payback_by_hand(shop: clvlab.Workspace, reading: Reading) -> None:
    with reading(shop):
        got = clvlab.unit_economics(shop, by=("channel",), margin=0.8).set_index("channel")
    search, social = got.loc["search"], got.loc["social"]
    # search: A and B won in January 2024 for 100 (no new_customers in the row: count first purchases)
    assert (search["customers"], search["orders"], search["revenue"]) == (2, 4, 150.0)
    assert search["spend"] == 100.0
    assert search["cac_customers"] == 2
    assert search["cac"] == 50.0
    pf = 4 / _years("2024-01-10", "2024-01-20")
    assert search["purchase_frequency"] == pytest.approx(pf)
    assert search["repurchase_rate"] == 0.5
    assert search["churn_rate"] == 0.5  # A bought in the last year, B did not
    formula = 37.5 * pf * 0.8 / 0.5
    assert search["formula_clv"] == pytest.approx(formula)
    assert search["ltv_cac"] == pytest.approx(formula / 50.0)  # no scores: LTV is the formula CLV
    # payback: month 0 brings (50 + 40) / 2 = 45, month 1 brings 40 / 2 = 20; 0.8 x 65 = 52 >= 50
    assert search["payback_months"] == 2.0
    # social: the spend rows say they bought 2 + 1 customers for 150
    assert social["cac_customers"] == 3
    assert social["cac"] == 50.0
    assert social["churn_rate"] == 1.0  # C (the only one acquired a year before) stopped buying
    assert social["payback_months"] == 1.0  # month 0: 0.8 x (100 + 60) / 2 = 64 >= 50
    assert got.attrs["notes"] == ["LTV is the formula CLV (no model CLV: run `clvlab score` (or `clvlab demo`) "
                                  "to write the scores table)"]


def test_model_clv_from_scores_and_the_note(shop: clvlab.Workspace) -> None:
    scores = pd.DataFrame({"customer_id": list("ABCD"), "clv": [30.0, 10.0, 50.0, 40.0]})
    for col in ("frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases", "expected_spend"):
        scores[col] = 0.0
    write_derived(shop, "scores", scores, as_of="2025-06-30", values={"horizon_days": 365.0})
    got = clvlab.unit_economics(shop, by=("channel",), margin=0.8).set_index("channel")
    assert got.loc["search", "model_clv"] == 20.0
    # CAC is paid at acquisition, so LTV counts from there: A and B brought 150 x 0.8 / 2 = 60 of
    # margin each so far, and the model expects 20 more
    assert got.loc["search", "realised_value"] == pytest.approx(60.0)
    assert got.loc["search", "ltv"] == pytest.approx(80.0)
    assert got.loc["search", "ltv_cac"] == pytest.approx(80.0 / 50.0)
    ratio = got.loc["search", "formula_clv"] / 80.0
    assert 2 / 3 <= ratio <= 1.5
    assert got.loc["search", "clv_note"] == f"agree (formula / LTV = {ratio:.2f})"
    # a model expecting ten times more: the note says why the two differ
    write_derived(shop, "scores", scores.assign(clv=scores["clv"] * 10), as_of="2025-06-30",
                  values={"horizon_days": 365.0})
    got = clvlab.unit_economics(shop, by=("channel",), margin=0.8).set_index("channel")
    ratio = got.loc["search", "formula_clv"] / 260.0
    assert got.loc["search", "clv_note"].startswith(f"disagree (formula / LTV = {ratio:.2f}): the formula counts")
    assert "the model's next 365 days" in got.loc["search", "clv_note"]


def test_negative_spend_total_is_located(shop: clvlab.Workspace, tmp_path: Path) -> None:
    (tmp_path / "fix.csv").write_text("period,channel,cost\n2024-01-01,search,-5\n")
    shop.load_marketing_spend(tmp_path / "fix.csv")
    with pytest.raises(DataValidationError, match=r"'channel search, month of 2024-01-01', column 'cost', value -5.0"):
        clvlab.unit_economics(shop, by=("channel",))


def test_scores_of_another_date_are_not_mixed_in(shop: clvlab.Workspace) -> None:
    scores = pd.DataFrame({"customer_id": list("ABCD"), "clv": [30.0, 10.0, 50.0, 40.0]})
    for col in ("frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases", "expected_spend"):
        scores[col] = 0.0
    write_derived(shop, "scores", scores, as_of="2025-06-30")
    got = clvlab.unit_economics(shop, by=("channel",), as_of="2025-03-31")
    assert got["model_clv"].isna().all()
    assert got.attrs["notes"][0] == ("no model CLV: the scores table is as of 2025-06-30, not 2025-03-31; "
                                     "score as of 2025-03-31 to compare")
    assert (got["clv_note"] == got.attrs["notes"][0]).all()


def test_scores_of_a_day_after_the_last_order_count(shop: clvlab.Workspace) -> None:
    """A run as of the 31st when the last sale was on the 30th: the economics hold as of the last
    order day, and the scores of the run's date still give the model CLV (nothing was bought in
    between, so the value realised to either day is the same); the note says which dates."""
    scores = pd.DataFrame({"customer_id": list("ABCD"), "clv": [30.0, 10.0, 50.0, 40.0]})
    for col in ("frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases", "expected_spend"):
        scores[col] = 0.0
    write_derived(shop, "scores", scores, as_of="2025-07-01", values={"horizon_days": 365.0})
    got = clvlab.unit_economics(shop, by=("channel",), margin=0.8).set_index("channel")
    assert got.attrs["as_of"] == "2025-06-30"
    assert got.loc["search", "model_clv"] == pytest.approx(20.0)  # A and B: (30 + 10) / 2
    assert got.loc["search", "ltv"] == pytest.approx(60.0 + 20.0)
    assert got.attrs["notes"][0] == ("model CLV as of 2025-07-01, the scores' date; the last order was on "
                                     "2025-06-30, and nothing bought after it is counted")
    with pytest.raises(ParameterError, match="as_of"):  # the economics themselves stay within the data
        clvlab.unit_economics(shop, by=("channel",), as_of="2025-07-01")
    # as of an earlier day (orders came after it) the later scores are still refused
    assert clvlab.unit_economics(shop, by=("channel",), as_of="2025-06-29")["model_clv"].isna().all()


@pytest.mark.slow  # a whole run on CDNOW
def test_a_run_after_the_last_sale_keeps_its_model_clv_in_the_economics() -> None:
    """CDNOW's last sale is on 1998-06-30; a run as of 1998-07-01 (the API takes a date after the
    data, the command line does not) writes cohorts and economics as of the last order day, and
    their LTV still counts the run's model CLV, with a note naming both days."""
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(load_cdnow("master"))
        run = clvlab.run_pipeline(ws, observation_end="1998-07-01")
        econ = ws.con.con.execute("SELECT as_of, model_clv, notes FROM economics").df()
    assert run.clv.settings["observation_end"] == "1998-07-01"
    assert (econ["as_of"].astype(str) == "1998-06-30").all()
    assert econ["model_clv"].notna().all()
    assert econ["notes"].str.contains("model CLV as of 1998-07-01, the scores' date; the last order was on "
                                      "1998-06-30").all()


def test_retention_cost_comes_off_the_formula_clv(shop: clvlab.Workspace) -> None:
    got = clvlab.unit_economics(shop, by=("channel",), margin=0.8, retention_cost=6.0).set_index("channel")
    pf = 4 / _years("2024-01-10", "2024-01-20")
    assert got.loc["search", "formula_clv"] == pytest.approx((37.5 * pf * 0.8 - 6.0) / 0.5)
    with pytest.raises(ParameterError, match="'retention_cost'"):
        clvlab.unit_economics(shop, retention_cost=-1.0)


def test_spend_of_an_unknown_channel_is_named(shop: clvlab.Workspace, tmp_path: Path) -> None:
    (tmp_path / "more.csv").write_text("period,channel,cost\n2024-01-01,Search,30\n")
    shop.load_marketing_spend(tmp_path / "more.csv")
    got = clvlab.unit_economics(shop, by=("channel",))
    assert got["channel"].tolist() == ["search", "social"]
    assert got.attrs["notes"][0] == (
        "spend of 30.00 is in no row: no customer was acquired in Search (check the channel names in "
        "marketing_spend against customers.acquisition_channel)")


def test_a_run_without_spend_writes_economics_without_cac_and_says_what_to_load(tmp_path: Path) -> None:
    from clvlab.report.sections import run_economics
    from clvlab.value.economics import NO_CAC
    from clvlab.value.economics_tables import write_economics_tables

    (tmp_path / "tx.csv").write_text(TX)
    (tmp_path / "customers.csv").write_text("customer_id,acquisition_channel,acquisition_cost\nA,search,\nB,social,\n")
    with clvlab.connect(tmp_path / "nospend.duckdb") as ws:
        ws.load_transactions(tmp_path / "tx.csv")
        ws.load_customers(tmp_path / "customers.csv")  # a cost column, all empty, and no spend table
        written = write_economics_tables(ws, run_id="r1", as_of="2025-06-30")
        econ = ws.table("economics").execute()
        served = run_economics(ws)  # GET /api/v1/economics and the report: the run's figures, no error
    assert written["cac"] == NO_CAC
    assert "`clvlab load marketing_spend FILE`" in NO_CAC
    assert "ltv_cac" not in econ
    assert econ["realised_value"].notna().all()
    assert f"LTV:CAC {NO_CAC}" in econ["notes"].iloc[0]
    assert "ltv_cac" not in served
    assert served.attrs["cac"] == NO_CAC
