"""BG/NBD and MBG/NBD scoring paths: the blocked fast paths of ``probability_alive`` and
``conditional_expected_purchases`` against the textbook formula and the general path, the
validation shortcut (``frt_clean``) against the located checks, and ``grid_codes``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from clvlab.errors import DataValidationError
from clvlab.models._btyd import BLOCK, check_finite, check_frt, frt_clean, grid_codes
from clvlab.models.beta_geo import BetaGeo
from clvlab.models.modified_beta_geo import ModifiedBetaGeo

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]

PARAMS = {
    "cdnow": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "b_below_1": {"r": 0.5, "alpha": 2.0, "a": 0.7, "b": 0.6},
    "b_is_1": {"r": 0.5, "alpha": 2.0, "a": 0.7, "b": 1.0},
    "a_is_1": {"r": 1.2, "alpha": 3.0, "a": 1.0, "b": 3.0},
    "steep": {"r": 40.0, "alpha": 0.05, "a": 2.0, "b": 0.3},
}


def _model(cls: type, params: dict[str, float]) -> Any:
    model = cls()
    model.params_ = dict(params)
    return model


def _rfm(n: int, seed: int = 0, *, unit: float = 7.0, grid: bool = True) -> Arrays:
    """RFM summary rows: T on a grid of whole days in ``unit`` (or continuous), x a count."""
    rng = np.random.default_rng(seed)
    T = (rng.integers(0, 365, n) + 182) / unit if grid else rng.uniform(26.0, 78.0, n)
    x = rng.poisson(rng.gamma(0.3, 3.0, n)).astype(float)
    # a repeat purchase comes at least a day after the first
    tx = np.where(x > 0, np.maximum(np.floor(T * rng.uniform(0, 1, n) * unit), 1.0) / unit, 0.0)
    return x, tx, T


def _cases() -> dict[str, Arrays]:
    x, tx, T = _rfm(4000, 1)
    off = T.copy()
    off[777] += 1e-9  # one T off the weekly grid: T is hashed instead
    big_x = x.copy()
    big_x[:3], tx_big = 1e6, tx.copy()
    tx_big[:3] = T[:3]  # x too large for per-x tables: whole-column path
    huge_t = T.copy()
    huge_t[10] = 1e308  # alpha + T overflows: whole-column path
    steep_x, steep_tx = x.copy(), tx.copy()
    steep_x[5], steep_tx[5] = 100.0, 1.0  # log-odds ~ 230: the overflow-safe branch
    return {
        "weeks": (x, tx, T),
        "days": _rfm(4000, 2, unit=1.0),
        "continuous": _rfm(4000, 3, grid=False),
        "small": _rfm(40, 4),
        "off_grid": (x, np.minimum(tx, off), off),
        "big_x": (big_x, tx_big, T),
        "huge_T": (x, tx, huge_t),
        "steep": (steep_x, steep_tx, T),
    }


CASES = _cases()


def _textbook_alive(params: dict[str, float], k: int, x: np.ndarray, tx: np.ndarray,
                    T: np.ndarray) -> np.ndarray:
    """1 / (1 + a/(b+x+k-1) ((alpha+T)/(alpha+t_x))^(r+x)), 1 when x + k = 0."""
    r, al, a, b = (params[p] for p in ("r", "alpha", "a", "b"))
    with np.errstate(all="ignore"):
        d = np.log(a / (b + x + k - 1)) + (r + x) * np.log((al + T) / (al + tx))
    return np.asarray(special.expit(-np.where(x + k > 0, d, -np.inf)))


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
@pytest.mark.parametrize("pname", list(PARAMS))
@pytest.mark.parametrize("case", list(CASES))
def test_probability_alive_matches_textbook_formula(cls: type, pname: str, case: str) -> None:
    x, tx, T = CASES[case]
    got = _model(cls, PARAMS[pname]).probability_alive(x, tx, T)
    want = _textbook_alive(PARAMS[pname], cls._k, x, tx, T)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)
    if cls is BetaGeo:
        assert np.all(got[x == 0] == 1.0)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
@pytest.mark.parametrize("pname", list(PARAMS))
@pytest.mark.parametrize("case", list(CASES))
def test_conditional_expectation_one_horizon_matches_general_path(cls: type, pname: str,
                                                                  case: str) -> None:
    """A float horizon takes the keyed/blocked path, a 0-d array the general one."""
    x, tx, T = CASES[case]
    model = _model(cls, PARAMS[pname])
    fast = model.conditional_expected_purchases(52.0, x, tx, T)
    general = model.conditional_expected_purchases(np.array(52.0), x, tx, T)
    np.testing.assert_allclose(fast, general, rtol=1e-13, atol=1e-300)
    assert np.all(model.conditional_expected_purchases(0, x, tx, T) == 0.0)


@pytest.mark.parametrize("pname", ["cdnow", "steep"])
def test_blocks_with_and_without_many_zero_frequencies(pname: str) -> None:
    """BG/NBD blocks with many x = 0 rows run only their x > 0 rows through the passes; a
    block without x = 0 rows, one of x = 0 only and mixed ones give the same as per row."""
    x, tx, T = _rfm(3 * BLOCK + 5, 7)
    x[:BLOCK] = np.maximum(x[:BLOCK], 1.0)  # first block: no x = 0
    tx[:BLOCK] = np.where(tx[:BLOCK] > 0, tx[:BLOCK], T[:BLOCK] / 2)
    x[BLOCK: 2 * BLOCK], tx[BLOCK: 2 * BLOCK] = 0.0, 0.0  # second block: x = 0 only
    model = _model(BetaGeo, PARAMS[pname])
    got = model.probability_alive(x, tx, T)
    np.testing.assert_allclose(got, _textbook_alive(PARAMS[pname], 0, x, tx, T), rtol=1e-10,
                               atol=1e-300)
    assert np.all(got[x == 0] == 1.0)
    fast = model.conditional_expected_purchases(52.0, x, tx, T)
    general = model.conditional_expected_purchases(np.array(52.0), x, tx, T)
    np.testing.assert_allclose(fast, general, rtol=1e-13, atol=1e-300)
    zero = x == 0  # P(alive) = 1 exactly: the per-(x, T) part alone
    np.testing.assert_array_equal(fast[zero], model._part(np.full(int(zero.sum()), 52.0),
                                                          x[zero], T[zero]))


@pytest.mark.filterwarnings("ignore:overflow encountered in add:RuntimeWarning")
@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
def test_alpha_plus_T_overflowing(cls: type) -> None:
    """ln(alpha+T) = inf: P(alive) = 0 after a repeat purchase, 1 (BG/NBD) without."""
    params = {"r": 0.5, "alpha": 1e307, "a": 0.7, "b": 2.0}
    x, tx, T = (a[:50].copy() for a in CASES["weeks"])
    T[[0, 1]], x[[0, 1]], tx[[0, 1]] = 1.79e308, [0.0, 3.0], [0.0, 5.0]
    got = _model(cls, params).probability_alive(x, tx, T)
    np.testing.assert_allclose(got, _textbook_alive(params, cls._k, x, tx, T), rtol=1e-10)
    assert got[1] == 0.0
    assert cls is ModifiedBetaGeo or got[0] == 1.0


def test_scalar_and_pandas_inputs() -> None:
    import pandas as pd

    model = _model(BetaGeo, PARAMS["cdnow"])
    one = model.conditional_expected_purchases(39, 2, 30.43, 38.86)
    assert isinstance(one, float)
    assert one == pytest.approx(1.226, abs=1e-3)  # Fader, Hardie & Lee (2005), customer with x=2
    x, tx, T = CASES["weeks"]
    np.testing.assert_array_equal(
        model.conditional_expected_purchases(10, pd.Series(x), pd.Series(tx), pd.Series(T)),
        model.conditional_expected_purchases(10.0, x, tx, T))


BAD = [("frequency", 3, np.nan), ("frequency", 3, -1.0), ("frequency", 4, 1.5),
       ("frequency", 9, np.inf), ("recency", 0, 1000.0), ("recency", 2, -1.0),
       ("recency", 5, np.nan), ("T", 1, -1.0), ("T", 8, -np.inf), ("T", 8, np.nan)]


@pytest.mark.parametrize(("column", "row", "value"), BAD)
def test_bad_rows_raise_the_located_error_on_every_path(column: str, row: int,
                                                        value: float) -> None:
    x, tx, T = (a.copy() for a in CASES["weeks"])
    cols = {"frequency": x, "recency": tx, "T": T}
    cols[column][row] = value
    model = _model(BetaGeo, PARAMS["cdnow"])
    pattern = rf"row {row + 1}, column '{column}'"
    with pytest.raises(DataValidationError, match=pattern):
        model.probability_alive(x, tx, T)
    with pytest.raises(DataValidationError, match=pattern) as fast:
        model.conditional_expected_purchases(10.0, x, tx, T)
    with pytest.raises(DataValidationError, match=pattern) as general:
        model.conditional_expected_purchases(np.array(10.0), x, tx, T)
    assert str(fast.value) == str(general.value)


def test_recency_without_repeat_purchase_is_rejected() -> None:
    x, tx, T = (a.copy() for a in CASES["weeks"])
    row = int(np.flatnonzero(x == 0)[0])
    tx[row] = 1.0
    with pytest.raises(DataValidationError, match=rf"row {row + 1}, column 'recency'.*frequency is 0"):
        _model(BetaGeo, PARAMS["cdnow"]).conditional_expected_purchases(10.0, x, tx, T)


@pytest.mark.parametrize("t", [-1.0, np.nan, np.inf])
def test_bad_horizon_is_rejected(t: float) -> None:
    x, tx, T = CASES["weeks"]
    with pytest.raises(DataValidationError, match="'t'"):
        _model(BetaGeo, PARAMS["cdnow"]).conditional_expected_purchases(t, x, tx, T)


def test_inputs_that_do_not_broadcast_name_all_shapes() -> None:
    x, tx, T = CASES["weeks"]
    with pytest.raises(DataValidationError, match=r"'t': \(\)"):
        _model(BetaGeo, PARAMS["cdnow"]).conditional_expected_purchases(10.0, x, tx[:10], T)


# ---- helpers -------------------------------------------------------------------------------
SPECIAL = st.sampled_from([0.0, -0.0, 1.0, 2.0, 0.5, -1.0, 3.0, np.nan, np.inf, -np.inf, 1e308])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(SPECIAL, SPECIAL, SPECIAL), min_size=1, max_size=6))
def test_frt_clean_agrees_with_located_checks(rows: list[tuple[float, float, float]]) -> None:
    x, tx, T = (np.array(c) for c in zip(*rows, strict=True))
    cols = {"frequency": x, "recency": tx, "T": T}
    try:
        check_finite(cols, "w")
        check_frt(cols, "w")
        passes = True
    except DataValidationError:
        passes = False
    ranges = frt_clean(x, tx, T)
    assert (ranges is not None) == passes
    if ranges is not None:
        assert (ranges.x_max, ranges.t_min, ranges.t_max) == (x.max(), T.min(), T.max())


def test_check_finite_on_huge_finite_values() -> None:
    check_finite({"v": np.array([1e308, 1e308, -1e308])}, "w")  # the sum overflows: no error
    with pytest.raises(DataValidationError, match=r"row 2, column 'v'"):
        check_finite({"v": np.array([1e308, np.nan])}, "w")


def test_grid_codes_on_a_weekly_grid() -> None:
    T = (np.random.default_rng(0).integers(0, 365, 50_000) + 182) / 7.0
    coded = grid_codes(T, float(T.min()), float(T.max()), max_size=10_000)
    assert coded is not None
    codes, values = coded
    np.testing.assert_array_equal(values[codes], T)
    assert len(values) == 365


def test_grid_codes_checks_every_value_against_the_grid() -> None:
    """The grid comes from a strided sample (even rows here); odd rows are checked as coded."""
    T = (np.arange(50_000) % 49 + 10) / 7.0
    lo, hi = float(T.min()), float(T.max())
    assert grid_codes(T, lo, hi, max_size=1000) is not None
    assert grid_codes(T, lo, hi, max_size=20) is None  # 49 grid points needed

    unseen = T.copy()
    unseen[unseen == 30 / 7.0] = 31 / 7.0
    unseen[2501] = 30 / 7.0  # a grid point the sample never saw: filled as found
    coded = grid_codes(unseen, lo, hi, max_size=1000)
    assert coded is not None
    np.testing.assert_array_equal(coded[1][coded[0]], unseen)

    shared = T.copy()
    shared[30_001] += 1e-9  # a later block: rounds to a grid point another value holds
    assert grid_codes(shared, lo, hi, max_size=1000) is None
    both = unseen.copy()
    both[2503] = 30 / 7.0 + 1e-9  # two unseen values at one grid point, in one block
    assert grid_codes(both, lo, hi, max_size=1000) is None

    const = np.full(2000, 3.5)
    coded = grid_codes(const, 3.5, 3.5, max_size=10)
    assert coded is not None
    np.testing.assert_array_equal(coded[1][coded[0]], const)
