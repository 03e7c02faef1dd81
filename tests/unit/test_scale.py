"""clvlab.scale on DuckDB: fitting on the distinct rows the engine counts and scoring in the engine
give the in-memory run's model, parameters and scores exactly; errors are located."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.errors import DataValidationError
from clvlab.pipeline import run_clv

pytestmark = pytest.mark.slow

OPTIONS = {"freq": "W", "calibration_end": "1997-06-30", "observation_end": "1998-06-30"}


@pytest.fixture(scope="module")
def ws() -> Iterator[clvlab.Workspace]:
    with clvlab.connect(":memory:") as workspace:
        workspace.load_transactions(load_cdnow("sample"))
        yield workspace


def test_scores_in_the_engine_equal_the_in_memory_run(ws: clvlab.Workspace) -> None:
    """Same chosen model, same parameters bit for bit, same scores; only distinct rows came back."""
    expected = run_clv(ws, **OPTIONS)
    run = clvlab.run_clv_at_scale(ws, scores_table="scale_scores", **OPTIONS)
    assert run.best == expected.best
    assert run.model.params_ == expected.model.params_
    assert run.spend_model.params_ == expected.spend_model.params_
    assert run.rows_collected["frequency_recency_T"] < len(expected.rfm) / 2
    stored = ws.table("scale_scores").execute().set_index("customer_id").sort_index()
    assert stored.index.tolist() == expected.scores.index.tolist()
    for column in ("p_alive", "expected_purchases", "expected_spend", "expected_revenue", "clv"):
        np.testing.assert_allclose(stored[column], expected.scores[column], rtol=1e-12, err_msg=column)
    assert run.n_customers == len(expected.scores)
    assert run.total_clv == pytest.approx(float(expected.scores["clv"].sum()), rel=1e-12)
    assert set(stored["model"]) == {expected.best}


def test_a_missing_table_is_named(ws: clvlab.Workspace) -> None:
    with pytest.raises(DataValidationError, match=r"no table 'warehouse\.orders'"):
        clvlab.run_clv_at_scale(ws, table="warehouse.orders", **OPTIONS)


def test_spend_bins_beyond_the_cap_give_the_exact_fit_to_1e_6(ws: clvlab.Workspace) -> None:
    """Beyond the cap Gamma-Gamma is fitted on two rows per bin of log(mean spend): fewer rows
    than the distinct pairs, every repeat buyer counted once, sum(log m) per frequency kept, and
    the parameters of the fit on the exact pairs to 1e-6 (the stated bound is far smaller)."""
    from clvlab import models
    from clvlab.features.rfm import rfm_expression
    from clvlab.scale import distinct_counts, spend_rows

    rfm = rfm_expression(ws.table("transactions"), freq="W", observation_end="1998-06-30", where="test")
    repeat = rfm.filter((rfm.frequency > 0) & (rfm.monetary_value > 0))
    exact = distinct_counts(repeat, ["frequency", "monetary_value"])
    same, how = spend_rows(repeat, int(exact["n"].sum()))
    assert how == "exact pairs"
    assert same.equals(exact)
    binned, how = spend_rows(repeat, int(exact["n"].sum()), cap=100, width=0.01)
    assert how.endswith(f"wide for {int(exact['n'].sum()):,} repeat buyers (exact pairs up to 100)")
    assert len(binned) < len(exact)
    assert binned["n"].sum() == exact["n"].sum()

    def log_sums(rows: pd.DataFrame) -> pd.Series:
        return (np.log(rows["monetary_value"]) * rows["n"]).groupby(rows["frequency"]).sum()

    np.testing.assert_allclose(log_sums(binned), log_sums(exact), rtol=1e-12)
    fits = [models.GammaGamma().fit(rows, weights=rows["n"].to_numpy(dtype=float)) for rows in (exact, binned)]
    for name in ("p", "q", "v"):
        assert fits[1].params_[name] == pytest.approx(fits[0].params_[name], rel=1e-6)
        assert abs(fits[1].params_[name] - fits[0].params_[name]) < 1e-4 * fits[0].standard_errors_[name]


def test_a_run_beyond_the_spend_cap_says_so_and_scores_as_the_exact_run(
        ws: clvlab.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run at scale with fewer exact pairs allowed than repeat buyers: the spend fit is
    binned (and says so in its settings), the scores are the in-memory run's to 1e-6."""
    from clvlab import scale

    expected = run_clv(ws, **OPTIONS)
    monkeypatch.setattr(scale, "SPEND_EXACT_MAX", 50)
    run = clvlab.run_clv_at_scale(ws, scores_table="scale_binned", **OPTIONS)
    assert "bins of log(mean spend) 0.01 wide" in run.settings["spend_fit"]
    assert run.rows_collected["spend_pairs"] < int((expected.rfm["frequency"] > 0).sum())
    stored = ws.table("scale_binned").execute().set_index("customer_id").sort_index()
    for column in ("expected_spend", "clv"):
        np.testing.assert_allclose(stored[column], expected.scores[column], rtol=1e-6, err_msg=column)


def test_a_table_with_other_column_names_runs_through_the_mapping(ws: clvlab.Workspace) -> None:
    """``mapping`` names the table's columns as the loader's does (aliases found as there); a
    mapped column the table lacks, or a required one not found, is a located error."""
    tx = ws.table("transactions")
    ws.con.create_view("orders_renamed", tx.select(cust_no=tx.customer_id, day=tx.ordered_at, total=tx.amount),
                       overwrite=True)
    plain = clvlab.run_clv_at_scale(ws, scores_table="scale_plain", **OPTIONS)
    mapped = clvlab.run_clv_at_scale(ws, table="orders_renamed", scores_table="scale_mapped",
                                     mapping={"customer_id": "cust_no", "ordered_at": "day"}, **OPTIONS)
    assert mapped.spend_model.params_ == plain.spend_model.params_
    assert mapped.total_clv == pytest.approx(plain.total_clv, rel=1e-12)  # the engine sums in its own order
    with pytest.raises(DataValidationError, match=r"'orders_renamed' has no column 'cust_nr'; available columns: "
                                                  r"cust_no, day, total"):
        clvlab.run_clv_at_scale(ws, table="orders_renamed", mapping={"customer_id": "cust_nr"}, **OPTIONS)
    with pytest.raises(DataValidationError, match=r"no column for required 'customer_id', 'ordered_at'"):
        clvlab.run_clv_at_scale(ws, table="orders_renamed", **OPTIONS)
    ws.con.create_view("orders_lines", tx.select("customer_id", "ordered_at", quantity=ibis.literal(1.0),
                                                 unit_price=tx.amount), overwrite=True)
    with pytest.raises(DataValidationError, match=r"no column for 'amount': a run at scale reads the amount as it is"):
        clvlab.run_clv_at_scale(ws, table="orders_lines", **OPTIONS)
