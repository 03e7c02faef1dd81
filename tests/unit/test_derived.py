"""Derived tables: one writer checks the contract and stamps the run; one reader serves every consumer."""

from __future__ import annotations

import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow_summary
from clvlab.derived import SCORES, read_derived, write_derived
from clvlab.errors import DataValidationError


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    rfm = load_cdnow_summary()
    rfm.attrs["freq"] = "W"
    return clvlab.score_customers(rfm, clvlab.BetaGeo().fit(rfm), n_draws=0)


def test_written_scores_follow_the_contract_and_carry_the_run(scores: pd.DataFrame) -> None:
    """Contract columns in contract order, typed; the run id and as-of date on every row; reread equal."""
    with clvlab.connect(":memory:") as ws:
        run_id = write_derived(ws, "scores", scores, as_of="1997-09-30", values={"time_unit": "W"})
        table = read_derived(ws, "scores", columns=("clv", "segment"), where="test")
        schema = table.schema()
        stored = table.execute().set_index("customer_id")
    assert list(schema.names) == [c for c in SCORES.names if c in {*scores.columns, "customer_id", "run_id",
                                                                   "as_of", "time_unit"}]
    assert schema["as_of"].is_date()
    assert schema["r_score"].is_integer()
    assert schema["customer_id"].is_string()
    assert set(stored["run_id"]) == {run_id}
    assert set(stored["as_of"].astype(str)) == {"1997-09-30"}
    assert stored["clv"].to_numpy() == pytest.approx(scores.loc[stored.index, "clv"].to_numpy())


def test_writer_refuses_a_frame_outside_the_contract(scores: pd.DataFrame) -> None:
    """A repeated customer is named by row; a frame without clv names the column."""
    twice = pd.concat([scores.iloc[:3], scores.iloc[[1]]])
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(DataValidationError, match=r"row 4, column 'customer_id', value '2'"):
            write_derived(ws, "scores", twice)
        with pytest.raises(DataValidationError, match=r"lacks the column\(s\) \['clv'\]"):
            write_derived(ws, "scores", scores.drop(columns="clv"))
        assert "scores" not in ws.tables()


def test_reader_says_which_command_writes_a_missing_table(scores: pd.DataFrame) -> None:
    """No `scores` yet: the error names `clvlab score ... -w`; a frame is read like the stored table."""
    with clvlab.connect(":memory:") as ws:
        with pytest.raises(DataValidationError, match=r"no table 'scores'.*clvlab score MODEL -w"):
            read_derived(ws, "scores", where="value_by_nps_class")
        assert read_derived(ws, "scores", where="x", missing_ok=True) is None
    frame = read_derived(scores, "scores", columns=("p_alive",), where="x").execute()
    assert frame["customer_id"].tolist()[:3] == scores.index.astype(str).tolist()[:3]
    with pytest.raises(DataValidationError, match=r"lack column\(s\) \['stage'\]"):
        read_derived(scores, "scores", columns=("stage",), where="x")
