"""clvlab.rfm_summary / calibration_holdout on DuckDB, checked against lifetimes 0.11.3 and the papers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import ibis
import lifetimes.utils as lu
import numpy as np
import pandas as pd
import pytest

import clvlab
import clvlab.datasets as ds
from clvlab.errors import DataValidationError, ParameterError

COLS = ["frequency", "recency", "T", "monetary_value"]


def duck_table(con: ibis.BaseBackend, name: str, frame: pd.DataFrame) -> ibis.Table:
    """A real DuckDB table from a frame (ibis 12's create_table is broken with sqlglot >= 30.18)."""
    con.con.register(f"_{name}_df", frame)
    con.raw_sql(f'CREATE TABLE "{name}" AS SELECT * FROM "_{name}_df"')
    con.con.unregister(f"_{name}_df")
    return con.table(name)


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return ds.load_cdnow("master")[["customer_id", "ordered_at", "amount"]]


@pytest.fixture(scope="module")
def duck() -> Iterator[ibis.BaseBackend]:
    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


@pytest.fixture(scope="module")
def master_table(duck: ibis.BaseBackend, master: pd.DataFrame) -> ibis.Table:
    return duck_table(duck, "cdnow_master", master)


def lifetimes_summary(frame: pd.DataFrame, freq: str, end: str | None = None) -> pd.DataFrame:
    return lu.summary_data_from_transaction_data(
        frame, "customer_id", "ordered_at", "amount", observation_period_end=end, freq=freq
    ).sort_index()


def monthly_reference(frame: pd.DataFrame, end: str | None) -> pd.DataFrame:
    """Monthly summary from lifetimes' own period merging (its summary function cannot divide by
    a month under pandas >= 2: 'Unit M is not supported'), with period ordinals for the spans."""
    end_period = pd.Period(end or frame["ordered_at"].max(), "M")
    periods = lu._find_first_transactions(
        frame, "customer_id", "ordered_at", "amount", observation_period_end=end_period, freq="M"
    )
    periods["ord"] = [p.ordinal for p in periods["ordered_at"]]
    grouped = periods.groupby("customer_id")
    out = pd.DataFrame({
        "frequency": grouped.size() - 1,
        "recency": grouped["ord"].max() - grouped["ord"].min(),
        "T": end_period.ordinal - grouped["ord"].min(),
        "monetary_value": periods[~periods["first"]].groupby("customer_id")["amount"].mean(),
    })
    return out.fillna({"monetary_value": 0.0}).astype(float).sort_index()


def assert_same(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert ours.index.tolist() == ref.index.astype(str).tolist()
    for col in ref.columns:
        if col.startswith("monetary_value"):
            np.testing.assert_allclose(ours[col], ref[col], rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            np.testing.assert_array_equal(ours[col].to_numpy(), ref[col].to_numpy(), err_msg=col)


# ---- equality with lifetimes -------------------------------------------------------------------


@pytest.mark.parametrize("freq", ["D", "W"])
@pytest.mark.parametrize("end", [None, "1997-08-31"])
def test_equals_lifetimes_summary_on_cdnow_master(
    master_table: ibis.Table, master: pd.DataFrame, freq: str, end: str | None
) -> None:
    """Row for row equal to lifetimes.utils.summary_data_from_transaction_data (CDNOW master).
    1997-08-31 is a Sunday and a month end, so no period straddles observation_end."""
    ours = clvlab.rfm_summary(master_table, freq=freq, observation_end=end)
    assert list(ours.columns) == COLS
    assert (ours.dtypes == np.float64).all()
    assert_same(ours, lifetimes_summary(master, freq, end))


@pytest.mark.parametrize("end", [None, "1997-08-31"])
def test_monthly_equals_lifetimes_period_merging(
    master_table: ibis.Table, master: pd.DataFrame, end: str | None
) -> None:
    """freq='M' equals lifetimes' monthly periods (its own summary fails for 'M' on pandas 3)."""
    ours = clvlab.rfm_summary(master_table, freq="M", observation_end=end)
    assert_same(ours, monthly_reference(master, end))


def test_observation_end_inside_a_week_drops_later_purchases(
    master_table: ibis.Table, master: pd.DataFrame
) -> None:
    """Documented difference: lifetimes keeps purchases after observation_end in its last period;
    we drop them, so we equal lifetimes run on the log cut at observation_end (a Wednesday)."""
    end = "1997-12-31"
    ours = clvlab.rfm_summary(master_table, freq="W", observation_end=end)
    cut = master[master["ordered_at"] <= end]
    assert_same(ours, lifetimes_summary(cut, "W", end))
    uncut = lifetimes_summary(master, "W", end)
    assert (uncut["frequency"] != ours["frequency"]).any()  # the difference is real on CDNOW


@pytest.mark.parametrize("freq", ["D", "W"])
def test_calibration_holdout_equals_lifetimes(
    master_table: ibis.Table, master: pd.DataFrame, freq: str
) -> None:
    """Equal to lifetimes.utils.calibration_and_holdout_data, CDNOW, 1997-09-30 / 1998-06-30,
    except ``monetary_value_holdout``: lifetimes averages the holdout per transaction row but the
    calibration per purchase period; ours is per purchase period in both (issue 7, A3), checked
    against pandas' own period sums."""
    ours = clvlab.calibration_holdout(
        master_table, calibration_end="1997-09-30", observation_end="1998-06-30", freq=freq
    )
    ref = lu.calibration_and_holdout_data(
        master, "customer_id", "ordered_at", "1997-09-30", "1998-06-30", freq=freq,
        monetary_value_col="amount",
    ).sort_index()
    hold = master[(master.ordered_at > "1997-09-30") & (master.ordered_at <= "1998-06-30")]
    per_period = hold.groupby(["customer_id", hold.ordered_at.dt.to_period(freq)])["amount"].sum()
    mean = per_period.groupby(level="customer_id").mean()
    ref["monetary_value_holdout"] = mean.reindex(ref.index).fillna(0.0)
    assert list(ours.columns) == list(ref.columns)
    assert_same(ours, ref)
    assert ours.attrs == {
        "freq": freq, "calibration_end": "1997-09-30", "observation_end": "1998-06-30",
        "exact": False,
    }


def test_calibration_holdout_leaves_out_late_first_purchases(master_table: ibis.Table) -> None:
    """Customers whose first purchase is after calibration_end are not in the result."""
    cal = clvlab.calibration_holdout(master_table, calibration_end="1997-02-15", freq="W")
    full = clvlab.rfm_summary(master_table, freq="W", observation_end="1997-02-15")
    assert cal.index.tolist() == full.index.tolist()
    assert len(cal) < 23570
    assert cal.attrs["observation_end"] == "1998-06-30"  # default: the latest purchase day
    assert (cal["duration_holdout"] == 72).all()  # W-SUN weeks 1997-02-10 .. 1998-06-29


# ---- the papers' CDNOW sample ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_table(duck: ibis.BaseBackend) -> ibis.Table:
    raw = pd.read_csv(
        ds.path("cdnow_sample"), sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "quantity", "amount"], dtype={"date": str},
    )
    raw["customer_id"] = raw["customer_id"].astype(str)  # the papers number the sample 1..2357
    raw["ordered_at"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return duck_table(duck, "cdnow_sample", raw[["customer_id", "ordered_at", "amount"]])


def test_exact_weeks_reproduce_papers_cdnow_summary(sample_table: ibis.Table) -> None:
    """Fader, Hardie & Lee (2005) CDNOW sample, 39-week calibration (to 1997-09-30): exact=True
    (days / 7) gives the papers' x exactly, t_x and T as published (2 decimals), zbar likewise."""
    paper = ds.load_cdnow_summary()
    ours = clvlab.rfm_summary(sample_table, freq="W", exact=True, observation_end="1997-09-30")
    ours = ours.loc[paper.index]
    np.testing.assert_array_equal(ours["frequency"], paper["frequency"])
    for col in ["recency", "T", "monetary_value"]:
        np.testing.assert_allclose(ours[col], paper[col], atol=0.005 + 1e-9, rtol=0, err_msg=col)
    assert len(ours) == 2357


def test_whole_weeks_differ_from_papers_summary(sample_table: ibis.Table) -> None:
    """Whole (Monday) weeks merge purchases made on different days of one week, so x is lower for
    some customers than the papers' day-level count, and t_x, T are whole numbers."""
    paper = ds.load_cdnow_summary()
    ours = clvlab.rfm_summary(sample_table, freq="W", observation_end="1997-09-30").loc[paper.index]
    assert (ours["frequency"] <= paper["frequency"]).all()
    assert (ours["frequency"] < paper["frequency"]).sum() == 151
    assert (ours["T"] == ours["T"].round()).all()


# ---- refunds, inputs, attrs --------------------------------------------------------------------


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b"],
        "ordered_at": pd.to_datetime(
            ["2024-01-01", "2024-01-03", "2024-01-10", "2024-01-02", "2024-01-05 13:00"], format="ISO8601"
        ),
        "amount": [10.0, 20.0, -20.0, 5.0, 7.0],
        "is_refund": [False, False, True, False, None],
    })


def test_refunds_excluded_unless_asked(duck: ibis.BaseBackend, small: pd.DataFrame) -> None:
    """Rows flagged is_refund are dropped (a null flag is not a refund); with include_refunds a
    refund linked to no order nets against its own day, and a day left with no positive spend
    is no purchase (issue 7, A4: never a zero or negative spend)."""
    table = duck_table(duck, "small_refunds", small)
    rfm = clvlab.rfm_summary(table, freq="D")
    assert rfm.loc["a"].tolist() == [1.0, 2.0, 4.0, 20.0]  # the refund on the 10th is gone
    assert rfm.loc["b"].tolist() == [1.0, 3.0, 3.0, 7.0]
    assert rfm.attrs == {"freq": "D", "observation_end": "2024-01-05", "exact": False}
    kept = clvlab.rfm_summary(table, freq="D", include_refunds=True)
    assert kept.loc["a"].tolist() == [1.0, 2.0, 9.0, 20.0]
    assert kept.attrs["observation_end"] == "2024-01-10"
    assert (kept["monetary_value"] >= 0).all()
    no_money = clvlab.rfm_summary(table, freq="D", include_refunds=True, monetary=None)
    assert no_money.loc["a"].tolist() == [2.0, 9.0, 9.0]  # no amounts: nothing to net against


def test_accepts_frames_workspaces_and_other_column_names(small: pd.DataFrame) -> None:
    """A pandas frame, a Polars frame and anything with .table('transactions') all work."""
    plain = small.drop(columns="is_refund")
    renamed = plain.rename(columns={"customer_id": "cust", "ordered_at": "ts"})
    expected = clvlab.rfm_summary(plain, include_refunds=True)
    kw = {"customer_id": "cust", "datetime": "ts", "include_refunds": True}
    pd.testing.assert_frame_equal(clvlab.rfm_summary(renamed, **kw), expected)

    import polars as pl

    pd.testing.assert_frame_equal(clvlab.rfm_summary(pl.from_pandas(renamed), **kw), expected)

    class FakeWorkspace:
        def __init__(self) -> None:
            self.con = ibis.duckdb.connect()
            self.t = duck_table(self.con, "transactions", plain)

        def table(self, name: str) -> ibis.Table:
            assert name == "transactions"
            return self.t

    ws = FakeWorkspace()
    pd.testing.assert_frame_equal(clvlab.rfm_summary(ws, include_refunds=True), expected)
    ws.con.disconnect()
    no_money = clvlab.rfm_summary(small, monetary=None)
    assert list(no_money.columns) == ["frequency", "recency", "T"]


def test_datetime_end_is_a_whole_day(small: pd.DataFrame) -> None:
    """observation_end as a datetime counts the whole day (the 13:00 purchase on the 5th stays)."""
    for end in ("2024-01-05", dt.date(2024, 1, 5), dt.datetime(2024, 1, 5, 8), pd.Timestamp("2024-01-05")):
        rfm = clvlab.rfm_summary(small, freq="D", observation_end=end)
        assert rfm.loc["b", "frequency"] == 1.0
        assert rfm.attrs["observation_end"] == "2024-01-05"


def test_invariants_on_cdnow(master_table: ibis.Table) -> None:
    """0 <= recency <= T, frequency >= 0, monetary_value 0 when frequency is 0."""
    rfm = clvlab.rfm_summary(master_table, freq="W")
    assert (rfm["frequency"] >= 0).all()
    assert ((rfm["recency"] >= 0) & (rfm["recency"] <= rfm["T"])).all()
    assert (rfm.loc[rfm["frequency"] == 0, "monetary_value"] == 0).all()


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"freq": "Q"}, "The 'freq' parameter of rfm_summary must be one of 'D', 'W', 'M'. Got 'Q' instead."),
        ({"observation_end": 5}, "The 'observation_end' parameter of rfm_summary must be a date (ISO string, datetime.date, datetime.datetime or pandas.Timestamp). Got 5 instead."),
        ({"observation_end": "not a date"}, "Got 'not a date' instead."),
        ({"freq": "M", "exact": True}, "The 'exact' parameter of rfm_summary must be False when freq='M' (a month has no fixed number of days). Got True instead."),
        ({"include_refunds": "yes"}, "The 'include_refunds' parameter of rfm_summary must be a bool. Got 'yes' instead."),
    ],
)
def test_bad_arguments_sklearn_message(small: pd.DataFrame, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError) as info:
        clvlab.rfm_summary(small, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_bad_source_and_split_dates(small: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"The 'source' parameter of rfm_summary must be a Workspace.*Got 'list' instead"):
        clvlab.rfm_summary([1, 2])
    with pytest.raises(
        ParameterError,
        match=r"The 'calibration_end' parameter of calibration_holdout must be a date before observation_end \(2024-01-03\)\. Got '2024-01-04' instead",
    ):
        clvlab.calibration_holdout(small, calibration_end="2024-01-04", observation_end="2024-01-03")
    with pytest.raises(ParameterError, match="'calibration_end' parameter"):
        clvlab.calibration_holdout(small, calibration_end=None)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match=r"calibration_end 2024-01-05 is not before the latest purchase \(2024-01-05\)"):
        clvlab.calibration_holdout(small, calibration_end="2024-01-05")


def test_missing_column_lists_available(small: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError) as info:
        clvlab.rfm_summary(small, monetary="total")
    assert "lack the column(s) ['total']; available: ['customer_id', 'ordered_at', 'amount', 'is_refund']" in str(info.value)
    assert "Hint: name yours with customer_id=" in str(info.value)
    with pytest.raises(DataValidationError, match="Column 'amount' of the transactions has type string"):
        clvlab.rfm_summary(small.astype({"amount": str}))
    with pytest.raises(DataValidationError, match="Column 'customer_id' of the transactions has type"):
        clvlab.rfm_summary(small, datetime="customer_id")


def test_empty_table_or_window_is_a_data_error(small: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="No transactions to summarise in rfm_summary"):
        clvlab.rfm_summary(small.iloc[:0].astype({"is_refund": bool}))
    with pytest.raises(DataValidationError, match="No transactions to summarise"):
        clvlab.rfm_summary(small, observation_end="2023-12-31")
