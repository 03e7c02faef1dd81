"""Write the derived tables ``cohorts`` and ``economics`` (contracts in :mod:`clvlab.derived`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from clvlab.derived import write_derived
from clvlab.value.cohorts import cohort_table
from clvlab.value.economics import unit_economics

__all__ = ["write_cohorts_table", "write_economics_table", "write_economics_tables"]


def _group_key(row: pd.Series, by: list[str]) -> str:
    return "|".join(f"{k}={row[k]}" for k in by) or "all"


def _within_data(workspace: Any, as_of: str | dt.date | None) -> str | dt.date | None:
    """``as_of``, or the last order day when ``as_of`` lies after it."""
    from clvlab.lifecycle._features import data_range, purchase_days
    from clvlab.value.cohorts import parse_as_of

    day = parse_as_of(as_of, "write_economics_tables")
    if day is None:
        return None
    last = data_range(purchase_days(workspace, "write_economics_tables"))[1]
    return min(day, last)


def write_economics_tables(
    workspace: Any, *, run_id: str, as_of: str | dt.date | None = None, period: str = "month",
    margin: float | None = None, retention_cost: float | None = None,
) -> dict[str, Any]:
    """Write ``cohorts`` (always, from the transactions) and ``economics`` (by channel when the
    customers carry one, and by cohort; with CAC when spend or acquisition costs are loaded).

    ``margin`` and ``retention_cost`` as in :func:`clvlab.unit_economics` (None: from the data).
    A run as of a day after the last order (a run on the 31st when the last sale was on the 30th)
    computes both as of the last order day, which the tables' ``as_of`` then says: cells after
    the data would read as customers who left. The run's scores still give the model CLV:
    nothing was bought between the two days (:func:`clvlab.unit_economics`).

    Without spend or acquisition costs the economics hold no CAC, LTV:CAC or payback, and their
    notes say what to load.

    Returns the names of the tables written and ``cac``: where CAC came from, else what to load.
    """
    end = write_cohorts_table(workspace, run_id=run_id, as_of=as_of, period=period)
    return write_economics_table(workspace, run_id=run_id, as_of=end, period=period, margin=margin,
                                 retention_cost=retention_cost)


def write_cohorts_table(workspace: Any, *, run_id: str, as_of: str | dt.date | None, period: str = "month") -> str:
    """Write ``cohorts`` as of ``as_of`` (the last order day when ``as_of`` is None or after it, as
    :func:`write_economics_tables` says); returns the day it holds as of (ISO)."""
    cells = cohort_table(workspace, period=period, as_of=_within_data(workspace, as_of))  # type: ignore[arg-type]
    cells["cell"] = cells["cohort"].dt.strftime("%Y-%m-%d") + "|" + cells["age"].astype(str)
    cells["period"] = period
    cells["cohort"] = cells["cohort"].dt.date
    end = str(cells.attrs["as_of"])
    write_derived(workspace, "cohorts", cells, run_id=run_id, as_of=end)
    return end


def write_economics_table(workspace: Any, *, run_id: str, as_of: str | dt.date, period: str = "month",
                          margin: float | None = None, retention_cost: float | None = None) -> dict[str, Any]:
    """Write ``economics`` as of ``as_of`` (the day the ``cohorts`` hold as of; the model CLV comes
    from the ``scores`` table, which must be written first); returns the record of
    :func:`write_economics_tables`."""
    tables = workspace.tables()
    channel = "customers" in tables and "acquisition_channel" in workspace.table("customers").columns
    by = ["channel", "cohort"] if channel else ["cohort"]
    econ = unit_economics(workspace, by=by, period=period, as_of=as_of, margin=margin,  # type: ignore[arg-type]
                          cac=None, retention_cost=retention_cost)
    econ["group"] = [_group_key(r, by) for _, r in econ.iterrows()]
    econ["notes"] = "; ".join([*econ.attrs["notes"], f"margin: {econ.attrs['margin_source']}"])
    write_derived(workspace, "economics", econ, run_id=run_id, as_of=as_of)
    return {"tables": ["cohorts", "economics"], "cac": econ.attrs["cac"]}
