"""Cohort matrices on CDNOW equal hand-written DuckDB SQL over the same stored table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.errors import DataValidationError, ParameterError

#: the ``reading`` fixture (conftest.py): figures from the transactions or a run's held purchase days
Reading = Callable[[Any], AbstractContextManager[None]]

# CDNOW has no refunds and no order ids: every row is a purchase.
SQL = """
WITH firsts AS (
    SELECT customer_id, min(CAST(ordered_at AS DATE)) AS first_day FROM transactions GROUP BY 1
), sizes AS (
    SELECT date_trunc('month', first_day) AS cohort, count(*) AS size FROM firsts GROUP BY 1
), cells AS (
    SELECT date_trunc('month', f.first_day) AS cohort,
           date_diff('month', date_trunc('month', f.first_day), date_trunc('month', CAST(t.ordered_at AS DATE))) AS age,
           count(DISTINCT t.customer_id) AS customers,
           sum(t.amount) AS revenue
    FROM transactions t JOIN firsts f USING (customer_id)
    WHERE CAST(t.ordered_at AS DATE) <= DATE '{as_of}'
    GROUP BY 1, 2
)
SELECT c.cohort, c.age, c.customers, c.customers / s.size AS retention, c.revenue,
       sum(c.revenue) OVER (PARTITION BY c.cohort ORDER BY c.age) AS cumulative_revenue
FROM cells c JOIN sizes s USING (cohort)
ORDER BY 1, 2
"""


@pytest.fixture(scope="module")
def ws() -> Iterator[clvlab.Workspace]:
    with clvlab.connect(":memory:") as workspace:
        workspace.load_transactions(load_cdnow("master"))
        yield workspace


def _sql(ws: clvlab.Workspace, as_of: str) -> pd.DataFrame:
    frame = ws.con.con.execute(SQL.format(as_of=as_of)).df()
    frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.date
    return frame.set_index(["cohort", "age"])


@pytest.mark.parametrize(("metric", "cumulative", "column"), [
    ("retention", False, "retention"),
    ("customers", False, "customers"),
    ("revenue", False, "revenue"),
    ("revenue", True, "cumulative_revenue"),
])
def test_cdnow_month_matrix_equals_sql(ws: clvlab.Workspace, metric: str, cumulative: bool, column: str,
                                      reading: Reading) -> None:
    want = _sql(ws, "1998-06-30")[column]
    with reading(ws):
        got = clvlab.cohort_matrix(ws, period="month", metric=metric, cumulative=cumulative)
    cells = got.drop(columns="cohort_size").stack().dropna()
    assert list(got.index.astype(str)) == ["1997-01-01", "1997-02-01", "1997-03-01"]
    assert got.shape[1] == 1 + 18  # the January cohort: months 0..17
    observed = cells.loc[want.index]
    np.testing.assert_allclose(observed.to_numpy(float), want.to_numpy(float), rtol=1e-9)
    rest = cells.drop(want.index)  # every CDNOW cohort buys in every month: nothing left over
    assert rest.empty
    assert got.loc[pd.Timestamp("1997-03-01").date()].isna().sum() == 2  # March cohort: months 16, 17 not yet


def test_as_of_cuts_the_log(ws: clvlab.Workspace, reading: Reading) -> None:
    want = _sql(ws, "1997-06-30")["customers"]
    with reading(ws):
        got = clvlab.cohort_matrix(ws, period="month", metric="customers", as_of="1997-06-30")
    assert got.shape[1] == 1 + 6
    np.testing.assert_array_equal(got.drop(columns="cohort_size").stack().dropna().loc[want.index].to_numpy(),
                                  want.to_numpy())


def test_calendar_axis_and_cohort_size(ws: clvlab.Workspace, reading: Reading) -> None:
    with reading(ws):
        got = clvlab.cohort_matrix(ws, period="quarter", metric="customers", axis="calendar")
    assert got["cohort_size"].tolist() == [23570]
    assert got.iloc[0, 1] == 23570  # every customer bought in the acquisition quarter
    sql = ws.con.con.execute(
        "SELECT count(DISTINCT customer_id) FROM transactions "
        "WHERE ordered_at >= DATE '1998-04-01'").fetchone()
    assert got.iloc[0, -1] == sql[0]


def test_bad_input_is_located(ws: clvlab.Workspace) -> None:
    with pytest.raises(ParameterError, match=r"'as_of' .* within the data, 1997-01-01 to 1998-06-30"):
        clvlab.cohort_matrix(ws, as_of="1999-01-01")
    with pytest.raises(ParameterError, match="'period'"):
        clvlab.cohort_matrix(ws, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'cumulative'"):
        clvlab.cohort_matrix(ws, metric="retention", cumulative=True)
    with clvlab.connect(":memory:") as empty, pytest.raises(DataValidationError, match="no table 'transactions'"):
        clvlab.cohort_matrix(empty)


ROLLING_SQL = """
WITH f AS (
    SELECT customer_id, min(CAST(ordered_at AS DATE)) AS first_day FROM transactions GROUP BY 1
), obs AS (
    SELECT customer_id, first_day, date_trunc('month', first_day) AS cohort,
           CAST(floor((DATE '1998-06-30' - first_day + 1) / (365.25 / 12)) AS BIGINT) AS observed
    FROM f
), cells AS (
    SELECT o.cohort, CAST(floor((CAST(t.ordered_at AS DATE) - o.first_day) / (365.25 / 12)) AS BIGINT) AS age,
           count(DISTINCT t.customer_id) AS customers, sum(t.amount) AS revenue
    FROM transactions t JOIN obs o USING (customer_id)
    WHERE floor((CAST(t.ordered_at AS DATE) - o.first_day) / (365.25 / 12)) < o.observed
    GROUP BY 1, 2
)
SELECT c.cohort, c.age, c.customers,
       c.customers / (SELECT count(*) FROM obs o WHERE o.cohort = c.cohort AND o.observed > c.age) AS retention,
       c.revenue / (SELECT count(*) FROM obs o WHERE o.cohort = c.cohort AND o.observed > c.age) AS per_customer
FROM cells c ORDER BY 1, 2
"""


def test_rolling_months_equal_sql(ws: clvlab.Workspace, reading: Reading) -> None:
    """Rolling months since each customer's first purchase, over the customers observed that long."""
    want = ws.con.con.execute(ROLLING_SQL).df()
    want["cohort"] = pd.to_datetime(want["cohort"]).dt.date
    want = want.set_index(["cohort", "age"])
    with reading(ws):
        got = clvlab.cohort_matrix(ws, period="month", metric="retention", axis="rolling")
        ltv = clvlab.cohort_matrix(ws, period="month", metric="revenue_per_customer", axis="rolling")
    cells = got.drop(columns="cohort_size").stack().dropna()
    np.testing.assert_allclose(cells.loc[want.index].to_numpy(float), want["retention"].to_numpy(float), rtol=1e-9)
    assert len(cells) == len(want)  # every observed month has a buyer in CDNOW
    expected = want["per_customer"].groupby(level="cohort").cumsum()
    np.testing.assert_allclose(ltv.drop(columns="cohort_size").stack().dropna().loc[want.index].to_numpy(float),
                               expected.to_numpy(float), rtol=1e-9)


@pytest.mark.parametrize("extra", ["order_id", "is_refund"])
def test_held_purchase_days_stand_in_only_for_plain_purchases(tmp_path: Path, extra: str) -> None:
    """With an order id (an order is then not a day) or a refund (net revenue is then not the
    purchases') the rows come from the transactions, also inside a run."""
    from clvlab.lifecycle._features import purchase_days, shared_features
    from clvlab.value.cohorts import purchase_rows

    value = {"order_id": "o1,o2,o3", "is_refund": "false,false,true"}[extra].split(",")
    (tmp_path / "tx.csv").write_text(f"customer_id,ordered_at,amount,{extra}\n" + "".join(
        f"A,2024-01-{10 + i},{50 - 70 * (v == 'true')},{v}\n" for i, v in enumerate(value)))
    with clvlab.connect(":memory:") as shop:
        shop.load_transactions(tmp_path / "tx.csv")
        with shared_features():
            purchase_days(shop, "test")
            rows, *_ = purchase_rows(shop, as_of=None, where="test")
            revenue = clvlab.unit_economics(shop, by=(), cac=False, margin=1.0)["revenue"].iloc[0]
    assert "first_day" not in rows.columns
    assert revenue == (80.0 if extra == "is_refund" else 150.0)  # 50 + 50 - 20 with the refund
