"""Derived tables (what clvlab computes and stores in the workspace), each with a contract.

Input tables have their contract in :mod:`clvlab.data.contract`; the tables clvlab derives
from them have theirs here, so that every writer stores the same columns and types and every
reader (VoC metrics by segment, case priorities, value by NPS class, the server next) reads
through one function, :func:`read_derived`, instead of guessing at a table. One writer,
:func:`write_derived`, checks a frame against its contract and replaces the table whole, with
the run's id and as-of date on every row.

Today's derived tables are ``scores`` (one row per customer, from
:func:`clvlab.score_customers`), ``stages`` (:func:`clvlab.lifecycle_stages`), ``health``
(:func:`clvlab.health_scores`), ``churn`` (:func:`clvlab.churn_watchlist`), ``economics`` and
``cohorts``.

>>> import clvlab
>>> from clvlab.derived import read_derived, write_derived
>>> with clvlab.connect(":memory:") as ws:                     # doctest: +SKIP
...     run_id = write_derived(ws, "scores", scores, as_of="1998-06-30")
...     clv = read_derived(ws, "scores", columns=("clv",), where="me").execute()
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, overload

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clvlab.errors import DataValidationError, Issue, check_param
from clvlab.lifecycle.thresholds import HEALTH_COMPONENTS

__all__ = ["DERIVED", "DerivedColumn", "DerivedContract", "new_run_id", "read_derived", "write_derived",
           "write_derived_expr"]


@dataclass(frozen=True)
class DerivedColumn:
    """One stored column: name, Ibis type, whether every writer must supply it, its meaning."""

    name: str
    dtype: str
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class DerivedContract:
    """A derived table: its name, key column, columns, and the command that produces it."""

    name: str
    key: str
    columns: tuple[DerivedColumn, ...]
    produced_by: str

    @property
    def names(self) -> list[str]:
        """Column names in stored order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> DerivedColumn:
        """The column ``name``."""
        return next(c for c in self.columns if c.name == name)


#: columns every derived table carries: which run wrote it and as of which date
RUN_COLUMNS = (
    DerivedColumn("run_id", "string", True, "id of the run that wrote the table (one per write)"),
    DerivedColumn("as_of", "date", False, "the data's observation end: the scores hold as of this day"),
)

SCORES = DerivedContract(
    name="scores",
    key="customer_id",
    columns=(
        DerivedColumn("customer_id", "string", True, "the customer"),
        DerivedColumn("frequency", "float64", True, "repeat purchase periods"),
        DerivedColumn("recency", "float64", True, "periods from first to last purchase"),
        DerivedColumn("T", "float64", True, "periods from first purchase to as_of"),
        DerivedColumn("monetary_value", "float64", True, "mean spend of the repeat periods"),
        DerivedColumn("p_alive", "float64", True, "probability the customer is still active"),
        DerivedColumn("expected_purchases", "float64", True, "expected purchases over the horizon"),
        DerivedColumn("expected_spend", "float64", True, "expected spend per purchase"),
        DerivedColumn("expected_revenue", "float64", False, "expected purchases x spend, undiscounted"),
        DerivedColumn("clv", "float64", True, "discounted expected margin over the horizon"),
        DerivedColumn("clv_lower", "float64", False, "lower bound of the CLV interval"),
        DerivedColumn("clv_upper", "float64", False, "upper bound of the CLV interval"),
        DerivedColumn("r_score", "int64", False, "recency score (5 = most recent)"),
        DerivedColumn("f_score", "int64", False, "frequency score"),
        DerivedColumn("m_score", "int64", False, "monetary score"),
        DerivedColumn("rfm_score", "string", False, "the three scores, e.g. '545'"),
        DerivedColumn("segment", "string", False, "RFM segment name"),
        *RUN_COLUMNS,
        DerivedColumn("time_unit", "string", False, "time unit of frequency, recency and T (D, W, M)"),
        DerivedColumn("horizon_days", "float64", False, "CLV horizon in days"),
        DerivedColumn("model", "string", False, "the purchase model that scored"),
    ),
    produced_by="`clvlab score MODEL -w WORKSPACE` (or `clvlab demo`)",
)

STAGES = DerivedContract(
    name="stages",
    key="customer_id",
    columns=(
        DerivedColumn("customer_id", "string", True, "the customer"),
        DerivedColumn("stage", "string", True, "lifecycle stage (clvlab.lifecycle.stages.STAGES)"),
        DerivedColumn("n_purchases", "int64", True, "purchase days up to as_of"),
        DerivedColumn("first_purchase", "date", False, "first purchase day"),
        DerivedColumn("last_purchase", "date", False, "last purchase day up to as_of"),
        DerivedColumn("days_since_last", "float64", False, "days from the last purchase to as_of"),
        DerivedColumn("cadence_days", "float64", False, "the customer's cadence (mean days between purchases)"),
        DerivedColumn("gap_ratio", "float64", False, "days since the last purchase / cadence"),
        DerivedColumn("p_alive", "float64", False, "P(alive) of MBG/NBD or Pareto/NBD"),
        *RUN_COLUMNS,
    ),
    produced_by="`clvlab run` / `clvlab demo` (clvlab.lifecycle_stages)",
)

HEALTH = DerivedContract(
    name="health",
    key="customer_id",
    columns=(
        DerivedColumn("customer_id", "string", True, "the customer"),
        DerivedColumn("health", "float64", True, "health score 0-100 (sum of the points)"),
        DerivedColumn("band", "string", True, "red, yellow or green"),
        DerivedColumn("churn_probability", "float64", False, "fitted probability of no purchase in the window"),
        *(DerivedColumn(f"points_{c}", "float64", False, f"points of the {c} component")
          for c in HEALTH_COMPONENTS),
        *RUN_COLUMNS,
    ),
    produced_by="`clvlab run` / `clvlab demo` (clvlab.health_scores)",
)

COHORTS = DerivedContract(
    name="cohorts",
    key="cell",
    columns=(
        DerivedColumn("cell", "string", True, "'<cohort>|<age>', the row's key"),
        DerivedColumn("period", "string", True, "calendar period of cohorts and ages (week, month, quarter, year)"),
        DerivedColumn("cohort", "date", True, "first day of the acquisition period (the first purchase's)"),
        DerivedColumn("age", "int64", True, "periods since the acquisition period (0 = acquisition)"),
        DerivedColumn("cohort_size", "int64", True, "customers acquired in the cohort"),
        DerivedColumn("customers", "int64", True, "cohort customers who bought in the period"),
        DerivedColumn("retention", "float64", True, "customers / cohort_size"),
        DerivedColumn("revenue", "float64", True, "net revenue of the cohort in the period"),
        DerivedColumn("cumulative_revenue", "float64", True, "net revenue from the acquisition period on"),
        DerivedColumn("revenue_per_customer", "float64", True, "cumulative_revenue / cohort_size"),
        *RUN_COLUMNS,
    ),
    produced_by="`clvlab demo` (or clvlab.value.economics_tables.write_economics_tables)",
)

ECONOMICS = DerivedContract(
    name="economics",
    key="group",
    columns=(
        DerivedColumn("group", "string", True, "'channel=<c>|cohort=<date>' (or 'all'), the row's key"),
        DerivedColumn("channel", "string", False, "acquisition channel"),
        DerivedColumn("cohort", "date", False, "first day of the acquisition period"),
        DerivedColumn("customers", "int64", True, "customers acquired"),
        DerivedColumn("orders", "int64", True, "their orders"),
        DerivedColumn("revenue", "float64", True, "their net revenue"),
        DerivedColumn("aov", "float64", True, "average order value"),
        DerivedColumn("purchase_frequency", "float64", True, "orders per customer-year"),
        DerivedColumn("arpu", "float64", True, "revenue per customer-year"),
        DerivedColumn("repurchase_rate", "float64", True, "share who bought again on a later day"),
        DerivedColumn("retention_rate", "float64", True, "annual: share of year-old customers who bought in the last year"),
        DerivedColumn("churn_rate", "float64", True, "1 - retention_rate"),
        DerivedColumn("retention_cost", "float64", False, "service and loyalty cost per customer-year"),
        DerivedColumn("margin", "float64", False, "share of revenue that is margin (see notes: from the data or assumed)"),
        DerivedColumn("formula_clv", "float64", True,
                      "(aov x purchase_frequency x margin - retention_cost) / churn_rate"),
        DerivedColumn("model_clv", "float64", False, "mean clv of the scores table"),
        DerivedColumn("realised_value", "float64", False, "margin per customer from the first purchase to as_of"),
        DerivedColumn("ltv", "float64", False, "realised_value + model_clv: value from acquisition"),
        DerivedColumn("clv_note", "string", False, "whether and why formula CLV and ltv disagree"),
        DerivedColumn("spend", "float64", False, "marketing spend"),
        DerivedColumn("cac_customers", "int64", False, "new customers the spend bought"),
        DerivedColumn("cac", "float64", False, "customer acquisition cost"),
        DerivedColumn("cac_source", "string", False, "marketing_spend or customers.acquisition_cost"),
        DerivedColumn("ltv_cac", "float64", False, "LTV (ltv, else formula CLV) / CAC"),
        DerivedColumn("payback_months", "float64", False, "months until the margin covers the CAC"),
        *RUN_COLUMNS,
        DerivedColumn("notes", "string", False, "caveats, e.g. 'demo assumption' for the bundled spend"),
    ),
    produced_by="`clvlab demo` (or clvlab.value.economics_tables.write_economics_tables)",
)

LEADS = DerivedContract(
    name="leads",
    key="customer_id",
    columns=(
        DerivedColumn("customer_id", "string", True, "the prospect (seen in events or customers, no purchase yet)"),
        DerivedColumn("lead_score", "float64", True, "probability of a first purchase within window_days"),
        DerivedColumn("rank", "int64", True, "1 = the most likely to convert"),
        DerivedColumn("drivers", "string", False, "features that raise the score most, with their log-odds"),
        DerivedColumn("days_since_last_event", "float64", False, "days from the last event to as_of"),
        DerivedColumn("events_30d", "int64", False, "events in the last 30 days"),
        *RUN_COLUMNS,
        DerivedColumn("window_days", "float64", False, "the conversion window"),
    ),
    produced_by="`clvlab run` / `clvlab demo` (clvlab.lead_scores)",
)

CHURN = DerivedContract(
    name="churn",
    key="customer_id",
    columns=(
        DerivedColumn("customer_id", "string", True, "the customer"),
        DerivedColumn("p_churn", "float64", True, "probability of no purchase in the next window_days (clvlab.ChurnModel)"),
        DerivedColumn("clv", "float64", True, "clv of the scores table (NaN: not scored)"),
        DerivedColumn("clv_at_risk", "float64", True, "p_churn x clv"),
        DerivedColumn("rank", "int64", True, "1 = most CLV at risk"),
        DerivedColumn("reason_1", "string", True, "the reason that raises p_churn most, written out (null: none)"),
        DerivedColumn("reason_2", "string", True, "the second reason (null: none)"),
        DerivedColumn("reason_3", "string", True, "the third reason (null: none)"),
        DerivedColumn("days_since_last", "float64", False, "days from the last purchase to as_of"),
        DerivedColumn("gap_ratio", "float64", False, "days since the last purchase / own cadence"),
        DerivedColumn("nps_latest", "float64", False, "latest NPS answer by as_of"),
        *RUN_COLUMNS,
        DerivedColumn("window_days", "int64", False, "the churn window in days"),
    ),
    produced_by="`clvlab run` / `clvlab demo` (clvlab.churn_watchlist)",
)

DIAGNOSTICS = DerivedContract(
    name="diagnostics",
    key="key",
    columns=(
        DerivedColumn("key", "string", True, "'run', 'model=<m>', 'param=<m>.<p>' or 'holdout=<period>'"),
        DerivedColumn("kind", "string", True, "run, model, param or holdout (clvlab.value.diagnostics)"),
        DerivedColumn("model", "string", False, "the model the row is about"),
        DerivedColumn("chosen", "boolean", False, "model rows: the candidate the run chose"),
        DerivedColumn("status", "string", False, "the fit's verdict (FitStatus.label)"),
        DerivedColumn("text", "string", False, "run: settings as JSON; model, param: the fit's message"),
        DerivedColumn("log_likelihood", "float64", False, "log-likelihood of the fit"),
        DerivedColumn("bic", "float64", False, "BIC of the calibration fit"),
        DerivedColumn("holdout_mae", "float64", False, "mean absolute error of holdout purchases per customer"),
        DerivedColumn("predicted_total", "float64", False, "holdout repeat purchases predicted"),
        DerivedColumn("actual_total", "float64", False, "holdout repeat purchases made"),
        DerivedColumn("name", "string", False, "param rows: the parameter"),
        DerivedColumn("value", "float64", False, "param rows: its estimate"),
        DerivedColumn("se", "float64", False, "param rows: its standard error"),
        DerivedColumn("period", "int64", False, "holdout rows: periods after the calibration end (1 = first)"),
        DerivedColumn("period_start", "date", False, "holdout rows: the period's first day"),
        DerivedColumn("predicted", "float64", False, "holdout rows: repeat purchases the calibration fit expects"),
        DerivedColumn("actual", "float64", False, "holdout rows: repeat purchases of the calibration customers"),
        *RUN_COLUMNS,
    ),
    produced_by="`clvlab run` / `clvlab demo` (clvlab.value.diagnostics.write_run_diagnostics)",
)

#: derived tables by name
DERIVED: dict[str, DerivedContract] = {"scores": SCORES, "stages": STAGES, "health": HEALTH,
                                       "cohorts": COHORTS, "economics": ECONOMICS, "leads": LEADS,
                                       "churn": CHURN, "diagnostics": DIAGNOSTICS}


def new_run_id() -> str:
    """A sortable, unique run id: UTC time and a random suffix, e.g. ``20261205T092300Z-1a2b3c``."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _contract(name: str, where: str) -> DerivedContract:
    check_param(name in DERIVED, "name", where, f"one of {sorted(DERIVED)}", name)
    return DERIVED[name]


def _with_key_column(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.reset_index() if key not in frame.columns and frame.index.name == key else frame


def write_derived(
    workspace: Any, name: str, frame: pd.DataFrame, *, run_id: str | None = None,
    as_of: str | dt.date | None = None, values: Mapping[str, Any] | None = None,
) -> str:
    """Check ``frame`` against the contract of table ``name`` and replace the stored table.

    Parameters
    ----------
    workspace
        A :class:`clvlab.Workspace` (or anything with an Ibis backend as ``con``).
    name
        The derived table, a key of :data:`DERIVED` (``"scores"``).
    frame
        One row per key (the key as a column or as the index, e.g. the output of
        :func:`clvlab.score_customers`). Columns outside the contract are not stored.
    run_id
        Id of the run; a new one (:func:`new_run_id`) by default.
    as_of
        Date the figures hold as of (the RFM's observation end).
    values
        Constant columns of the contract to set on every row (e.g. ``time_unit``, ``model``).

    Returns
    -------
    str
        The run id written on every row.
    """
    where = "write_derived"
    contract = _contract(name, where)
    data = _with_key_column(frame, contract.key)
    run_id = run_id or new_run_id()
    extra = _constants(contract, where, values, run_id, as_of)
    _require(contract, where, "frame", [*data.columns, *extra])
    kept = [c for c in contract.columns if c.name in data.columns or c.name in extra]
    # Arrow, not pandas, carries the rows to the engine: strings stay Arrow strings (no Python
    # objects), and the key check is one hash pass in Arrow
    columns = {c.name: _arrow_column(data[c.name]) for c in kept if c.name not in extra}
    key = data[contract.key]
    keys = columns[contract.key] = _arrow_column(key if isinstance(key.dtype, pd.StringDtype) else key.astype(str)
                                                 .where(key.notna(), None))
    if keys.null_count or not _unique(keys):
        bad = key.isna() | key.duplicated()
        row = int(bad.to_numpy().argmax())
        issue = Issue("missing or repeated key", row=row + 1, column=contract.key, value=key.iloc[row])
        msg = f"{where}: '{name}' holds one row per {contract.key}"
        raise DataValidationError(msg, [issue])
    constants = {k: ibis.literal(None if v is None else pd.Timestamp(v).date() if k == "as_of" else v,
                                 type=contract.column(k).dtype) for k, v in extra.items()}
    # in batches of DuckDB's row group: its insert then runs on every core and keeps the rows'
    # order (one 3-million-row batch is written by one thread: twice the time)
    table = pa.table(columns)
    rows = ibis.memtable(pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS), schema=table.schema))

    def store(target: Any) -> None:
        _store(target, name, rows.mutate(**constants), kept)

    defer = _DEFERRED.get()
    if defer is None or not defer(workspace, store):
        store(workspace)
    return run_id


#: inside :func:`deferred_writes`: who stores the checked rows of :func:`write_derived`
_DEFERRED: ContextVar[Callable[[Any, Callable[[Any], None]], bool] | None] = ContextVar(
    "clvlab_deferred_writes", default=None)


@contextmanager
def deferred_writes(defer: Callable[[Any, Callable[[Any], None]], bool]) -> Iterator[None]:
    """Inside the block :func:`write_derived` checks the rows and builds them as ever, then hands
    their storing to ``defer(workspace, store)``: ``store(target)`` writes them through the
    workspace ``target`` (a connection to the same database), and ``defer`` returns False to have
    them stored at once. A run stores its lifecycle tables on a second connection while it goes on
    computing (:mod:`clvlab.run_ahead`); it waits for them before it ends."""
    token = _DEFERRED.set(defer)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


#: rows per Arrow batch handed to the engine (DuckDB's row group size)
_BATCH_ROWS = 122_880


def _unique(keys: pa.Array | pa.ChunkedArray) -> bool:
    """No key twice: strictly increasing keys (a frame in id order, as most are) are checked by
    comparing neighbours; others by one hash of every key (``unique``: half the time of
    ``count_distinct`` on 3 million ids)."""
    if len(keys) > 1 and pc.all(pc.greater(keys[1:], keys[:-1])).as_py():
        return True
    return len(pc.unique(keys)) == len(keys)


def _arrow_column(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as Arrow: zero-copy where pandas holds it so (numbers, Arrow-backed strings),
    NaN as null as before; mixed Python objects as strings (the contract's cast decides)."""
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.astype(str).where(values.notna(), None), from_pandas=True)


def write_derived_expr(
    workspace: Any, name: str, table: ir.Table, *, run_id: str | None = None,
    as_of: str | dt.date | None = None, values: Mapping[str, Any] | None = None,
    target: str | None = None,
) -> str:
    """:func:`write_derived` for an expression that stays in the engine (computed there, never
    collected, e.g. scores on Spark): its columns checked against the contract, constants added,
    types cast, written as ``target`` (default ``name``; ``"db.table"`` names a database). One
    row per key is the caller's promise (scores: one row per customer of the RFM)."""
    where = "write_derived_expr"
    contract = _contract(name, where)
    run_id = run_id or new_run_id()
    extra = _constants(contract, where, values, run_id, None if as_of is None else pd.Timestamp(as_of).date())
    table = table.mutate(**{k: ibis.literal(v, type=contract.column(k).dtype) for k, v in extra.items()})
    _require(contract, where, "table", table.columns)
    _store(workspace, target or name, table, [c for c in contract.columns if c.name in table.columns])
    return run_id


def _constants(contract: DerivedContract, where: str, values: Mapping[str, Any] | None, run_id: str,
               as_of: Any) -> dict[str, Any]:
    """The constant columns to set on every row (``values``, ``run_id``, ``as_of``), each checked
    to be a column of the contract."""
    extra = {**(values or {}), "run_id": run_id, "as_of": as_of}
    for key in extra:
        check_param(key in contract.names, "values", where, f"columns of '{contract.name}'", key)
    return extra


def _require(contract: DerivedContract, where: str, what: str, columns: Container[str]) -> None:
    """Refuse a ``what`` (frame, table) that lacks a required column of the contract."""
    missing = [c.name for c in contract.columns if c.required and c.name not in columns]
    if missing:
        msg = f"{where}: the {what} for '{contract.name}' lacks the column(s) {missing}"
        raise DataValidationError(msg, hint=f"build it as {contract.produced_by} does")


def _store(workspace: Any, name: str, table: ir.Table, kept: Sequence[DerivedColumn]) -> None:
    """Replace the stored table ``name`` (``"db.table"``: in that database) by ``table`` cast to the contract."""
    table = table.select(**{c.name: table[c.name].cast(c.dtype) for c in kept})
    database, _, short = name.rpartition(".")
    workspace.con.create_table(short, table, database=database or None, overwrite=True)


@overload
def read_derived(source: Any, name: str, *, columns: Sequence[str] = ..., where: str,
                 missing_ok: Literal[False] = ...) -> ir.Table: ...
@overload
def read_derived(source: Any, name: str, *, columns: Sequence[str] = ..., where: str,
                 missing_ok: bool) -> ir.Table | None: ...
def read_derived(
    source: Any, name: str, *, columns: Sequence[str] = (), where: str, missing_ok: bool = False
) -> ir.Table | None:
    """The derived table ``name`` as an Ibis table, key column as strings.

    Parameters
    ----------
    source
        A Workspace (its stored table ``name``), an ``ibis.Table``, or a pandas frame (the key as
        a column or the index), e.g. the output of :func:`clvlab.score_customers`.
    name
        The derived table, a key of :data:`DERIVED`.
    columns
        Columns the caller needs besides the key; a located error names the missing ones.
    where
        The caller's name, for messages.
    missing_ok
        Return None (instead of raising) when a workspace has no such table.
    """
    contract = _contract(name, where)
    table: ir.Table
    if isinstance(source, ir.Table):
        table = source
    elif isinstance(source, pd.DataFrame):
        table = ibis.memtable(_with_key_column(source, contract.key))
    elif callable(getattr(source, "tables", None)) and callable(getattr(source, "table", None)):
        if name not in source.tables():
            if missing_ok:
                return None
            msg = f"{where}: the workspace has no table '{name}'"
            raise DataValidationError(msg, hint=f"run {contract.produced_by} first")
        table = source.table(name)
    else:
        check_param(False, "source", where, f"a Workspace, an ibis.Table or a pandas DataFrame of {name}",
                    type(source).__name__)
        raise AssertionError  # pragma: no cover - check_param raised
    have = list(table.columns)
    missing = [c for c in (contract.key, *columns) if c not in have]
    if missing:
        msg = f"{where}: the {name} lack column(s) {missing} (columns: {', '.join(map(str, have))})"
        raise DataValidationError(msg, hint=f"use the table written by {contract.produced_by}")
    return table.mutate(**{contract.key: table[contract.key].cast("string")})
