"""Workspace reads that a page and its API route share (the page renders them, the route returns
them as JSON): the customer list, VoC figures, keywords, themes, sentiment and drivers, lifecycle sizes and the open cases over
the user's scope, the customer journey, the experiments and one experiment's analysis.

The two reads that compute rather than read (the text analysis of the latest comments, an
experiment's analysis: about a second each on the demo) are remembered per worker by
:func:`remembered`, keyed by what their answer depends on, so a page and its API route, or the
same page again, pay once per new run."""

from __future__ import annotations

import hashlib
import os
import threading
import typing
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Annotated, Any, TypeVar

import pandas as pd
from fastapi import Path

from clvlab.server.deps import NO_NUL
from clvlab.server.scope import NotFoundError, Scope

ExperimentId = Annotated[str, Path(max_length=200, pattern=NO_NUL)]

_T = TypeVar("_T")
#: answers :func:`remembered` keeps per worker (least recently used dropped first)
REMEMBERED = 32
_memory: OrderedDict[Hashable, Any] = OrderedDict()
_memory_lock = threading.Lock()


def remembered(key: Hashable, compute: Callable[[], _T]) -> _T:
    """``compute()``, kept under ``key`` for the next call (the last :data:`REMEMBERED` keys).

    ``key`` must hold everything the answer depends on (the snapshot's identity, or a digest of
    the input), so a new run, or other comments, are computed anew; never a user's identity
    alone (scoping happens before, in the input). Two requests computing the same key at once
    both compute; the answer is the same.
    """
    with _memory_lock:
        if key in _memory:
            _memory.move_to_end(key)
            return typing.cast(_T, _memory[key])
    value = compute()
    with _memory_lock:
        _memory[key] = value
        while len(_memory) > REMEMBERED:
            _memory.popitem(last=False)
    return value


def snapshot_key(ws: Any) -> tuple[str, int, int] | None:
    """The identity of a workspace file (path, inode, mtime): a new run publishes a new one. The
    one the snapshot reader opened when it recorded it (a run published during the request then
    never files the old snapshot's answer under the new one's key), else the file's now."""
    opened = getattr(ws, "opened_as", None)
    if opened is not None:
        return typing.cast(tuple[str, int, int], opened)
    path = getattr(ws, "path", None)
    if path is None:
        return None
    st = os.stat(path)
    return str(path), st.st_ino, st.st_mtime_ns


def frame_digest(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns and values."""
    rows = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(rows.tobytes() + "|".join(map(str, frame.columns)).encode()).hexdigest()


def experiment_list(ws: Any) -> pd.DataFrame:
    """:func:`clvlab.experiments.list_experiments` of the workspace (empty without experiments)."""
    from clvlab.experiments import list_experiments

    return list_experiments(ws)


def analysis(ws: Any, experiment_id: str) -> Any:
    """The analysis of one listed experiment (:class:`NotFoundError` for an id not in the list)."""
    from clvlab.experiments import analyze_experiment

    if experiment_id not in set(experiment_list(ws)["experiment_id"].astype(str)):
        msg = f"no experiment '{experiment_id}'"
        raise NotFoundError(msg, hint="GET /api/v1/experiments lists them")
    stamp = snapshot_key(ws)
    if stamp is None:
        return analyze_experiment(ws, experiment_id)
    return remembered(("experiment", stamp, experiment_id), lambda: analyze_experiment(ws, experiment_id))


#: the events file of the bundled demo (made up: CDNOW has no site visits)
DEMO_EVENTS = "demo_events.csv.gz"
#: answers below which a touchpoint's figure is flagged as a small sample
MIN_N = 30


def journey_data(scope: Scope, ws: Any, stores: Iterable[str] | None = None) -> dict[str, Any]:
    """The touchpoints (:func:`clvlab.voc.journey.touchpoint_summary`), the funnel
    (:func:`clvlab.voc.journey.drop_away`) and the label keys of the funnel's notes, over the scope
    (and ``stores``, checked)."""
    from clvlab.voc.journey import drop_away as funnel
    from clvlab.voc.journey import touchpoint_summary

    tables = ws.tables()
    notes = []
    points = touchpoint_summary(scope.feedback(ws, stores=stores), min_n=MIN_N) if "feedback" in tables else pd.DataFrame()
    events = scope.table(ws, "events", stores=stores) if "events" in tables else None
    purchases = scope.table(ws, "transactions", stores=stores) if "transactions" in tables else None
    steps = funnel(events, purchases)
    if events is None:
        notes.append("no_events")
    elif "_source" in events.columns and DEMO_EVENTS in set(events.select("_source").distinct().execute()["_source"]):
        notes.append("demo_events")
    if scope.stores is not None:
        notes.append("funnel_scoped")
    return {"touchpoints": points, "funnel": steps, "notes": notes}


#: customer list sort keys: (column, descending)
SORTS = {"clv": ("clv", True), "health": ("health", False), "customer": ("customer_id", False),
         "p_alive": ("p_alive", False)}
#: the customer list's filter columns
CUSTOMER_FILTERS = ("segment", "stage", "store_id")


def customer_table(scope: Scope, ws: Any, store: str | None) -> Any:
    """The user's scored customers with segment, stage and health (Ibis), of ``store`` when asked
    (checked)."""
    table = scope.scores(ws, stores=[store] if store else None)
    keep = ["customer_id", "store_id", "clv", "p_alive", *(["segment"] if "segment" in table.columns else [])]
    table = table.select(*keep)
    for name, cols in (("stages", ("stage",)), ("health", ("health", "band"))):
        if name in ws.tables():
            other = ws.table(name)
            other = other.select(customer_id=other.customer_id.cast("string"), **{c: other[c] for c in cols})
            table = table.left_join(other, "customer_id").select(*table.columns, *cols)
    return table


def filter_options(table: Any) -> dict[str, list[str]]:
    """The values each of :data:`CUSTOMER_FILTERS` takes in ``table`` (none for a missing column)."""
    return {c: sorted(str(v) for v in table.select(c).distinct().execute()[c].dropna()) if c in table.columns else []
            for c in CUSTOMER_FILTERS}


def customer_search(table: Any, q: str | None, segment: str | None, stage: str | None, sort: str | None) -> Any:
    """``table`` (of :func:`customer_table`) whose ids contain ``q``, of ``segment`` and ``stage``,
    sorted by ``sort`` (a :data:`SORTS` key; CLV, highest first, otherwise), ties by id."""
    column, descending = SORTS.get(sort or "clv", SORTS["clv"])
    if q:
        table = table.filter(table.customer_id.contains(q))
    for name, value in (("segment", segment), ("stage", stage)):
        if value and name in table.columns:
            table = table.filter(table[name] == value)
    key = table[column].desc() if descending else table[column].asc()
    return table.order_by([key] if column == "customer_id" else [key, table.customer_id])


def feedback_figures(scope: Scope, ws: Any, by: tuple[str, ...], metric: str = "nps", min_n: int = 30,
                     stores: Iterable[str] | None = None) -> pd.DataFrame:
    """NPS (or CSAT, CES) of the user's feedback (of ``stores`` when asked, checked) by ``by``
    (``stage`` joins the customers' stages), with 95% intervals (empty: no answers)."""
    from clvlab.voc.metrics import feedback_metrics

    if "feedback" not in ws.tables():
        return pd.DataFrame()
    table = scope.feedback(ws, stores=stores)
    if "metric" in table.columns and int(table.filter(table.metric.lower() == metric).count().execute()) == 0:
        return pd.DataFrame()
    if by == ("stage",):
        stages = scope.table(ws, "stages", stores=stores).select("customer_id", "stage")
        table = table.left_join(stages, table.customer_id.cast("string") == stages.customer_id) \
            .select(*table.columns, stages.stage)
        table = table.mutate(stage=table.stage.fill_null("(unscored)"))
    return feedback_metrics(table, metric=metric, by=by, min_n=min_n)  # type: ignore[arg-type]


#: comments read for the keywords and the comment analysis, and keywords shown
KEYWORD_COMMENTS, KEYWORDS = 2000, 15


def latest_comments(scope: Scope, ws: Any, stores: Iterable[str] | None = None) -> pd.DataFrame:
    """The user's latest :data:`KEYWORD_COMMENTS` non-empty comments (of ``stores`` when asked,
    checked) with the feedback's other columns, newest first; empty without comments."""
    if "feedback" not in ws.tables() or "comment" not in (fb := scope.feedback(ws, stores=stores)).columns:
        return pd.DataFrame()
    fb = fb.filter(fb.comment.notnull() & (fb.comment.length() > 0))
    return pd.DataFrame(fb.order_by(fb.responded_at.desc()).limit(KEYWORD_COMMENTS).execute())


def keywords(comments: pd.DataFrame) -> pd.DataFrame:
    """The :data:`KEYWORDS` words in most of ``comments`` (:func:`latest_comments`): ``word``,
    ``comments``, ...; empty without comments."""
    from clvlab.text.keywords import word_frequency

    texts = comments.get("comment", pd.Series(dtype=str))
    words = word_frequency(texts.astype(str).tolist()) if len(texts) else pd.DataFrame()
    if words.empty:
        return words
    return words.sort_values(["comments", "word"], ascending=[False, True]).head(KEYWORDS)  # by answers holding it


#: the drivers of NPS read from the comments (as ``clvlab voc drivers``), when the feedback has them
COMMENT_DRIVERS = ("touchpoint", "themes")


def comment_analysis(frame: pd.DataFrame, min_n: int = MIN_N) -> dict[str, pd.DataFrame]:
    """Themes, sentiment and NPS drivers of ``frame``, the user's latest comments
    (:func:`latest_comments`), by :func:`clvlab.text.analyze.analyze_text` and
    :func:`clvlab.voc.drivers.nps_drivers`: ``themes`` (``theme``, ``label``, ``source``,
    ``keywords``, ``n``, ``share`` of the comments), ``sentiment`` (``sentiment``, ``comments``,
    ``share``) and ``drivers`` (the NPS answers among them: ``driver``, ``level``, ``importance_pct``,
    ``n``, ``nps``, ``gap`` with its interval, ...; empty below 3 answers). All empty without comments."""
    if frame.empty:
        return {"themes": pd.DataFrame(), "sentiment": pd.DataFrame(), "drivers": pd.DataFrame()}
    kept = remembered(("comments", frame_digest(frame), min_n), lambda: _comment_analysis(frame, min_n))
    return {name: table.copy() for name, table in kept.items()}  # callers may add columns


def _comment_analysis(frame: pd.DataFrame, min_n: int) -> dict[str, pd.DataFrame]:
    from clvlab.errors import DataValidationError
    from clvlab.text.analyze import SENTIMENT_LABELS, analyze_text
    from clvlab.voc.drivers import nps_drivers

    result = analyze_text(frame.reset_index(drop=True))
    themes = result.themes.assign(share=lambda d: d["n"] / len(frame)).sort_values(["n", "theme"], ascending=[False, True])
    labels = result.comments["sentiment"].value_counts().reindex(list(SENTIMENT_LABELS), fill_value=0)
    sentiment = pd.DataFrame({"sentiment": labels.index, "comments": labels.to_numpy(dtype=int),
                              "share": labels.to_numpy() / max(1, int(labels.sum()))})
    answers = frame.assign(themes=result.comments["themes"].to_numpy())
    try:
        drivers = nps_drivers(answers, drivers=[d for d in COMMENT_DRIVERS if d in answers.columns], min_n=min_n)
    except DataValidationError:  # fewer than 3 NPS answers
        drivers = pd.DataFrame()
    return {"themes": themes.reset_index(drop=True), "sentiment": sentiment, "drivers": drivers}


def group_sizes(scope: Scope, ws: Any, name: str, column: str, order: tuple[str, ...],
                mean: str | None = None, stores: Iterable[str] | None = None) -> pd.DataFrame:
    """Customers (``n``, and the ``mean`` of that column when asked) per value of ``column`` of the
    customer table ``name``, in the user's stores (``stores`` when asked, checked), indexed by value:
    ``order`` first, others sorted."""
    table = scope.table(ws, name, stores=stores)
    aggs = {"n": table.count(), **({"mean": table[mean].mean()} if mean else {})}
    frame = table.group_by(column).aggregate(**aggs).execute().set_index(column)
    keys = [k for k in order if k in frame.index] + sorted((k for k in frame.index if k not in order), key=str)
    return frame.loc[keys]


def as_of(ws: Any, name: str) -> str | None:
    """The ``as_of`` date of a derived table (None without one)."""
    value = ws.table(name).as_of.max().execute() if "as_of" in ws.table(name).columns else None
    return None if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


#: SLA states, the most urgent first
_SLA_ORDER = {"overdue": 0, "due soon": 1, "ok": 2, "missed": 3, "met": 4}


def open_cases(scope: Scope, store: Any, stores: Iterable[str] | None = None) -> list[Any]:
    """The user's open and in-progress cases (of ``stores`` when asked, checked) of the app ``store``
    as views, the most urgent first."""
    from clvlab.cases.service import CaseService
    from clvlab.store import Case

    svc = CaseService(store)
    with store.session() as s:
        views = [svc.view(c) for c in s.scalars(scope.cases(stores=stores).where(Case.state.in_(["open", "in_progress"])))]
    return sorted(views, key=lambda v: (_SLA_ORDER.get(v.sla_state, 9), v.due_at, v.id))


def clv_headline(clv: Iterable[float]) -> tuple[int, float, float]:
    """Customers, total CLV and the top decile's share of it in percent (NaN for no value)."""
    import math

    import numpy as np

    values = np.sort(np.asarray(list(clv), dtype=np.float64))[::-1]
    total = float(values.sum())
    top = float(values[: max(1, math.ceil(len(values) / 10))].sum() / total * 100) if total > 0 else float("nan")
    return len(values), total, top
