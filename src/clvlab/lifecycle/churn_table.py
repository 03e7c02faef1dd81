"""The churn watchlist: churn probability x CLV = CLV at risk, ranked, with reasons; the ``churn`` table.

:func:`churn_watchlist` fits :class:`~clvlab.ChurnModel` on the time splits that end on
``as_of`` and scores every customer as of ``as_of``; the CLV comes from the workspace's
``scores`` table (written by ``clvlab run`` / ``clvlab score``), which must hold as of the same
date. :func:`write_churn_table` stores the result as the derived table ``churn``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from clvlab.errors import DataValidationError

#: columns of the watchlist besides the reasons, in display order
COLUMNS = ("rank", "p_churn", "clv", "clv_at_risk")
#: the ``churn`` table of a run carries the reasons of this many first ranks (null below)
REASONS = 2000
#: features stored in the ``churn`` table under another name
STORED = {"since_days": "days_since_last"}


def scores_clv(source: Any, where: str) -> tuple[pd.Series, str | None]:
    """``clv`` per customer from the ``scores`` table and the date it holds as of."""
    from clvlab.derived import read_derived

    table = read_derived(source, "scores", columns=("clv",), where=where, missing_ok=True)
    if table is None:
        msg = f"{where}: the workspace has no table 'scores': CLV at risk needs each customer's CLV"
        raise DataValidationError(msg, hint="score the customers first: clvlab run -w WORKSPACE")
    cols = ["customer_id", "clv", *(["as_of"] if "as_of" in table.columns else [])]
    frame = table.select(*cols).execute()
    as_of = None
    if "as_of" in frame and frame["as_of"].notna().any():
        as_of = pd.Timestamp(frame["as_of"].dropna().iloc[0]).date().isoformat()
    return frame.set_index("customer_id")["clv"].astype(float), as_of


@dataclass
class _Watchlist:
    """The watchlist before any frame is built: one array per column, customers in id order."""

    index: pd.Index
    p_churn: np.ndarray
    clv: np.ndarray
    clv_at_risk: np.ndarray
    #: positions of the customers by rank (rank 1 first)
    order: np.ndarray
    #: ``reason_1`` .. of the first ranks, in rank order
    reasons: pd.DataFrame
    features: dict[str, np.ndarray]
    attrs: dict[str, Any]

    def reason_columns(self) -> dict[str, Any]:
        """Each reason column for every customer in id order (null below the ranks explained), as
        Arrow strings: from millions of Python objects pandas would infer the type one by one."""
        row = np.full(len(self.index), -1, dtype=np.int64)
        row[self.order[:len(self.reasons)]] = np.arange(len(self.reasons))
        rows = pa.array(row, mask=row < 0)
        return {str(c): pa.array(self.reasons[c], type=pa.string(), from_pandas=True).take(rows).to_pandas().array
                for c in self.reasons.columns}


def churn_watchlist(
    source: Any, *, as_of: Any = None, window: int | None = None, app_store: Any = None, thresholds: Any = None,
    model: Any = None, reasons: int | None = None,
) -> pd.DataFrame:
    """Every customer who bought by ``as_of``, ranked by CLV at risk = ``p_churn`` x ``clv``.

    Parameters
    ----------
    source
        A Workspace with ``transactions`` and a ``scores`` table (``feedback`` for the VoC features).
    as_of
        The date (default: the date the ``scores`` table holds as of); the scores must hold as of it.
    window, thresholds
        As in :class:`~clvlab.ChurnModel` (churn = no purchase in the next ``window`` days).
    app_store
        The application store, for open cases.
    model
        A fitted :class:`~clvlab.ChurnModel` (default: fitted on the splits ending on ``as_of``).
    reasons
        Write the reasons of the first ``reasons`` ranks only (None: of everyone; the reasons
        of a customer cost one prediction per reason group).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``, sorted by ``rank`` (1 = most CLV at risk): ``rank``, ``p_churn``,
        ``clv``, ``clv_at_risk``, ``reason_1`` .. ``reason_3`` and the features behind them.
        ``attrs``: ``as_of``, ``window``, the training ``split``.
    """
    w = _watchlist(source, as_of=as_of, window=window, app_store=app_store, thresholds=thresholds, model=model,
                   reasons=reasons)
    order = w.order
    columns: dict[str, np.ndarray] = {"rank": np.arange(1, len(order) + 1), "p_churn": w.p_churn[order],
                                      "clv": w.clv[order], "clv_at_risk": w.clv_at_risk[order]}
    columns.update({c: v[order] for c, v in w.reason_columns().items()})
    columns.update({c: v[order] for c, v in w.features.items()})
    out = pd.DataFrame(columns, index=w.index[order], copy=False)  # the arrays are new: no second copy
    out.attrs.update(w.attrs)
    return out


@dataclass
class ChurnScores:
    """P(churn) of every customer who bought by ``day``, in id order, with the fitted model and
    the features behind it (one array per feature)."""

    model: Any
    index: pd.Index
    features: dict[str, np.ndarray]
    day: dt.date
    p_churn: np.ndarray


def churn_scores(source: Any, *, as_of: Any, window: int | None = None, app_store: Any = None,
                 thresholds: Any = None, model: Any = None) -> ChurnScores:
    """Fit :class:`~clvlab.ChurnModel` on the splits ending on ``as_of`` (unless ``model`` is
    fitted) and score every customer as of ``as_of``: what the watchlist ranks (it needs no CLV,
    so a run starts it ahead, :mod:`clvlab.run_ahead`)."""
    from clvlab.lifecycle.churn import ChurnModel
    from clvlab.lifecycle.churn_features import Feedback

    where = "churn_watchlist"
    if model is None:
        model = ChurnModel(window=window, thresholds=thresholds)
    feedback = None
    if model.estimator_ is None:
        from clvlab.lifecycle._features import check_as_of, purchase_days

        end = check_as_of(as_of, purchase_days(source, where), where)
        feedback = Feedback.read(source, end) if model.voc else None
        model.fit_workspace(source, as_of=end, app_store=app_store, feedback=feedback)
    # the features as arrays and P(churn) from blocks of the model's features: no frame of every
    # feature for millions of customers (the table keeps three of them)
    index, features, day = model._columns(source, as_of=as_of, app_store=app_store, feedback=feedback)
    return ChurnScores(model=model, index=index, features=features, day=day,
                       p_churn=model._probability(features, len(index)))


def _watchlist(source: Any, *, as_of: Any, window: int | None, app_store: Any, thresholds: Any, model: Any,
               reasons: int | None, clv: pd.Series | None = None, scored: ChurnScores | None = None) -> _Watchlist:
    """:func:`churn_watchlist` as arrays: the pipeline's table keeps a few of its columns, in id order.
    ``clv``: the CLV per customer as of ``as_of`` when the caller holds it (the run that just
    wrote the ``scores`` table), instead of reading that table back; ``scored``: the
    :func:`churn_scores` of ``as_of`` when the caller holds them."""
    from clvlab.lifecycle._features import aligned
    from clvlab.lifecycle.churn_features import float_frame

    where = "churn_watchlist"
    if clv is None:
        clv, scores_as_of = scores_clv(source, where)
    else:
        scores_as_of = None if as_of is None else pd.Timestamp(as_of).date().isoformat()
    if scored is None:
        scored = churn_scores(source, as_of=as_of if as_of is not None else scores_as_of, window=window,
                              app_store=app_store, thresholds=thresholds, model=model)
    day, index, features, p_churn, model = scored.day, scored.index, scored.features, scored.p_churn, scored.model
    if scores_as_of is not None and scores_as_of != day.isoformat():
        msg = (f"{where}: the scores table holds as of {scores_as_of}, not {day.isoformat()}: "
               "CLV at risk needs the CLV of the same date")
        raise DataValidationError(msg, hint=f"score as of {day.isoformat()} first (clvlab run --as-of "
                                  f"{day.isoformat()}), or use as_of={scores_as_of}")
    clv_of = aligned(clv, index)
    risk = p_churn * clv_of
    order = rank_order(risk, p_churn)
    head = order if reasons is None else order[:reasons]
    why = model.reasons(float_frame([v[head] for v in features.values()], index[head], list(features)))
    return _Watchlist(index=index, p_churn=p_churn, clv=clv_of, clv_at_risk=risk, order=order, reasons=why,
                      features=features, attrs={"as_of": day.isoformat(), "window": model.window,
                                                "split": model.split_})


def rank_order(risk: np.ndarray, p_churn: np.ndarray) -> np.ndarray:
    """Positions by CLV at risk, then P(churn), both descending, NaN last, ties in customer order:
    ``np.lexsort((-p_churn, -risk))``. One stable sort of the first key, and a lexsort of the tied
    rows alone (NaN and zero CLV): a lexsort of both keys sorts millions of rows twice."""
    order = np.argsort(-risk, kind="stable")
    ranked = risk[order]
    nan = np.isnan(ranked)
    tied = (ranked[1:] == ranked[:-1]) | (nan[1:] & nan[:-1])  # row k and k + 1 share the first key
    if tied.any():
        at = np.flatnonzero(np.r_[tied, False] | np.r_[False, tied])  # rows of a run of ties, in order
        run = np.cumsum(np.r_[True, ~tied[at[:-1]] | (np.diff(at) > 1)])  # the run each belongs to
        rows = order[at]  # in customer order within each run (the sort is stable)
        order[at] = rows[np.lexsort((-p_churn[rows], run))]
    return order


def write_churn_table(workspace: Any, *, as_of: str, run_id: str, app_store: Any = None,
                      top: int = 10, reasons: int | None = REASONS, clv: pd.Series | None = None,
                      scored: ChurnScores | None = None) -> dict[str, Any]:
    """Compute the watchlist as of ``as_of`` and store it as the table ``churn`` with ``run_id``
    (the reasons of the first ``reasons`` ranks). ``clv``: the CLV per customer as of ``as_of``
    (default: read from the ``scores`` table); ``scored``: the :func:`churn_scores` of ``as_of``
    (default: fitted and scored here).

    Returns a JSON-ready record: customers, total CLV and CLV at risk, the training split and the
    first ``top`` rows (or why the watchlist was not computed: too little history).
    """
    from clvlab.derived import DERIVED, write_derived

    try:
        w = _watchlist(workspace, as_of=as_of, window=None, app_store=app_store, thresholds=None, model=None,
                       reasons=reasons, clv=clv, scored=scored)
    except DataValidationError as exc:
        return {"error": str(exc)}
    rank = np.empty(len(w.order), dtype=np.int64)
    rank[w.order] = np.arange(1, len(w.order) + 1)
    reason_columns = w.reason_columns()
    # the rows in id order, as the features come: the key check of write_derived is then a comparison
    # of neighbours, not a hash of 3 million ids (the readers order by rank or CLV at risk); of the
    # features only those of the contract (the others would be dropped there)
    kept = {c.name for c in DERIVED["churn"].columns}
    features = {STORED.get(c, c): v for c, v in w.features.items() if STORED.get(c, c) in kept}
    table = pd.DataFrame({"p_churn": w.p_churn, "clv": w.clv, "clv_at_risk": w.clv_at_risk, "rank": rank,
                          **reason_columns, **features}, index=w.index, copy=False)  # Arrow takes the arrays as they are
    write_derived(workspace, "churn", table, run_id=run_id, as_of=as_of, values={"window_days": w.attrs["window"]})
    first = w.order[:top]
    head = pd.DataFrame({"rank": rank[first], "p_churn": w.p_churn[first], "clv": w.clv[first],
                         "clv_at_risk": w.clv_at_risk[first], **{c: v[first] for c, v in reason_columns.items()}},
                        index=w.index[first])
    # the totals summed in rank order, as ever (a float sum depends on the order)
    return {"as_of": w.attrs["as_of"], "window_days": w.attrs["window"], "customers": len(w.index),
            "clv": float(pd.Series(w.clv[w.order]).sum()),
            "clv_at_risk": float(pd.Series(w.clv_at_risk[w.order]).sum()),
            "split": w.attrs["split"], "watchlist": head.reset_index().to_dict(orient="records")}


__all__ = ["churn_watchlist", "write_churn_table"]
