"""Margin from the data (transactions' cost or margin column) and retention cost from
``customers.service_cost``, checked against hand-written SQL; a constant 1.0 says it is revenue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app

TX = """customer_id,ordered_at,amount,cost
A,2024-01-10,50,30
A,2024-02-15,40,20
A,2025-06-30,20,
B,2024-01-20,40,10
C,2024-01-05,100,90
C,2024-03-01,-100,
D,2024-08-01,60,15
"""
CUSTOMERS = "customer_id,acquisition_channel,service_cost\nA,search,4\nB,search,\nC,social,10\nD,social,2\n"

SQL = """
WITH per AS (
    SELECT t.customer_id, c.acquisition_channel AS channel,
           sum(amount - cost) AS margin_amount,
           sum(amount) FILTER (WHERE cost IS NOT NULL) AS costed,
           coalesce(any_value(c.service_cost), 0) AS service_cost
    FROM transactions t JOIN customers c USING (customer_id) GROUP BY 1, 2
)
SELECT channel, sum(margin_amount) / sum(costed) AS margin, avg(service_cost) AS retention_cost
FROM per GROUP BY 1 ORDER BY 1
"""


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[clvlab.Workspace]:
    (tmp_path / "tx.csv").write_text(TX)
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    with clvlab.connect(tmp_path / "shop.duckdb") as ws:
        ws.load_transactions(tmp_path / "tx.csv")
        ws.load_customers(tmp_path / "customers.csv")
        yield ws


def test_margin_and_retention_cost_from_the_data_equal_sql(shop: clvlab.Workspace) -> None:
    want = shop.con.con.execute(SQL).df()
    got = clvlab.unit_economics(shop, by=("channel",), cac=False)
    assert got["channel"].tolist() == want["channel"].tolist() == ["search", "social"]
    np.testing.assert_allclose(got["margin"], want["margin"].astype(float), rtol=1e-12)
    np.testing.assert_allclose(got["retention_cost"], want["retention_cost"].astype(float), rtol=1e-12)
    # by hand: search (50-30)+(40-20)+(40-10) = 70 over 130 costed; social (100-90)+(60-15) = 55 over 160
    assert got["margin"].tolist() == pytest.approx([70 / 130, 55 / 160])
    assert got.attrs["margin_source"] == "from the transactions' cost column"
    assert got.attrs["margin"] == pytest.approx(125 / 290)
    assert got.attrs["notes"][0].startswith("margin measured on the 5 of 7 transaction lines")  # 2 without cost
    churn = got["churn_rate"].where(got["churn_rate"] > 0)
    formula = (got["aov"] * got["purchase_frequency"] * got["margin"] - got["retention_cost"]) / churn
    np.testing.assert_allclose(got["formula_clv"], formula, rtol=1e-12)


def test_a_given_margin_wins_and_no_column_says_revenue(shop: clvlab.Workspace, tmp_path: Path) -> None:
    got = clvlab.unit_economics(shop, by=("channel",), cac=False, margin=0.4, retention_cost=1.0)
    assert got["margin"].tolist() == [0.4, 0.4]
    assert got.attrs["margin_source"] == "assumed constant 0.4"
    assert got.attrs["retention_cost_source"] == "given"
    (tmp_path / "plain.csv").write_text("customer_id,ordered_at,amount\nA,2024-01-10,50\nA,2024-03-10,50\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(tmp_path / "plain.csv")
        plain = clvlab.unit_economics(ws, by=(), cac=False)
    assert plain.attrs["margin_source"].startswith("assumed 1.0: revenue, not margin")
    assert plain["margin"].tolist() == [1.0]


def test_cli_prints_where_the_margin_comes_from(shop: clvlab.Workspace, tmp_path: Path) -> None:
    path = str(shop.path)
    shop.close()
    runner = CliRunner()
    res = runner.invoke(app, ["economics", "-w", path, "--by", "channel", "--no-cac"])
    assert res.exit_code == 0, res.output
    assert "Margin: 43.1%, from the transactions' cost column" in " ".join(res.output.split())
    res = runner.invoke(app, ["--json", "economics", "-w", path, "--by", "channel", "--no-cac", "--margin", "0.5"])
    assert json.loads(res.stdout)["margin_source"] == "assumed constant 0.5"
