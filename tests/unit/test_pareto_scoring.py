"""Pareto/NBD scoring paths: the blocked per-(x, t_x)/(x, T) path of ``probability_alive`` and
``conditional_expected_purchases`` against the textbook formulas (FHL 2005 eq. 22 and 26) and
the general per-row path, and its validation against the located checks of the general path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import special

from clvlab.errors import DataValidationError, NotFittedError
from clvlab.models._btyd import check_frt, check_time, frt_clean, prediction_inputs, present_keys
from clvlab.models._pareto_blocked import _log1mexp_into, _score_dense
from clvlab.models._pareto_terms import _log1mexp
from clvlab.models.pareto_nbd import ParetoNBD, _terms

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]

PARAMS = {
    "days": {"r": 0.55, "alpha": 74.0, "s": 0.61, "beta": 82.0},  # alpha < beta
    "cdnow": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67},
    "alpha_above_beta": {"r": 0.9, "alpha": 20.0, "s": 1.3, "beta": 5.0},
    "s_is_1": {"r": 1.2, "alpha": 30.0, "s": 1.0, "beta": 40.0},  # the t-decay's limit
}
ORDER = ("r", "alpha", "s", "beta")


def _tuple(params: dict[str, float]) -> tuple[float, float, float, float]:
    r, alpha, s, beta = (params[k] for k in ORDER)
    return r, alpha, s, beta


def _model(params: dict[str, float]) -> ParetoNBD:
    model = ParetoNBD()
    model.params_ = dict(params)
    return model


def _rfm(n: int, seed: int, *, unit: float = 1.0, grid: bool = True) -> Arrays:
    """RFM rows: T (and t_x) in whole days counted in ``unit`` (or continuous), x a count."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(rng.gamma(0.5, 4.0, n)).astype(float)
    if grid:
        T = rng.integers(1, 365, n) / unit
        # a repeat purchase comes at least a day after the first
        tx = np.where(x > 0, np.maximum(np.floor(T * unit * rng.uniform(0, 1, n)), 1.0) / unit, 0.0)
    else:
        T = rng.uniform(1.0, 364.0, n)
        tx = np.where(x > 0, T * rng.uniform(0, 1, n), 0.0)
    return x, tx, T


def _cases() -> dict[str, Arrays]:
    x, tx, T = _rfm(4000, 1)
    # P(alive) < 1e-30 (the overflow-safe branch); enough rows for tables up to x = 100
    steep_x, steep_tx, steep_T = _rfm(20_000, 5)
    steep_x[:3], steep_tx[:3], steep_T[:3] = 100.0, 1.0, 364.0
    at_end = tx.copy()
    at_end[x > 0] = T[x > 0]  # last purchase at T: P(alive) = 1
    big_x, big_tx = x.copy(), tx.copy()
    big_x[:2], big_tx[:2] = 20_000.0, T[:2]  # x too large for dense tables: general path
    return {
        "days": (x, tx, T),
        "weeks": _rfm(4000, 2, unit=7.0),
        "continuous": _rfm(4000, 3, grid=False),
        "small": _rfm(40, 4),
        "one_row": (np.array([2.0]), np.array([30.43]), np.array([38.86])),
        "steep": (steep_x, steep_tx, steep_T),
        "at_end": (x, at_end, T),
        "big_x": (big_x, big_tx, T),
    }


CASES = _cases()
# cases the fast path takes ("small": 40 rows with some 40 distinct T, more than its tables allow)
DENSE = {"days", "weeks", "one_row", "steep", "at_end"}


def _textbook(params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray,
              t: float) -> tuple[np.ndarray, np.ndarray]:
    """P(alive), FHL (2005) eq. (22) with A0 from eq. (19)-(20), and E[X(T, T+t)], eq. (26)."""
    r, al, s, be = (params[k] for k in ORDER)
    a = r + s + x
    if al >= be:
        m, b = al, s + 1.0
    else:
        m, b = be, r + x
    diff = abs(al - be)
    a0 = (special.hyp2f1(a, b, a + 1.0, diff / (m + tx)) / (m + tx) ** a
          - special.hyp2f1(a, b, a + 1.0, diff / (m + T)) / (m + T) ** a)
    alive = 1.0 / (1.0 + s / a * (al + T) ** (r + x) * (be + T) ** s * a0)
    ratio = (be + T) / (be + T + t)
    decay = -np.log(ratio) if s == 1.0 else (1.0 - ratio ** (s - 1.0)) / (s - 1.0)
    return alive, alive * (r + x) * (be + T) / (al + T) * decay


@pytest.mark.parametrize("pname", list(PARAMS))
@pytest.mark.parametrize("case", [c for c in CASES if c != "big_x"])  # x^20000 overflows
def test_scores_match_textbook_formulas(pname: str, case: str) -> None:
    x, tx, T = CASES[case]
    model = _model(PARAMS[pname])
    want_pa, want_ce = _textbook(PARAMS[pname], x, tx, T, 52.0)
    np.testing.assert_allclose(model.probability_alive(x, tx, T), want_pa, rtol=1e-9, atol=0)
    np.testing.assert_allclose(model.conditional_expected_purchases(52.0, x, tx, T), want_ce,
                               rtol=1e-9, atol=0)


@pytest.mark.parametrize("pname", list(PARAMS))
@pytest.mark.parametrize("case", list(CASES))
def test_fast_path_matches_general_path(pname: str, case: str) -> None:
    """Within 1e-12 of the per-row likelihood terms and of an array horizon (general path)."""
    x, tx, T = CASES[case]
    params = PARAMS[pname]
    model = _model(params)
    ranges = frt_clean(x, tx, T)
    assert ranges is not None
    taken = _score_dense(_tuple(params), x, tx, T, ranges, None)
    assert (taken is not None) == (case in DENSE)
    general = _terms(_tuple(params), x, tx, T)[1]
    fast = model.probability_alive(x, tx, T)
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=0)
    for t in (52.0, 0.0, 1e-3):
        np.testing.assert_allclose(model.conditional_expected_purchases(t, x, tx, T),
                                   model.conditional_expected_purchases(np.array(t), x, tx, T),
                                   rtol=1e-12, atol=0)
    if case == "steep":
        assert 0.0 < fast[:3].max() < 1e-30
    if case == "at_end":
        assert np.all(fast[x > 0] == 1.0)
    assert np.all(model.conditional_expected_purchases(0, x, tx, T) == 0.0)


def test_scalar_and_pandas_inputs() -> None:
    import pandas as pd

    model = _model(PARAMS["cdnow"])
    one = model.probability_alive(2, 30.43, 38.86)
    assert isinstance(one, float)
    assert isinstance(model.conditional_expected_purchases(39, 2, 30.43, 38.86), float)
    x, tx, T = CASES["weeks"]
    np.testing.assert_array_equal(
        model.conditional_expected_purchases(10, pd.Series(x), pd.Series(tx), pd.Series(T)),
        model.conditional_expected_purchases(10.0, x, tx, T))
    np.testing.assert_array_equal(model.probability_alive(x, pd.Series(tx), T)[:1],
                                  model.probability_alive(x[:1], tx[:1], T[:1]))


BAD = [("frequency", 3, np.nan), ("frequency", 3, -1.0), ("frequency", 4, 1.5),
       ("frequency", 9, np.inf), ("recency", 0, 1000.0), ("recency", 2, -1.0),
       ("recency", 5, np.nan), ("T", 1, -1.0), ("T", 8, -np.inf), ("T", 8, np.nan)]


def _error(fn: Any, *args: Any) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        fn(*args)
    return info.value


def _reference_checks(where: str, t: Any, x: Any, tx: Any, T: Any) -> None:
    """The validation of the general path: broadcast and finiteness, horizon, BTYD rules."""
    if t is None:
        cols, _ = prediction_inputs(where, frequency=x, recency=tx, T=T)
    else:
        cols, _ = prediction_inputs(where, t=t, frequency=x, recency=tx, T=T)
        check_time(cols["t"], where)
    check_frt(cols, where)


@pytest.mark.parametrize(("column", "row", "value"), BAD)
def test_bad_rows_raise_the_same_located_error(column: str, row: int, value: float) -> None:
    x, tx, T = (a.copy() for a in CASES["days"])
    cols = {"frequency": x, "recency": tx, "T": T}
    cols[column][row] = value
    model = _model(PARAMS["days"])
    pa = _error(model.probability_alive, x, tx, T)
    ref = _error(_reference_checks, "ParetoNBD.probability_alive", None, x, tx, T)
    assert str(pa) == str(ref)
    assert f"row {row + 1}, column '{column}'" in str(pa)
    where = "ParetoNBD.conditional_expected_purchases"
    for t in (10.0, np.array(10.0)):
        got = _error(model.conditional_expected_purchases, t, x, tx, T)
        assert str(got) == str(_error(_reference_checks, where, t, x, tx, T))


def test_recency_without_repeat_purchase_is_rejected() -> None:
    x, tx, T = (a.copy() for a in CASES["days"])
    row = int(np.flatnonzero(x == 0)[0])
    tx[row] = 1.0
    with pytest.raises(DataValidationError, match=rf"row {row + 1}, column 'recency'.*frequency is 0"):
        _model(PARAMS["days"]).conditional_expected_purchases(10.0, x, tx, T)


@pytest.mark.parametrize("t", [-1.0, np.nan, np.inf])
def test_bad_horizon_is_rejected(t: float) -> None:
    x, tx, T = CASES["days"]
    with pytest.raises(DataValidationError, match="'t'"):
        _model(PARAMS["days"]).conditional_expected_purchases(t, x, tx, T)


def test_inputs_that_do_not_broadcast_name_all_shapes() -> None:
    x, tx, T = CASES["days"]
    model = _model(PARAMS["days"])
    with pytest.raises(DataValidationError, match=r"'t': \(\)"):
        model.conditional_expected_purchases(10.0, x, tx[:10], T)
    with pytest.raises(DataValidationError, match="cannot be broadcast"):
        model.probability_alive(x, tx[:10], T)


# ---- helpers -------------------------------------------------------------------------------
def test_log1mexp_into_matches_log1mexp() -> None:
    """Same to ~1e-16 absolute (that is what counts: the result is added to log s + log F)."""
    d = -np.concatenate([[0.0, 1e-300, 1e-12, 1e-6, 0.693, 0.6931, 800.0, 1e4],
                         np.geomspace(1e-9, 50.0, 5000)])
    want = _log1mexp(d)
    got = d.copy()
    _log1mexp_into(got, np.empty_like(d), np.empty(len(d), dtype=bool))
    assert got[0] == -np.inf
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-15, atol=3e-16)
    near = d > -0.693  # the cancellation branch: the same operations
    np.testing.assert_array_equal(got[near], want[near])


def test_present_keys() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 50_000).astype(float)
    codes = rng.integers(0, 7, 50_000)
    keys = present_keys(x, codes, 7, 5 * 7)
    np.testing.assert_array_equal(keys, np.unique(x.astype(np.intp) * 7 + codes))


def test_unfitted_model_is_reported_before_bad_input() -> None:
    x, tx, T = (a.copy() for a in CASES["days"])
    tx[0] = -1.0
    model = ParetoNBD()
    with pytest.raises(NotFittedError) as pa:
        model.probability_alive(x, tx, T)
    with pytest.raises(NotFittedError) as ce:
        model.conditional_expected_purchases(10.0, x, tx, T)
    assert str(pa.value) == str(ce.value)
