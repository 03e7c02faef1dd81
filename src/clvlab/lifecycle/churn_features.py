"""Features of the churn early warning, per customer as of a date: behaviour and voice.

Behaviour comes from the lifecycle's one purchase query (:func:`~clvlab.lifecycle._features.
customer_features`, :func:`~clvlab.lifecycle._features.cadence_stats`): RFM, the customer's own
cadence (as in the stages), recency against it, the frequency and spend trends over the last
``window`` days against the window before; with ``history``, the longer purchase history of
:mod:`clvlab.lifecycle.churn_history` and Pareto/NBD's scores besides. The voice of the
customer comes from ``feedback`` (every answer up to the date; sentiment and complaint intents
of the comments, computed once for all dates) and from the application store (cases open on the
date). Nothing after the date is read: a test moves every later purchase and answer and checks
the features do not change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from clvlab.errors import ConvergenceWarning, muted
from clvlab.lifecycle._features import (
    customer_features,
    positions,
    reindex,
    rfm_as_of,
    shared,
)
from clvlab.lifecycle.churn_history import HISTORY, history_features
from clvlab.lifecycle.stages import _assign, cadence_key, resolved
from clvlab.lifecycle.thresholds import LifecycleThresholds

#: behaviour features (from the purchases)
BEHAVIOUR = ("n", "since_days", "last_gap_days", "cadence_days", "gap_ratio", "n_recent", "n_before",
             "frequency_trend", "spend", "mean_spend", "spend_recent", "spend_before", "spend_trend",
             "p_alive", "expected_purchases")
#: voice-of-the-customer features (NaN: the customer never answered / never commented)
VOC = ("has_feedback", "nps_latest", "nps_change", "csat_latest", "ces_latest", "sentiment_latest",
       "complaints", "open_cases")
FEATURES = BEHAVIOUR + VOC
#: behaviour features that are whole numbers (purchase days, days)
WHOLE = ("n", "since_days", "last_gap_days", "n_recent", "n_before")
#: behaviour features added by ``ChurnModel(history=True)``: the engine's purchase history
#: (:data:`~clvlab.lifecycle.churn_history.HISTORY`) and Pareto/NBD's two scores
EXTRA = (*HISTORY, "p_alive_pareto", "expected_purchases_pareto")


def behaviour_features(days: Any, as_of: dt.date, window: int, thresholds: LifecycleThresholds,
                       *, history: bool = False) -> pd.DataFrame:
    """:data:`BEHAVIOUR` (and :data:`EXTRA` with ``history``) per customer who bought by
    ``as_of`` (index ``customer_id``).

    ``cadence_days`` and ``gap_ratio`` are the stages' (own mean gap shrunk to the population's;
    days since the last purchase / cadence); trends compare the last ``window`` days with the
    ``window`` before: ``frequency_trend`` = recent / (recent + before) purchase days (NaN when
    the first purchase is inside the last window or there is none in either), likewise spend;
    ``p_alive`` and ``expected_purchases`` (in the next ``window`` days) of MBG/NBD fitted on
    the purchases up to ``as_of``. The age of the customer is left out on purpose: in a
    single-cohort log every customer is older on the scoring date than on any training date.
    """
    index, columns = behaviour_columns(days, as_of, window, thresholds, history=history)
    return float_frame(list(columns.values()), index, list(columns))


def behaviour_columns(days: Any, as_of: dt.date, window: int, thresholds: LifecycleThresholds,
                      *, history: bool = False) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """:func:`behaviour_features` as the customer index and one array per column, in order (the
    churn model stacks them with the voice features into one block: one copy of millions of rows)."""
    th = thresholds
    frame = customer_features(days, as_of, window)

    def cadence() -> pd.DataFrame:
        staged = frame.assign(p_alive=np.nan)
        _assign(staged, th, resolved(days, as_of, th))  # adds cadence_days and gap_ratio, as in the stages
        return staged[["cadence_days", "gap_ratio"]]

    # the stages' own when they ran on the date (the same customers in the same order)
    cadences = shared(cadence_key(days, as_of, th), cadence)
    # numpy columns, one float block at the end: pandas' per-column work costs seconds on millions of rows
    out = {c: frame[c].to_numpy(dtype=float) for c in ("n", "since_days", "last_gap_days")}
    out.update({c: cadences[c].to_numpy(dtype=float) for c in ("cadence_days", "gap_ratio")})
    young = frame["age_days"].to_numpy() < window
    for name, recent, before in (("frequency_trend", "n_recent", "n_before"),
                                 ("spend_trend", "spend_recent", "spend_before")):
        out[recent], out[before] = frame[recent].to_numpy(dtype=float), frame[before].to_numpy(dtype=float)
        r, b = np.clip(out[recent], 0, None), np.clip(out[before], 0, None)
        total = r + b
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(young | (total <= 0), np.nan, r / total)
    out["spend"] = frame["spend"].to_numpy(dtype=float)
    out["mean_spend"] = out["spend"] / out["n"]
    names = ("ModifiedBetaGeo", "ParetoNBD") if history else ("ModifiedBetaGeo",)
    fitted = purchase_models(days, as_of, window, frame.index, names)
    out["p_alive"], out["expected_purchases"] = fitted["ModifiedBetaGeo"]["p_alive"], fitted["ModifiedBetaGeo"]["expected"]
    cols = list(BEHAVIOUR)
    if history:
        extra = reindex(history_features(days, as_of), frame.index)
        out.update({c: extra[c].to_numpy(dtype=float) for c in HISTORY})
        out["p_alive_pareto"], out["expected_purchases_pareto"] = (fitted["ParetoNBD"]["p_alive"],
                                                                    fitted["ParetoNBD"]["expected"])
        cols += EXTRA
    # the engine sums floats in parallel, in no fixed order: the last bits vary from run to run,
    # and would move the model's bin edges and early stopping; 6 decimals make the fit repeatable
    # (counts and days are whole numbers, which rounding leaves as they are: not rounded again)
    return frame.index, {c: out[c] if c in WHOLE else np.round(out[c], 6) for c in cols}


def float_frame(columns: Sequence[np.ndarray], index: pd.Index, names: Sequence[str]) -> pd.DataFrame:
    """One float64 block of the 1-d ``columns``, built column by column (pandas keeps a frame's
    columns as the rows of its block: a row-wise stack would be transposed in a strided copy)."""
    block = np.vstack([np.asarray(c, dtype=float) for c in columns]) if columns else np.empty((0, len(index)))
    return pd.DataFrame(block.T, index=index, columns=list(names), copy=False)


def purchase_models(days: Any, as_of: dt.date, window: int, index: pd.Index, names: Sequence[str]
                    ) -> dict[str, dict[str, np.ndarray]]:
    """Per model class of ``names`` (MBG/NBD, Pareto/NBD: never BG/NBD, whose P(alive) is 1 for
    every one-time buyer), fitted on the weekly RFM of the purchase days ``days`` up to
    ``as_of``: ``p_alive`` and ``expected`` (purchases in the next ``window`` days) for the
    customers of ``index``."""
    from clvlab import models

    rfm = reindex(rfm_as_of(days, as_of, "W"), index)
    out = {}
    for name in names:
        with muted(ConvergenceWarning):  # a fit's status does not stop a feature
            m = getattr(models, name)().fit(rfm)
        args = (rfm["frequency"], rfm["recency"], rfm["T"])
        out[name] = {"p_alive": np.asarray(m.probability_alive(*args), dtype=float),
                     "expected": np.asarray(m.conditional_expected_purchases(window / 7, *args), dtype=float)}
    return out


@dataclass
class Feedback:
    """Every feedback answer of known customers up to a date, each comment scored once.

    ``rows``: ``customer_id``, ``responded_at``, ``metric``, ``score``, ``sentiment`` (NaN
    without a comment) and ``complaint`` (bool), sorted by time (ties by ``response_id``).
    """

    rows: pd.DataFrame

    @classmethod
    def read(cls, source: Any, until: dt.date) -> Feedback:
        """Read ``feedback`` up to ``until`` (an empty one without the table)."""
        cols = ["customer_id", "responded_at", "metric", "score", "sentiment", "complaint"]
        tables = getattr(source, "tables", None)
        if not callable(tables) or "feedback" not in tables():
            return cls(pd.DataFrame(columns=cols))
        fb = source.table("feedback")
        fb = fb.filter(fb.customer_id.notnull(), fb.responded_at.cast("date") <= ibis.date(until))
        keep = {"customer_id": fb.customer_id.cast("string"), "responded_at": fb.responded_at.cast("timestamp"),
                "metric": fb.metric if "metric" in fb.columns else ibis.null("string"),
                "score": fb.score.cast("float64") if "score" in fb.columns else ibis.null("float64"),
                "comment": fb.comment if "comment" in fb.columns else ibis.null("string"),
                "rid": fb.response_id.cast("string") if "response_id" in fb.columns else ibis.null("string")}
        rows = fb.select(**keep).execute()
        rows["responded_at"] = pd.to_datetime(rows["responded_at"])
        if rows["responded_at"].dt.tz is not None:
            rows["responded_at"] = rows["responded_at"].dt.tz_convert(None)
        rows = rows.sort_values(["responded_at", "rid"], kind="stable").reset_index(drop=True)
        text = rows["comment"].where(rows["comment"].astype(str).str.strip().str.len() > 0)
        rows["sentiment"], rows["complaint"] = np.nan, False
        has = text.notna().to_numpy()
        if has.any():
            from clvlab.text.intents import detect_intents
            from clvlab.text.sentiment import sentiment

            comments = text[has].astype(str).tolist()
            scores = sentiment(comments)["score"].to_numpy(dtype=float)
            intents = detect_intents(comments, scores=list(scores))
            rows.loc[has, "sentiment"] = scores
            rows.loc[has, "complaint"] = ["complaint" in i for i in intents]
        return cls(rows[cols])

    def columns(self, as_of: dt.date, index: pd.Index, open_cases: set[str] | None) -> dict[str, np.ndarray]:
        """:data:`VOC` per customer of ``index`` from the answers up to the end of ``as_of``, one
        array per column, in order."""
        r = self.rows[self.rows["responded_at"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
        out: dict[str, np.ndarray] = {}
        out["has_feedback"] = (positions(index, r["customer_id"].unique()) >= 0).astype(float)
        nan = np.full(len(index), np.nan)
        if r.empty:  # no answer by the date (or no feedback table): no id lookups on millions of rows
            out.update({c: nan for c in VOC if c not in ("has_feedback", "open_cases")})
        else:
            scored = r[r["score"].notna()]

            def per_customer(values: pd.Series) -> np.ndarray:
                return reindex(values, index).to_numpy(dtype=float)

            for metric in ("nps", "csat", "ces"):
                answers = scored[scored["metric"] == metric]
                out[f"{metric}_latest"] = per_customer(answers.groupby("customer_id")["score"].last())
            nps = scored[scored["metric"] == "nps"]
            before = nps[nps.groupby("customer_id").cumcount(ascending=False).to_numpy() == 1]
            out["nps_change"] = out["nps_latest"] - per_customer(before.set_index("customer_id")["score"])
            comments = r[r["sentiment"].notna()].groupby("customer_id")
            out["sentiment_latest"] = per_customer(comments["sentiment"].last())
            complaints = per_customer(comments["complaint"].sum().astype(float))
            out["complaints"] = np.where(out["has_feedback"] == 1, np.nan_to_num(complaints, nan=0.0), complaints)
        if open_cases is None:
            out["open_cases"] = nan
        else:
            out["open_cases"] = (positions(index, list(open_cases)) >= 0).astype(float)
        return {c: out[c] for c in VOC}


def purchased(days: Any, start: dt.date, end: dt.date) -> pd.Index:
    """Customers with a purchase day in (start, end]: the label's complement."""
    from clvlab.lifecycle.health import _label

    return _label(days, start, end)
