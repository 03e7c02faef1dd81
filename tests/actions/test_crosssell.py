"""Cross-sell recommendations: lift and decay worked by hand, the lists, the evaluation, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.actions.crosssell import evaluate_recommendations, recommend_items
from clvlab.cli.app import app
from clvlab.datasets.synthetic import simulate_baskets
from clvlab.errors import DataValidationError, ParameterError

runner = CliRunner()
AS_OF = pd.Timestamp("2024-02-01")
#: customer, product, days before AS_OF: A and B bought x and y, C x and z, D y, E z
TINY = [("A", "x", 10), ("A", "y", 10), ("B", "x", 1), ("B", "y", 1), ("C", "x", 1), ("C", "z", 1),
        ("D", "y", 1), ("E", "z", 1)]


def _workspace(path: Path, log: pd.DataFrame) -> Path:
    with clvlab.connect(path) as ws:
        ws.load_transactions(log)
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    log = pd.DataFrame(TINY, columns=["customer_id", "product_id", "days"])
    log["ordered_at"] = AS_OF - pd.to_timedelta(log.pop("days"), unit="D")
    log["order_id"] = [f"o{i}" for i in range(len(log))]
    log["amount"] = 5.0
    log["category"] = log["product_id"].map({"x": "food", "y": "food", "z": "toys"})
    return _workspace(tmp_path / "tiny.duckdb", log)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = simulate_baskets(600, seed=3)
    return _workspace(tmp_path_factory.mktemp("planted") / "planted.duckdb", log)


def test_lift_and_confidence_worked_by_hand(tiny: Path) -> None:
    """N = 5 customers; N(x) = N(y) = 3, N(x, y) = 2: lift 2 x 5 / (3 x 3), confidence 2/3."""
    with clvlab.connect(tiny, read_only=True) as ws:
        frame = recommend_items(ws, product="x", min_support=1, as_of=AS_OF).set_index("item")
    assert list(frame.index) == ["y", "z"]  # sorted by lift
    assert frame.loc["y", "lift"] == pytest.approx(2 * 5 / (3 * 3))
    assert frame.loc["y", "confidence"] == pytest.approx(2 / 3)
    assert frame.loc["z", "lift"] == pytest.approx(1 * 5 / (3 * 2))
    assert frame.loc["y", "support"] == 2


def test_half_life_halves_the_weight_of_a_purchase_that_old(tiny: Path) -> None:
    """With a 10-day half-life A's purchases (10 days old) count 1/2, the others 2^(-1/10)."""
    w_a, w = 0.5, 2 ** (-1 / 10)
    n_x, n_y, n_z = w_a + 2 * w, w_a + 2 * w, 2 * w
    n_xy = w_a * w_a + w * w
    with clvlab.connect(tiny, read_only=True) as ws:
        frame = recommend_items(ws, product="x", min_support=1, as_of=AS_OF, half_life_days=10).set_index("item")
    assert frame.loc["y", "confidence"] == pytest.approx(n_xy / n_x)
    assert frame.loc["y", "lift"] == pytest.approx(n_xy * 5 / (n_x * n_y))
    assert frame.loc["z", "lift"] == pytest.approx(w * w * 5 / (n_x * n_z))


def test_a_customer_gets_unbought_items_then_the_popular_fill(tiny: Path) -> None:
    with clvlab.connect(tiny, read_only=True) as ws:
        c = recommend_items(ws, customer="C", min_support=1, as_of=AS_OF)
        d = recommend_items(ws, customer="D", min_support=1, as_of=AS_OF)
    assert c.to_dict("records")[0] | {"score": 0} == {"rank": 1, "item": "y", "score": 0, "because": "x",
                                                       "lift": pytest.approx(10 / 9), "source": "co-occurrence"}
    assert c["score"].iloc[0] == pytest.approx(2 / 3)  # w(C, x) x confidence(x -> y); x and z already bought
    assert len(c) == 1
    assert list(d["item"]) == ["x", "z"]
    assert list(d["source"]) == ["co-occurrence", "popularity"]  # z never goes with y: filled by popularity


def test_category_level_and_min_support(tiny: Path) -> None:
    with clvlab.connect(tiny, read_only=True) as ws:
        frame = recommend_items(ws, product="food", level="category", min_support=1, as_of=AS_OF)
        assert frame.set_index("item").loc["toys", "support"] == 1
        assert recommend_items(ws, product="x", as_of=AS_OF).empty  # no pair bought by 3 customers


def test_cooccurrence_beats_popularity_on_planted_groups(planted: Path) -> None:
    """Customers buy mostly within one planted group: the pairs find it, popularity cannot."""
    with clvlab.connect(planted, read_only=True) as ws:
        result = evaluate_recommendations(ws, k=10)
    assert result.customers > 100
    assert result.precision > result.precision_popularity
    assert result.difference[1] > 0  # the paired interval excludes 0
    assert result.recall > result.recall_popularity
    per = result.per_customer
    assert (per["hits"] <= per["n_new"]).all()
    assert result.precision == pytest.approx(per["hits"].mean() / 10)


def test_errors_name_what_is_missing(tiny: Path, tmp_path: Path) -> None:
    cdnow_like = pd.DataFrame({"customer_id": ["a"], "ordered_at": ["2024-01-01"], "amount": [1.0]})
    path = _workspace(tmp_path / "plain.duckdb", cdnow_like)
    with clvlab.connect(path, read_only=True) as ws, pytest.raises(DataValidationError, match="no transaction names a product_id"):
        recommend_items(ws, customer="a")
    with clvlab.connect(tiny, read_only=True) as ws:
        with pytest.raises(DataValidationError, match="nobody bought product 'w'"):
            recommend_items(ws, product="w", as_of=AS_OF)
        with pytest.raises(DataValidationError, match="customer 'nobody' has no transactions"):
            recommend_items(ws, customer="nobody")
        with pytest.raises(ParameterError, match="exactly one"):
            recommend_items(ws, customer="A", product="x")
        with pytest.raises(ParameterError, match="half_life_days"):
            recommend_items(ws, customer="A", half_life_days=0)


def test_cli_recommend(tiny: Path, planted: Path) -> None:
    shown = runner.invoke(app, ["recommend", "-w", str(tiny), "--customer", "D", "--min-support", "1"])
    assert shown.exit_code == 0, shown.output
    assert "Cross-sell for customer D" in shown.output
    assert "popularity" in shown.output
    data = json.loads(runner.invoke(app, ["--json", "recommend", "-w", str(tiny), "--product", "x",
                                          "--min-support", "1"]).output)
    assert data["items"][0]["item"] == "y"
    assert math.isclose(data["items"][0]["lift"], 10 / 9)
    ev = json.loads(runner.invoke(app, ["--json", "recommend", "-w", str(planted), "--evaluate", "-k", "5"]).output)
    assert ev["k"] == 5
    assert ev["precision"] > ev["precision_popularity"]
    usage = runner.invoke(app, ["recommend", "-w", str(tiny)])
    assert usage.exit_code != 0
    assert "exactly one of --customer" in usage.output


def test_next_best_action_names_the_top_item(tmp_path: Path) -> None:
    """The cross-sell rule offers the customer's first recommendation when the log names products."""
    from clvlab.actions.nba import next_best_actions

    from .conftest import build

    path = build(tmp_path / "shop.duckdb")
    with clvlab.connect(path, read_only=True) as ws:
        before = next_best_actions(ws).set_index("customer_id")
    assert before.loc["c5", "action"] == "cross_sell"
    assert before.loc["c5", "item"] is None
    rows = [(c, p) for c in ("c1", "c2", "c3", "c4", "c6") for p in ("x", "y")] + [("c5", "x")]
    log = pd.DataFrame(rows, columns=["customer_id", "product_id"]).assign(ordered_at="1998-05-01", amount=1.0)
    log["order_id"] = [f"o{i}" for i in range(len(log))]
    with clvlab.connect(path) as ws:
        ws.load_transactions(log)
        after = next_best_actions(ws).set_index("customer_id")
    assert after.loc["c5", "item"] == "y"
    assert after.loc["c5", "reason"].endswith("; offer y (lift 1.00 with x)")
    assert after.loc["c4", "item"] is None  # not a cross-sell


@pytest.mark.postgres
def test_postgres_gives_the_duckdb_lists(tiny: Path, pg_schema: str) -> None:
    """The same Ibis expressions on a PostgreSQL workspace: the same pairs, lists and decay."""
    import ibis
    import psycopg

    from clvlab.data.workspace import Workspace

    with clvlab.connect(tiny, read_only=True) as ws:
        cols = ["customer_id", "ordered_at", "product_id", "category", "is_refund", "amount"]
        log = ws.table("transactions").select(*cols).execute()
        local = [recommend_items(ws, product="x", min_support=1, as_of=AS_OF, half_life_days=10),
                 recommend_items(ws, customer="D", min_support=1, as_of=AS_OF, half_life_days=10)]
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as con:
        con.execute(f"CREATE TABLE {pg_schema}.transactions (customer_id VARCHAR, ordered_at TIMESTAMP, "
                    "product_id VARCHAR, category VARCHAR, is_refund BOOLEAN, amount DECIMAL(18,4))")
        with con.cursor().copy(f"COPY {pg_schema}.transactions ({', '.join(cols)}) FROM STDIN") as copy:
            for row in log.itertuples(index=False):
                copy.write_row((row[0], row[1].to_pydatetime(), *row[2:]))
    backend = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test", schema=pg_schema)
    try:
        remote_ws = Workspace(backend)
        remote = [recommend_items(remote_ws, product="x", min_support=1, as_of=AS_OF, half_life_days=10),
                  recommend_items(remote_ws, customer="D", min_support=1, as_of=AS_OF, half_life_days=10)]
    finally:
        backend.disconnect()
    for mine, theirs in zip(local, remote, strict=True):
        pd.testing.assert_frame_equal(theirs, mine, check_dtype=False, rtol=1e-9)
