"""``churn_evaluate``: the churn model against its baselines, out of time.

With W = ``window`` and the date ``as_of``: the model is fitted as
:meth:`~clvlab.ChurnModel.fit_workspace` fits it on the date ``as_of - W`` (features as of
``as_of - 2W``, ``as_of - 3W``, ``as_of - 4W``, each with the label "no purchase in the W days
after"; every label window ends by ``as_of - W``), then scores the customers as of ``as_of - W``; they are judged on the window (``as_of - W``, ``as_of``], which
neither the model nor the baselines saw. The baselines are fitted on the purchases up to
``as_of - W`` as well:

- ``model_without_voc``: the same model without the voice-of-the-customer features;
- ``p_alive_mbgnbd``, ``p_alive_pareto``: 1 - P(alive) of MBG/NBD and Pareto/NBD (never BG/NBD:
  it gives P(alive) = 1 to every customer without a repeat purchase);
- ``expected_purchases_mbgnbd``, ``expected_purchases_pareto``: minus the expected purchases in
  the window (fewer expected purchases, more likely to churn).

Per score: AUC (the chance that a churned customer scores above one who bought), top-decile
lift (churn rate among the 10% scored highest / the overall churn rate) and a calibration table
by decile of the score (mean predicted churn probability where the score is one, and the
observed churn rate). Two differences of AUC come with a paired bootstrap over the customers
(:func:`clvlab.stats.auc_difference_interval`): the model against the better baseline (the
model is *above* it only when the whole interval is), and the model against itself without the
voice of the customer (what the voice adds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError
from clvlab.lifecycle.churn import ChurnModel
from clvlab.lifecycle.churn_features import Feedback, purchase_models, purchased
from clvlab.stats import auc_difference_interval

#: the scores compared, in display order
SCORES = ("model", "model_without_voc", "p_alive_mbgnbd", "p_alive_pareto", "expected_purchases_mbgnbd",
          "expected_purchases_pareto")
#: baselines of the purchase models, by score name: (model class, what is scored)
BASELINES = {"p_alive_mbgnbd": ("ModifiedBetaGeo", "p_alive"), "p_alive_pareto": ("ParetoNBD", "p_alive"),
             "expected_purchases_mbgnbd": ("ModifiedBetaGeo", "expected"),
             "expected_purchases_pareto": ("ParetoNBD", "expected")}
#: resamples of the paired bootstraps of the AUC differences (seeded: the same data, the same interval)
RESAMPLES = 200


def auc(churned: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN with one class only."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(churned, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, score))


def top_decile_lift(churned: np.ndarray, score: np.ndarray) -> float:
    """Churn rate of the 10% scored highest / the overall churn rate."""
    y = np.asarray(churned, dtype=float)
    k = max(1, int(np.ceil(len(y) / 10)))
    top = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def calibration(churned: np.ndarray, score: np.ndarray, predicted: np.ndarray | None) -> pd.DataFrame:
    """Per decile of ``score`` (1 = lowest): customers, mean predicted churn (NaN without
    ``predicted``) and the observed churn rate."""
    s = pd.Series(np.asarray(score, dtype=float))
    decile = pd.qcut(s.rank(method="first"), 10, labels=False) + 1
    frame = pd.DataFrame({"decile": decile, "churned": np.asarray(churned, dtype=float),
                          "predicted": np.nan if predicted is None else np.asarray(predicted, dtype=float)})
    table = frame.groupby("decile").agg(customers=("churned", "size"), predicted=("predicted", "mean"),
                                        observed=("churned", "mean"))
    return table


def _baselines(days: Any, day: dt.date, window: int, index: pd.Index) -> dict[str, np.ndarray]:
    """Churn scores of the purchase models fitted on the purchase days up to ``day``."""
    fitted = purchase_models(days, day, window, index, ("ModifiedBetaGeo", "ParetoNBD"))
    return {name: 1 - fitted[cls]["p_alive"] if what == "p_alive" else -fitted[cls]["expected"]
            for name, (cls, what) in BASELINES.items()}


def churn_evaluate(
    source: Any, *, as_of: Any = None, window: int | None = None, app_store: Any = None, thresholds: Any = None,
    history: bool = False,
) -> pd.DataFrame:
    """AUC, top-decile lift and calibration of the churn model and its baselines, out of time.

    See the module docstring for the split and the scores; ``history`` evaluates
    ``ChurnModel(history=True)`` (both models, with and without VoC).

    Returns
    -------
    pandas.DataFrame
        One row per score (:data:`SCORES`): ``auc``, ``top_decile_lift``,
        ``top_decile_churn_rate``. ``attrs``: ``train_features_as_of``, ``features_as_of``, ``history``,
        ``label_end``, ``window``, ``customers``, ``churn_rate``, ``has_feedback`` (customers
        with an answer by the feature date), ``better_baseline`` (of P(alive) and expected
        purchases, by AUC), ``versus_better_baseline`` and ``voc_contribution`` (the model's AUC
        minus the better baseline's, minus the model's without VoC: ``difference``, ``se``,
        ``lower``, ``upper`` of the 95% paired bootstrap interval, ``resamples``),
        ``calibration`` (a frame per score).
    """
    from clvlab.lifecycle._features import check_as_of, data_range, purchase_days

    where = "churn_evaluate"
    model = ChurnModel(window=window, history=history, thresholds=thresholds)
    w = model.window
    days = purchase_days(source, where)
    end = check_as_of(as_of, days, where)
    mid, start = end - dt.timedelta(days=w), end - dt.timedelta(days=2 * w)
    lo, hi = data_range(days)
    if start <= lo:
        msg = (f"{where}: the out-of-time evaluation needs purchases before {start.isoformat()} "
               f"(2 x {w} days before {end.isoformat()}); the data start on {lo.isoformat()}")
        raise DataValidationError(msg, hint=f"use a later date (the data end on {hi.isoformat()}) or a shorter window")
    feedback = Feedback.read(source, mid)
    model.fit_workspace(source, as_of=mid, app_store=app_store, feedback=feedback)
    X = model.features(source, as_of=mid, app_store=app_store, feedback=feedback)
    churned = ~X.index.isin(purchased(days, mid, end))
    p = model.churn_probability(X).to_numpy()
    plain = ChurnModel(window=w, voc=False, history=history, thresholds=model.thresholds).fit_workspace(source,
                                                                                                  as_of=mid)
    p_plain = plain.churn_probability(X).to_numpy()
    scores: dict[str, np.ndarray] = {"model": p, "model_without_voc": p_plain,
                                     **_baselines(days, mid, w, X.index)}
    predicted = {"model": p, "model_without_voc": p_plain, "p_alive_mbgnbd": scores["p_alive_mbgnbd"],
                 "p_alive_pareto": scores["p_alive_pareto"]}
    rows, tables = [], {}
    for name in SCORES:
        s = scores[name]
        k = max(1, int(np.ceil(len(s) / 10)))
        top = np.argsort(-s, kind="stable")[:k]
        rows.append({"score": name, "auc": auc(churned, s), "top_decile_lift": top_decile_lift(churned, s),
                     "top_decile_churn_rate": float(churned[top].mean())})
        tables[name] = calibration(churned, s, predicted.get(name))
    table = pd.DataFrame(rows).set_index("score")
    base = table.loc[[n for n in SCORES if n in BASELINES], "auc"]
    better = str(base.idxmax())
    table.attrs.update(
        train_features_as_of=model.split_["features_as_of"], features_as_of=mid.isoformat(), label_end=end.isoformat(),
        window=w, customers=len(X), churn_rate=float(churned.mean()),
        has_feedback=int(X["has_feedback"].sum()) if "has_feedback" in X else 0,
        better_baseline=better, calibration=tables, train=model.split_, history=model.history,
        versus_better_baseline=auc_difference_interval(churned, p, scores[better], n_resamples=RESAMPLES),
        voc_contribution=auc_difference_interval(churned, p, p_plain, n_resamples=RESAMPLES),
    )
    return table


__all__ = ["RESAMPLES", "SCORES", "auc", "calibration", "churn_evaluate", "top_decile_lift"]
