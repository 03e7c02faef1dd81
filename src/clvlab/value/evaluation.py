"""Holdout evaluation: how well a model fitted on a calibration period predicts the next one.

The input is :func:`clvlab.calibration_holdout` output. Each customer's prediction is the
model's conditional expectation of purchases in the holdout given the calibration history,
``model.conditional_expected_purchases(duration_holdout, frequency_cal, recency_cal, T_cal)``;
the actual is ``frequency_holdout``. With a spend model, revenue is evaluated too: predicted
``purchases * spend_model.expected_spend(frequency_cal, monetary_value_cal)`` against actual
``frequency_holdout * monetary_value_holdout``.  Both monetary values are mean net spend per
purchase period (:func:`clvlab.calibration_holdout`), so the actual is the holdout revenue
itself, on order-line data too.

Metrics
-------
- totals and ``total_error_pct = 100 * (predicted - actual) / actual``;
- per-customer ``mae``, ``rmse`` and Pearson ``correlation``;
- ``gini``: the normalised Gini of the predicted ranking, the area between the cumulative share
  of actual purchases (customers sorted by prediction, best first; tied predictions share
  their group's purchases evenly) and the diagonal, divided by the same area for the perfect
  ranking (sorted by actual): 1 is a perfect ranking, 0 no better than chance;
- ``deciles``: customers sorted by prediction (best first, ties in input order) in ``n_bins``
  equal groups, each with ``n``, ``predicted_mean``, ``actual_mean`` and ``lift`` (its actual
  mean over the overall actual mean);
- ``by_frequency``: mean predicted and actual holdout purchases by calibration frequency
  0..6 and 7+ (the "conditional expectations" figure of Fader, Hardie and Lee 2005, Fig. 4).
  The frequency 7 group holds 7 and more.

Aggregate tracking of cumulative purchases per week needs the transaction log and is not
computed here.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, check_param
from clvlab.models._base import FloatArray, as_columns
from clvlab.models._btyd import check_frt

__all__ = ["evaluate_holdout"]

_CAL = ("frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout")
_MONEY = ("monetary_value_cal", "monetary_value_holdout")
_MAX_FREQUENCY_GROUP = 7


def gini(predicted: FloatArray, actual: FloatArray) -> float:
    """Normalised Gini of the ranking by ``predicted`` against ``actual`` (see module docs)."""
    def area(score: FloatArray) -> float:
        order = pd.DataFrame({"s": score, "a": actual}).groupby("s", sort=True)["a"]
        sums = order.sum().to_numpy()[::-1]  # best first
        counts = order.size().to_numpy()[::-1].astype(np.float64)
        total, n = actual.sum(), len(actual)
        cum_a = np.concatenate([[0.0], np.cumsum(sums)]) / total
        cum_n = np.concatenate([[0.0], np.cumsum(counts)]) / n
        lorenz = float(np.sum((cum_a[1:] + cum_a[:-1]) / 2 * np.diff(cum_n)))
        return lorenz - 0.5

    if not actual.sum() > 0:
        return float("nan")
    best = area(actual)
    return area(predicted) / best if best > 0 else float("nan")


def _metrics(predicted: FloatArray, actual: FloatArray, n_bins: int) -> dict[str, Any]:
    err = predicted - actual
    total_a, total_p = float(actual.sum()), float(predicted.sum())
    corr = float("nan")
    if predicted.std() > 0 and actual.std() > 0:
        corr = float(np.corrcoef(predicted, actual)[0, 1])
    order = np.argsort(-predicted, kind="stable")
    groups = np.array_split(order, n_bins)
    mean_a = float(actual.mean())
    deciles = [
        {
            "decile": i + 1,
            "n": len(g),
            "predicted_mean": float(predicted[g].mean()),
            "actual_mean": float(actual[g].mean()),
            "lift": float(actual[g].mean() / mean_a) if mean_a > 0 else float("nan"),
        }
        for i, g in enumerate(groups)
    ]
    return {
        "n_customers": len(actual),
        "actual_total": total_a,
        "predicted_total": total_p,
        "total_error_pct": 100 * (total_p - total_a) / total_a if total_a > 0 else float("nan"),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "correlation": corr,
        "gini": gini(predicted, actual),
        "deciles": deciles,
    }


def _by_frequency(frequency: FloatArray, predicted: FloatArray, actual: FloatArray) -> list[dict[str, Any]]:
    group = np.minimum(frequency, _MAX_FREQUENCY_GROUP).astype(np.int64)
    frame = pd.DataFrame({"g": group, "p": predicted, "a": actual}).groupby("g")
    stats = frame.agg(n=("a", "size"), predicted_mean=("p", "mean"), actual_mean=("a", "mean"))
    return [
        {"frequency_cal": int(g), "n": int(n), "predicted_mean": float(p), "actual_mean": float(a)}
        for g, n, p, a in zip(stats.index.to_numpy(), stats["n"].to_numpy(),
                              stats["predicted_mean"].to_numpy(), stats["actual_mean"].to_numpy(),
                              strict=True)
    ]


def evaluate_holdout(
    model: Any, cal: Any, *, spend_model: Any = None, n_bins: int = 10
) -> dict[str, Any]:
    """Compare a model's holdout predictions with what customers did (metrics in module docs).

    Parameters
    ----------
    model
        A continuous BTYD model fitted on the calibration columns (``frequency_cal``,
        ``recency_cal``, ``T_cal``).
    cal
        :func:`clvlab.calibration_holdout` output (pandas, or Polars).
    spend_model
        Optional fitted GammaGamma: adds the same metrics for holdout revenue under ``revenue``.
    n_bins
        Number of lift groups (10: deciles), at least 2 and at most the number of customers.

    Returns
    -------
    dict
        ``n_customers``, ``actual_total``, ``predicted_total``, ``total_error_pct``, ``mae``,
        ``rmse``, ``correlation``, ``gini``, ``deciles`` (list of dicts), ``by_frequency``
        (list of dicts) and, with a spend model, ``revenue`` (a dict of the same metrics).
    """
    from clvlab.value.score import _check_models, as_frame

    where = "evaluate_holdout"
    check_param(isinstance(n_bins, Integral) and not isinstance(n_bins, bool) and n_bins >= 2,
                "n_bins", where, "an int >= 2", n_bins)
    _check_models(where, model, spend_model)
    frame = as_frame(cal, where)
    needed = _CAL + (_MONEY if spend_model is not None else ())
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        msg = f"{where}: the calibration frame lacks the column(s) {missing}; it has {list(frame.columns)}"
        raise DataValidationError(msg, hint="build it with clvlab.calibration_holdout(...)")
    cols = as_columns(frame, needed, {}, where=where)
    check_frt({"frequency": cols["frequency_cal"], "recency": cols["recency_cal"],
               "T": cols["T_cal"]}, where)
    n = len(cols["frequency_cal"])
    check_param(n_bins <= n, "n_bins", where, f"an int in [2, {n}] (the number of customers)",
                n_bins)
    predicted = np.asarray(model.conditional_expected_purchases(
        cols["duration_holdout"], cols["frequency_cal"], cols["recency_cal"], cols["T_cal"],
    ), dtype=np.float64)
    actual = cols["frequency_holdout"]
    result = _metrics(predicted, actual, int(n_bins))
    result["by_frequency"] = _by_frequency(cols["frequency_cal"], predicted, actual)
    result["model"] = type(model).__name__
    if spend_model is not None:
        spend = np.asarray(
            spend_model.expected_spend(cols["frequency_cal"], cols["monetary_value_cal"]),
            dtype=np.float64,
        )
        result["revenue"] = _metrics(predicted * spend,
                                     actual * cols["monetary_value_holdout"], int(n_bins))
        result["spend_model"] = type(spend_model).__name__
    return result
