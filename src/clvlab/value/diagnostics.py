"""A run's model diagnostics, kept in the workspace: the comparison, the chosen fits, the
holdout tracked period by period (the derived table ``diagnostics``).

:func:`holdout_tracking` is the tracking plot of Fader, Hardie & Lee (2005) on the holdout:
for each period after the calibration end, the repeat purchases the calibration fit expects of
the calibration customers (``sum_i E[N_i(k)] - E[N_i(k - 1)]``, conditional on each one's
calibration history) beside the purchase periods those customers had (one purchase = one
period with a purchase, the definition of ``frequency``). The sums over the holdout equal
``predicted_total`` and ``actual_total`` of :func:`clvlab.evaluate_holdout`.

:func:`write_run_diagnostics` stores all of it in one table through
:func:`clvlab.derived.write_derived`, one row per fact, told apart by ``kind``:

=========  =====================================================================================
kind       row
=========  =====================================================================================
run        the settings and the data hash (``text``, JSON)
model      a candidate: fit status, log-likelihood, BIC, holdout MAE, predicted and actual totals
param      a parameter of the chosen purchase model or of the spend model (refitted on the
           whole period): ``value``, standard error ``se``; ``status`` is the fit's verdict
holdout    holdout period ``period`` (1 = the first after the calibration end), its first day
           ``period_start``, ``predicted`` and ``actual`` repeat purchases
=========  =====================================================================================

:func:`read_run_diagnostics` reads it back as one frame per kind.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from clvlab.pipeline import ClvRun

__all__ = ["holdout_tracking", "read_run_diagnostics", "write_run_diagnostics"]

KINDS = ("run", "model", "param", "holdout")


def _period_start(tick: int, freq: str) -> dt.date:
    """First day of the period with index ``tick`` (:func:`clvlab.features.rfm._ticks`)."""
    from clvlab.features.rfm import _EPOCH

    if freq == "M":
        return dt.date((tick - 1) // 12, (tick - 1) % 12 + 1, 1)
    return _EPOCH + dt.timedelta(days=tick * (7 if freq == "W" else 1))


def holdout_tracking(source: Any, model: Any, cal: pd.DataFrame) -> pd.DataFrame:
    """Predicted and actual repeat purchases per holdout period (see the module docstring).

    Parameters
    ----------
    source
        The transactions ``cal`` was built from (a Workspace or an Ibis table).
    model
        The purchase model fitted on ``cal``'s calibration columns.
    cal
        :func:`clvlab.calibration_holdout` output (its ``attrs`` name the dates and unit).

    Returns
    -------
    pandas.DataFrame
        Index ``period`` (1, 2, ...); ``period_start``, ``predicted``, ``actual`` and their
        running sums ``predicted_cumulative``, ``actual_cumulative``.
    """
    import ibis

    from clvlab.features.rfm import _periods, _prepare, _source_table, _ticks
    from clvlab.models._btyd import distinct_rows
    from clvlab.value._expected import cumulative_purchases

    freq, exact = cal.attrs["freq"], bool(cal.attrs.get("exact", False))
    cal_end = dt.date.fromisoformat(cal.attrs["calibration_end"])
    end = dt.date.fromisoformat(cal.attrs["observation_end"])
    n = round(float(cal["duration_holdout"].max()))
    ends = np.arange(1, n + 1, dtype=np.float64)
    rows = distinct_rows({"x": cal["frequency_cal"].to_numpy(np.float64),
                          "tx": cal["recency_cal"].to_numpy(np.float64), "T": cal["T_cal"].to_numpy(np.float64)})
    cum = cumulative_purchases(model, rows.column("x"), rows.column("tx"), rows.column("T"), ends)
    predicted = np.diff(rows.weights @ cum, prepend=0.0)

    tx = _prepare(_source_table(source, "holdout_tracking"), customer_id="customer_id", datetime="ordered_at",
                  monetary="amount", include_refunds=False, where="holdout_tracking")
    tx = tx.filter(tx.day <= ibis.date(end))
    firsts = tx.group_by("cid").aggregate(first=tx.day.min()).filter(lambda t: t.first <= ibis.date(cal_end))
    periods = _periods(tx.filter(tx.day > ibis.date(cal_end)), freq, exact, True)
    start = _ticks(ibis.date(cal_end), freq, exact)
    hold = periods.semi_join(firsts, "cid").mutate(k=(periods.p - start).cast("int64"))
    counts = hold.group_by("k").aggregate(actual=hold.count()).execute()
    # the rest of the calibration end's own period (k = 0) counts in the first holdout period
    counts["k"] = counts["k"].clip(lower=1)
    actual = counts.groupby("k")["actual"].sum().reindex(range(1, n + 1), fill_value=0).to_numpy(np.float64)
    first_tick = _tick_value(cal_end, freq)
    frame = pd.DataFrame({
        "period_start": [cal_end + dt.timedelta(days=1),
                         *(_period_start(first_tick + k, freq) for k in range(2, n + 1))],
        "predicted": predicted, "actual": actual,
    }, index=pd.RangeIndex(1, n + 1, name="period"))
    frame["predicted_cumulative"] = frame["predicted"].cumsum()
    frame["actual_cumulative"] = frame["actual"].cumsum()
    frame.attrs.update(freq=freq, calibration_end=cal_end.isoformat(), observation_end=end.isoformat(),
                       model=type(model).__name__, n_customers=len(cal))
    return frame


def _tick_value(day: dt.date, freq: str) -> int:
    """The period index of ``day`` computed in Python, as :func:`clvlab.features.rfm._ticks`."""
    from clvlab.features.rfm import _EPOCH

    if freq == "M":
        return day.year * 12 + day.month
    days = (day - _EPOCH).days
    return days // 7 if freq == "W" else days


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _param_rows(model: Any) -> list[dict[str, Any]]:
    name = type(model).__name__
    status = model.fit_status_
    return [{"key": f"param={name}.{p}", "kind": "param", "model": name, "name": p, "value": _number(v),
             "se": _number(model.standard_errors_.get(p)), "status": status.label, "text": status.message(name),
             "log_likelihood": _number(model.log_likelihood_)}
            for p, v in model.params_.items()]


def diagnostics_frame(run: ClvRun) -> pd.DataFrame:
    """The rows of the ``diagnostics`` table for a CLV run (see the module docstring)."""
    diag = run.diagnostics()
    record = {"settings": diag["settings"], "data_hash": diag["data_hash"], "n_customers": diag["n_customers"],
              "voc_model": diag["voc_model"]}
    rows: list[dict[str, Any]] = [{"key": "run", "kind": "run", "model": run.best, "text": json.dumps(record)}]
    for name, r in run.comparison.iterrows():
        rows.append({
            "key": f"model={name}", "kind": "model", "model": str(name), "chosen": name == run.best,
            "status": str(r.get("status", "")), "text": str(r.get("status_message") or r.get("error") or ""),
            **{c: _number(r.get(c)) for c in ("log_likelihood", "bic", "holdout_mae", "predicted_total",
                                               "actual_total")},
        })
    rows += _param_rows(run.model)
    if run.spend_model is not None:
        rows += _param_rows(run.spend_model)
    if run.tracking is not None:
        for k, rec in zip(run.tracking.index.tolist(), run.tracking.to_dict("records"), strict=True):
            rows.append({"key": f"holdout={k}", "kind": "holdout", "model": run.best, "period": int(k),
                         "period_start": rec["period_start"], "predicted": float(rec["predicted"]),
                         "actual": float(rec["actual"])})
    frame = pd.DataFrame(rows)
    frame["chosen"] = frame.get("chosen", pd.Series(dtype=object)).astype("boolean")
    frame["period"] = frame.get("period", pd.Series(dtype=float)).astype("Int64")
    return frame


def write_run_diagnostics(workspace: Any, run: ClvRun, *, run_id: str) -> str:
    """Store the run's diagnostics as the derived table ``diagnostics`` under ``run_id``."""
    from clvlab.derived import write_derived

    return write_derived(workspace, "diagnostics", diagnostics_frame(run), run_id=run_id,
                         as_of=run.settings["observation_end"])


def read_run_diagnostics(workspace: Any, *, where: str) -> dict[str, Any]:
    """The ``diagnostics`` table as ``{"run": dict, "model": frame, "param": frame, "holdout": frame,
    "run_id": str, "as_of": str}`` (a located error when the workspace has none)."""
    from clvlab.derived import read_derived

    frame = read_derived(workspace, "diagnostics", columns=("kind",), where=where).execute()
    parts = {kind: frame[frame["kind"] == kind].reset_index(drop=True) for kind in KINDS}
    run = parts["run"]
    out: dict[str, Any] = {**parts, "run": json.loads(run["text"].iloc[0]) if len(run) else {}}
    out["run_id"] = str(frame["run_id"].iloc[0]) if len(frame) else None
    out["as_of"] = str(pd.Timestamp(frame["as_of"].iloc[0]).date()) if len(frame) and "as_of" in frame else None
    out["holdout"] = parts["holdout"].sort_values("period").reset_index(drop=True)
    return out
