"""The churn watchlist: churn probability x CLV = CLV at risk, ranked, with reasons; the ``churn`` table.

:func:`churn_watchlist` fits :class:`~clvlab.ChurnModel` on the time splits that end on
``as_of`` and scores every customer as of ``as_of``; the CLV comes from the workspace's
``scores`` table (written by ``clvlab run`` / ``clvlab score``), which must hold as of the same
date. :func:`write_churn_table` stores the result as the derived table ``churn``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

#: columns of the watchlist besides the reasons, in display order
COLUMNS = ("rank", "p_churn", "clv", "clv_at_risk")
#: the ``churn`` table of a run carries the reasons of this many first ranks (null below)
REASONS = 2000


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
    from clvlab.lifecycle.churn import ChurnModel
    from clvlab.lifecycle.churn_features import Feedback

    where = "churn_watchlist"
    clv, scores_as_of = scores_clv(source, where)
    day = as_of if as_of is not None else scores_as_of
    if model is None:
        model = ChurnModel(window=window, thresholds=thresholds)
    feedback = None
    if model.estimator_ is None:
        from clvlab.lifecycle._features import check_as_of, purchase_days

        end = check_as_of(day, purchase_days(source, where), where)
        feedback = Feedback.read(source, end) if model.voc else None
        model.fit_workspace(source, as_of=end, app_store=app_store, feedback=feedback)
    scored = model.score(source, as_of=day, app_store=app_store, feedback=feedback, reasons=False)
    if scores_as_of is not None and scores_as_of != scored.attrs["as_of"]:
        msg = (f"{where}: the scores table holds as of {scores_as_of}, not {scored.attrs['as_of']}: "
               "CLV at risk needs the CLV of the same date")
        raise DataValidationError(msg, hint=f"score as of {scored.attrs['as_of']} first (clvlab run --as-of "
                                  f"{scored.attrs['as_of']}), or use as_of={scores_as_of}")
    scored["clv"] = clv.reindex(scored.index)  # the frame is ours: no copy of millions of rows
    scored["clv_at_risk"] = scored["p_churn"] * scored["clv"]
    # by CLV at risk, then P(churn), both descending, NaN last, ties in customer order: numpy's stable
    # lexsort of the negated keys and one take (pandas' sort_values factorises both keys first)
    order = np.lexsort((-scored["p_churn"].to_numpy(dtype=float), -scored["clv_at_risk"].to_numpy(dtype=float)))
    out = scored.take(order)
    as_of_scored = scored.attrs["as_of"]
    del scored
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    for c in ("clv_at_risk", "clv", "p_churn"):
        out.insert(1, c, out.pop(c))
    head = out if reasons is None else out.head(reasons)
    why = model.reasons(head.drop(columns=list(COLUMNS)))
    for k, c in enumerate(why.columns):  # the ranks below the head get no reasons (None)
        column = np.full(len(out), None, dtype=object)
        column[:len(why)] = why[c].to_numpy()
        out.insert(len(COLUMNS) + k, c, column)
    out.attrs.update(as_of=as_of_scored, window=model.window, split=model.split_)
    return out


def write_churn_table(workspace: Any, *, as_of: str, run_id: str, app_store: Any = None,
                      top: int = 10, reasons: int | None = REASONS) -> dict[str, Any]:
    """Compute the watchlist as of ``as_of`` and store it as the table ``churn`` with ``run_id``
    (the reasons of the first ``reasons`` ranks).

    Returns a JSON-ready record: customers, total CLV and CLV at risk, the training split and the
    first ``top`` rows (or why the watchlist was not computed: too little history).
    """
    from clvlab.derived import write_derived

    try:
        table = churn_watchlist(workspace, as_of=as_of, app_store=app_store, reasons=reasons)
    except DataValidationError as exc:
        return {"error": str(exc)}
    write_derived(workspace, "churn", table.rename(columns={"since_days": "days_since_last"}), run_id=run_id,
                  as_of=as_of, values={"window_days": table.attrs["window"]})
    head = table.head(top)[[*COLUMNS, "reason_1", "reason_2", "reason_3"]].reset_index()
    return {"as_of": table.attrs["as_of"], "window_days": table.attrs["window"], "customers": len(table),
            "clv": float(table["clv"].sum()), "clv_at_risk": float(table["clv_at_risk"].sum()),
            "split": table.attrs["split"], "watchlist": head.to_dict(orient="records")}


__all__ = ["churn_watchlist", "write_churn_table"]
