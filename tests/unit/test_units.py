"""The time unit: files carry it in a column, models record it, scoring refuses a mismatch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import clvlab
from clvlab.datasets import load_cdnow_summary
from clvlab.errors import DataValidationError
from clvlab.features.units import parse_unit, read_unit_columns, with_unit_columns


def test_unit_columns_round_trip_through_csv(tmp_path: Path) -> None:
    """attrs -> columns -> CSV -> attrs; spellings of a unit are one unit; other words are not."""
    rfm = pd.DataFrame({"frequency": [1.0, 0.0], "recency": [2.0, 0.0], "T": [5.0, 3.0]},
                       index=pd.Index(["a", "b"], name="customer_id"))
    rfm.attrs = {"freq": "M", "observation_end": "2024-12-31"}
    path = tmp_path / "rfm.csv"
    with_unit_columns(rfm).to_csv(path)
    back = read_unit_columns(pd.read_csv(path, index_col="customer_id"), "rfm.csv")
    pd.testing.assert_frame_equal(back, rfm)
    assert back.attrs == {"freq": "M", "observation_end": "2024-12-31"}
    assert [parse_unit(v) for v in ("D", " weeks ", "Month", "fortnight", 7)] == ["D", "W", "M", None, None]
    with pytest.raises(DataValidationError, match=r"'rfm.csv', row 1, column 'time_unit', value 'fortnight'"):
        read_unit_columns(rfm.assign(time_unit="fortnight"), "rfm.csv")


def test_model_file_records_the_time_unit() -> None:
    """save/load keeps the unit the model was fitted in; a file without one loads with none."""
    rfm = load_cdnow_summary()
    model = clvlab.BetaGeo().fit(rfm)
    model.time_unit_ = "W"
    again = clvlab.BetaGeo.from_dict(model.to_dict())
    assert again.time_unit_ == "W"
    old = model.to_dict()
    del old["time_unit"]
    assert getattr(clvlab.BetaGeo.from_dict(old), "time_unit_", None) is None


def test_score_customers_refuses_a_model_fitted_in_another_unit() -> None:
    """The library applies the same rule as `clvlab score`: a weekly model on a daily frame is refused."""
    rfm = load_cdnow_summary()
    rfm.attrs["freq"] = "W"
    model = clvlab.BetaGeo().fit(rfm)
    model.time_unit_ = "W"
    daily = rfm.copy()
    daily.attrs["freq"] = "D"
    with pytest.raises(DataValidationError, match=r"fitted on RFM in weeks \(W\) but the rfm frame is in days \(D\)"):
        clvlab.score_customers(daily, model, n_draws=0)
    assert clvlab.score_customers(rfm, model, n_draws=0)["clv"].gt(0).all()
