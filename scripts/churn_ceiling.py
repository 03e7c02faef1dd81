"""How well can purchase history rank churn on CDNOW? The experiments behind docs/lifecycle.md.

Usage: ``python scripts/churn_ceiling.py`` (a few minutes on two cores; run it under the
machine's benchmark lock). Prints one table; every AUC is of "no purchase in (1998-04-01,
1998-06-30]" over the 23,570 CDNOW customers, scored as of 1998-04-01, except where it says
validation.

1. **Tuned out of time.** Feature sets (the model's default behaviour features; with
   ``history=True``; with the CDs per order besides) times a few gradient-boosting settings are
   chosen on a validation split that ends before the test window: trained on snapshots as of
   1997-10-03, 1997-07-05, 1997-04-06, validated on 1998-01-01 (labels to 1998-04-01). The chosen
   one is refitted on the snapshots as of 1998-01-01, 1997-10-03, 1997-07-05 and scored once on
   the test window, with a paired bootstrap of its AUC against Pareto/NBD's expected purchases.
2. **A blend**: the average rank of that model and of Pareto/NBD's expected purchases, the weight
   chosen on the same validation split.
3. **Inside the test window**: 5-fold cross-validation over the customers of the test snapshot
   (features and labels of the same window): no drift between training and scoring, to see
   whether drift is what holds the out-of-time model back.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from typing import Any

import ibis
import numpy as np
import pandas as pd

import clvlab
from clvlab.datasets import load_cdnow
from clvlab.lifecycle._features import purchase_days
from clvlab.lifecycle.churn_eval import auc
from clvlab.lifecycle.churn_features import BEHAVIOUR, EXTRA, behaviour_features, purchased
from clvlab.lifecycle.stages import _thresholds
from clvlab.stats import auc_difference_interval

W = 90
TEST = dt.date(1998, 4, 1)
VALIDATION = TEST - dt.timedelta(days=W)
TRAIN_TEST = [TEST - dt.timedelta(days=k * W) for k in (1, 2, 3)]
TRAIN_VALIDATION = [VALIDATION - dt.timedelta(days=k * W) for k in (1, 2, 3)]
UNITS = ("units_per_order", "orders_per_day", "units_365d")
SETS = {"default": list(BEHAVIOUR), "history": [*BEHAVIOUR, *EXTRA], "history + CDs": [*BEHAVIOUR, *EXTRA, *UNITS]}
BASE = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 100,
        "l2_regularization": 5.0, "early_stopping": True, "validation_fraction": 0.1}
GRID = [BASE, *({**BASE, "learning_rate": lr, "max_leaf_nodes": leaves, "min_samples_leaf": leaf}
                for lr, leaves, leaf in ((0.1, 7, 400), (0.1, 31, 50), (0.03, 31, 200), (0.05, 4, 1000)))]


def units(ws: Any, as_of: dt.date) -> pd.DataFrame:
    """CDs per order, orders per purchase day, CDs in the last 365 days: one engine query."""
    t = ws.table("transactions")
    t = t.filter(~t.is_refund, t.ordered_at.cast("date") <= ibis.date(as_of))
    recent = t.ordered_at.cast("date") > ibis.date(as_of - dt.timedelta(days=365))
    per = t.group_by(customer_id=t.customer_id).aggregate(
        units=t.quantity.sum().cast("float64"), orders=t.count(), days=t.ordered_at.cast("date").nunique(),
        units_365d=t.quantity.sum(where=recent).cast("float64"))
    f = per.execute().set_index("customer_id").sort_index()
    return pd.DataFrame({"units_per_order": f["units"] / f["orders"], "orders_per_day": f["orders"] / f["days"],
                         "units_365d": f["units_365d"].fillna(0.0)})


def snapshot(ws: Any, days: Any, as_of: dt.date) -> pd.DataFrame:
    X = behaviour_features(days, as_of, W, _thresholds(None, "churn_ceiling"), history=True).join(units(ws, as_of))
    X["churned"] = ~X.index.isin(purchased(days, as_of, as_of + dt.timedelta(days=W)))
    return X


def fit_predict(train: pd.DataFrame, cols: list[str], params: dict[str, Any], X: pd.DataFrame) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        m = HistGradientBoostingClassifier(random_state=0, **params).fit(train[cols], train["churned"])
        return np.asarray(m.predict_proba(X[cols])[:, 1])


def ranks(s: Any) -> np.ndarray:
    return np.asarray(pd.Series(np.asarray(s, dtype=float)).rank().to_numpy())


def main() -> None:
    from sklearn.model_selection import StratifiedKFold

    warnings.simplefilter("ignore")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(load_cdnow("master"))
        days = purchase_days(ws, "churn_ceiling")
        snaps = {d: snapshot(ws, days, d) for d in {TEST, VALIDATION, *TRAIN_TEST, *TRAIN_VALIDATION}}
    test, val = snaps[TEST], snaps[VALIDATION]
    y_val, pareto_val = val["churned"].to_numpy(), -val["expected_purchases_pareto"].to_numpy()
    y = test["churned"].to_numpy()
    pareto = -test["expected_purchases_pareto"].to_numpy()
    rows = [("baseline: expected purchases, Pareto/NBD", "-", auc(y_val, pareto_val),
             auc(y, pareto), "")]
    train_v = pd.concat([snaps[d] for d in TRAIN_VALIDATION])
    train_t = pd.concat([snaps[d] for d in TRAIN_TEST])
    scored = [(auc(y_val, fit_predict(train_v, cols, p, val)), name, i)
              for (name, cols), (i, p) in itertools.product(SETS.items(), enumerate(GRID))]
    for name in SETS:  # the best setting of each feature set on validation, then once on the test
        v, _, i = max(s for s in scored if s[1] == name)
        p = fit_predict(train_t, SETS[name], GRID[i], test)
        d = auc_difference_interval(y, p, pareto)
        rows.append((f"model, {name} features", f"setting {i}", v, auc(y, p),
                     f"{d['difference']:+.4f} ({d['lower']:+.4f} to {d['upper']:+.4f})"))
    v, name, i = max(scored)
    pv = fit_predict(train_v, SETS[name], GRID[i], val)
    weight = max(np.linspace(0, 1, 11), key=lambda w: auc(
        y_val, w * ranks(pv) + (1 - w) * ranks(pareto_val)))
    blend = weight * ranks(fit_predict(train_t, SETS[name], GRID[i], test)) + (1 - weight) * ranks(pareto)
    d = auc_difference_interval(y, blend, pareto)
    rows.append((f"blend: {weight:.1f} x model ({name}) + {1 - weight:.1f} x Pareto/NBD, by rank", f"setting {i}",
                 np.nan, auc(y, blend), f"{d['difference']:+.4f} ({d['lower']:+.4f} to {d['upper']:+.4f})"))
    cv = np.zeros(len(test))
    for fit_rows, held in StratifiedKFold(5, shuffle=True, random_state=0).split(test, y):
        cv[held] = fit_predict(test.iloc[fit_rows], SETS["history + CDs"], BASE, test.iloc[held])
    d = auc_difference_interval(y, cv, pareto)
    rows.append(("5-fold CV inside the test window, history + CDs", "setting 0", np.nan, auc(y, cv),
                 f"{d['difference']:+.4f} ({d['lower']:+.4f} to {d['upper']:+.4f})"))
    table = pd.DataFrame(rows, columns=["score", "chosen", "validation AUC", "test AUC",
                                        "test AUC - Pareto/NBD (95% paired bootstrap)"])
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(table.round(4).to_string(index=False))
    print("settings:", *(f"{i}: {g}" for i, g in enumerate(GRID)), sep="\n  ")


if __name__ == "__main__":
    main()
