"""Churn scores predicted once per cell of the trees' splits equal those of every row, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab.lifecycle.churn import ChurnModel
from clvlab.lifecycle.tree_cells import first_rows, split_cells, split_thresholds


def _fitted(seed: int = 0, n: int = 20000) -> tuple[ChurnModel, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "since_days": rng.integers(0, 400, n).astype(float),
        "n": rng.integers(1, 12, n).astype(float),
        "spend": rng.gamma(2.0, 40.0, n).round(-1),
        "nps_latest": np.where(rng.random(n) < 0.7, np.nan, rng.integers(0, 11, n)),
    })
    logit = X["since_days"] / 100 - X["n"] / 3 - np.nan_to_num(X["nps_latest"] - 5) / 4 - X["spend"] / 200
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return ChurnModel().fit(X, y), X


def _hard_rows(model: ChurnModel, X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Values exactly at each threshold, a hair either side, missing, infinite, and the data."""
    t = split_thresholds(model.estimator_, X.shape[1])
    assert t is not None
    parts = []
    for j, thresholds in enumerate(t):
        for value in [*thresholds, *np.nextafter(thresholds, np.inf), *np.nextafter(thresholds, -np.inf),
                      np.nan, np.inf, -np.inf]:
            row = X.iloc[j % len(X)].to_numpy(dtype=float).copy()
            row[j] = value
            parts.append(row)
    hard = np.vstack([X.to_numpy(dtype=float), np.array(parts)])
    return {c: hard[:, k].copy() for k, c in enumerate(X.columns)}


def test_predictions_by_cell_equal_those_of_every_row() -> None:
    model, X = _fitted()
    columns = _hard_rows(model, X)
    rows = len(columns["n"])
    cells = split_cells(model.estimator_, [columns[c] for c in model.features_])
    assert cells is not None
    codes, n = cells
    assert n < 0.8 * rows  # fewer cells than rows (3.18M customers of the benchmark log: 185K cells)
    assert sorted(set(codes.tolist())) == list(range(n))
    assert (codes[first_rows(codes, n)] == np.arange(n)).all()
    by_cell = model._probability(columns, rows)
    every_row = model.predict_proba(pd.DataFrame(columns))[:, 1]
    assert np.array_equal(by_cell, every_row)  # bit for bit, at and around every threshold
    assert np.array_equal(model._probability(columns, rows, by_cell=False), every_row)


def test_rows_in_one_cell_reach_the_same_leaves_and_other_cells_differ_somewhere() -> None:
    model, X = _fitted(seed=1)
    codes, n = split_cells(model.estimator_, [X[c].to_numpy() for c in model.features_]) or (None, 0)
    assert codes is not None
    est = model.estimator_
    known, feature_map = est._bin_mapper.make_known_categories_bitsets()
    data = X.to_numpy(dtype=float)
    leaves = np.column_stack([tree.predict(data, known, feature_map, 1) for it in est._predictors for tree in it])
    first = first_rows(codes, n)
    assert np.array_equal(leaves, leaves[first][codes])


def test_a_model_with_categories_is_predicted_row_by_row() -> None:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], 3000), "tenure": rng.integers(0, 60, 3000).astype(float)})
    y = ((X["plan"] == "a") ^ (rng.random(3000) < 0.2)).astype(int)
    model = ChurnModel(min_samples_leaf=20).fit(X, y)
    assert split_cells(model.estimator_, [np.zeros(3), np.zeros(3)]) is None
    assert split_thresholds(object(), 2) is None  # not a fitted gradient-boosting model: no cells


@pytest.mark.parametrize("seed", [3, 4])
def test_a_long_code_is_made_dense_and_stays_exact(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """With a tiny code limit the running code is refactorised after nearly every feature: the
    cells must not change."""
    import clvlab.lifecycle.tree_cells as tc

    model, X = _fitted(seed=seed)
    columns = [X[c].to_numpy() for c in model.features_]
    wide = split_cells(model.estimator_, columns)
    monkeypatch.setattr(tc, "_MAX_CODE", 64)
    narrow = split_cells(model.estimator_, columns)
    assert wide is not None
    assert narrow is not None
    assert wide[1] == narrow[1]
    assert np.array_equal(wide[0], narrow[0])  # pandas numbers codes by first appearance either way


def test_cells_that_disagree_with_the_model_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A release of scikit-learn whose trees read otherwise: the check on rows spread over all
    finds the cells wrong, and every row is predicted."""
    import clvlab.lifecycle.tree_cells as tc

    model, X = _fitted(seed=5)
    columns = {c: X[c].to_numpy() for c in model.features_}
    rows = len(X)
    every_row = model.predict_proba(X[model.features_])[:, 1]
    monkeypatch.setattr(tc, "split_thresholds", lambda est, n: [np.empty(0)] * n)  # one cell for everyone
    cells = tc.split_cells(model.estimator_, list(columns.values()))
    assert cells is not None
    assert cells[1] == 1
    assert np.array_equal(model._probability(columns, rows), every_row)
