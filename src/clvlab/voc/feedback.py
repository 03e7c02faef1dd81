"""The feedback table as the survey metrics and drivers read it: dimensions, joins, counts.

``feedback_table`` resolves user-facing dimensions (``store`` -> ``store_id``), derives
``month``/``week`` from ``responded_at`` and joins ``stage``/``segment`` from the per-customer
``scores``; ``with_dimensions`` does the same for any other use of the feedback (comments).
``grouped_frame`` counts per group in the engine holding the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from clvlab.errors import DataValidationError, Hint, ParameterError, check_param

__all__ = ["DIMENSIONS", "feedback_table", "grouped_frame", "resolve_dimensions", "with_dimensions"]

#: user-facing dimension name -> column (derived ones are computed or joined)
DIMENSIONS: dict[str, str] = {"store": "store_id", "product": "product_id", "survey": "survey_id",
                              **{k: k for k in ("channel", "touchpoint", "month", "week", "stage", "segment")}}
_DERIVED_TIME = {"month": "M", "week": "W"}
#: per-customer dimensions joined from a derived table: stage from ``stages``, segment from ``scores``
_FROM_SCORES = {"stage": "stages", "segment": "scores"}
_NOT_DIMENSIONS = {"response_id", "responded_at", "score", "comment", "_key", "_source", "_loaded_at"}


def _as_table(source: Any, name: str, where: str) -> ir.Table:
    if isinstance(source, ir.Table):
        return source
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index() if source.index.name == "customer_id" else source
        con = ibis.duckdb.connect()
        con.con.register(name, frame)
        return con.table(name)
    result = source.table(name) if callable(getattr(source, "table", None)) else None
    if isinstance(result, ir.Table):
        return result
    check_param(False, "source", where, f"a Workspace, an ibis.Table or a pandas DataFrame of {name}",
                type(source).__name__)
    raise AssertionError  # pragma: no cover - check_param raised


def _scores_table(source: Any, scores: Any, name: str = "scores") -> ir.Table | None:
    from clvlab.derived import read_derived

    if scores is None and not callable(getattr(source, "tables", None)):
        return None  # feedback given as a table or frame: no workspace to find 'scores' in
    return read_derived(source if scores is None else scores, name, where="feedback_metrics",
                        missing_ok=True)


def _join_derived(t: ir.Table, source: Any, scores: Any, name: str, joined: list[str], where: str) -> ir.Table:
    """``t`` with the per-customer columns ``joined`` of derived table ``name`` (or of ``scores=``)."""
    sc = _scores_table(source, scores, name)
    missing = joined if sc is None else [c for c in joined if c not in sc.columns]
    if sc is None or "customer_id" not in t.columns:
        msg = (f"{where}: dimension(s) {joined} come from the per-customer table '{name}' joined on "
               "customer_id, which is not available")
        raise DataValidationError(msg, hint="run `clvlab demo` (or `clvlab score` for segment) first, or pass scores=")
    if missing:
        msg = f"{where}: the {name} table has no column {missing} (it has: {', '.join(sc.columns)})"
        raise DataValidationError(msg, hint="pass scores= a DataFrame with customer_id and " + ", ".join(missing))
    sc = sc.select("customer_id", *joined).rename({f"_s_{c}": c for c in joined})
    t = t.left_join(sc, t.customer_id == sc.customer_id.cast("string"))
    return t.mutate(**{c: ibis.coalesce(t[f"_s_{c}"].cast("string"), ibis.literal("(unscored)"))
                       for c in joined})


def resolve_dimensions(dims: Sequence[str], columns: Sequence[str], where: str) -> list[str]:
    """Canonical column names of ``dims``; unknown names raise with the valid list."""
    aliases = (k for k, v in DIMENSIONS.items() if v in columns or v in _DERIVED_TIME or v in _FROM_SCORES)
    valid = sorted({*aliases, *(c for c in columns if c not in _NOT_DIMENSIONS)})
    out: list[str] = []
    for dim in dims:
        col = DIMENSIONS.get(dim, dim)
        if col not in columns and col not in _DERIVED_TIME and col not in _FROM_SCORES:
            msg = f"{where}: unknown dimension {dim!r}; valid dimensions: {', '.join(valid)}"
            raise ParameterError(msg)
        if col not in out:
            out.append(col)
    return out


def with_dimensions(
    source: Any, dims: Sequence[str], *, where: str, scores: Any = None, table: ir.Table | None = None
) -> tuple[ir.Table, list[str]]:
    """The feedback (``table``, else ``source``'s) with a column per dimension, and their names.

    Dimensions are resolved as in :func:`resolve_dimensions`: aliases (``store``), feedback
    columns, ``month``/``week`` of ``responded_at`` (as dates) and ``stage``/``segment`` from the
    per-customer scores (``(unscored)`` for customers without one).
    """
    t = _as_table(source, "feedback", where) if table is None else table
    cols = list(t.columns)
    canon = resolve_dimensions(dims, cols, where)
    derived = [c for c in canon if c in _DERIVED_TIME and c not in cols]
    if derived and "responded_at" not in cols:
        msg = f"{where}: dimension(s) {derived} need a 'responded_at' column"
        raise DataValidationError(msg)
    if derived:
        t = t.mutate(**{c: t.responded_at.truncate(_DERIVED_TIME[c]).cast("date") for c in derived})
    joined = [c for c in canon if c in _FROM_SCORES and c not in cols]
    for name in dict.fromkeys(_FROM_SCORES[c] for c in joined):
        t = _join_derived(t, source, scores, name, [c for c in joined if _FROM_SCORES[c] == name], where)
    return t.select(*cols, *(c for c in canon if c not in cols)), canon


def feedback_table(
    source: Any, dims: Sequence[str], *, metric: str, where: str, scores: Any = None
) -> tuple[ir.Table, list[str]]:
    """Responses of ``metric`` with the dimension columns and ``score`` (float), as Ibis."""
    t = _as_table(source, "feedback", where)
    cols = list(t.columns)
    if "score" not in cols:
        msg = f"{where}: the feedback table has no 'score' column (columns: {', '.join(cols)})"
        raise DataValidationError(msg, hint=Hint("when you load the feedback", option="mapping",
                                                  value={"score": "<column>"}))
    if "metric" in cols:
        t = t.filter(t.metric.lower() == metric)
    t, canon = with_dimensions(source, dims, where=where, scores=scores, table=t.filter(t.score.notnull()))
    return t.mutate(score=t.score.cast("float64")).select(*canon, "score"), canon


def grouped_frame(t: ir.Table, canon: Sequence[str], *, metric: str, top_box: float) -> pd.DataFrame:
    """Per-group counts (and sums) computed in the engine; one row per group comes back."""
    s = t.score
    aggs: dict[str, Any] = {"n": s.count()}
    if metric == "nps":
        aggs["promoters"] = ibis.ifelse(s >= 9, 1, 0).sum()
        aggs["detractors"] = ibis.ifelse(s <= 6, 1, 0).sum()
    else:
        aggs.update(sum=s.sum(), sum_sq=(s * s).sum(), top_box=ibis.ifelse(s >= top_box, 1, 0).sum())
    expr = t.group_by(list(canon)).aggregate(**aggs) if canon else t.aggregate(**aggs)
    frame = expr.execute()
    frame = frame[frame["n"] > 0].reset_index(drop=True)
    if frame.empty:
        msg = f"no {metric} responses in the feedback"
        raise DataValidationError(msg, hint="check the 'metric' column values (nps, csat, ces)")
    for col in ("n", "promoters", "detractors", "top_box"):
        if col in frame.columns:
            frame[col] = frame[col].fillna(0).astype("int64")
    return frame
