"""Properties every continuous-time BTYD model must have, whatever its parameters (Hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlab.models.beta_geo import BetaGeo
from clvlab.models.modified_beta_geo import ModifiedBetaGeo
from clvlab.models.pareto_nbd import ParetoNBD

POS = st.floats(min_value=0.05, max_value=20.0)


def _bg(cls: type, r: float, alpha: float, a: float, b: float) -> Any:
    model = cls()
    model.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    return model


def _pareto(r: float, alpha: float, s: float, beta: float) -> ParetoNBD:
    model = ParetoNBD()
    model.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    return model


@st.composite
def histories(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid (frequency, recency, T) rows: integer x >= 0, 0 <= t_x <= T, t_x = 0 iff x = 0."""
    n = draw(st.integers(1, 20))
    T = np.array(draw(st.lists(st.floats(0.5, 200.0), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=float)
    tx = np.where(x > 0, T * share, 0.0)
    return x, tx, T


MODELS = st.one_of(
    st.builds(lambda *p: _bg(BetaGeo, *p), POS, POS, POS, POS),
    st.builds(lambda *p: _bg(ModifiedBetaGeo, *p), POS, POS, POS, POS),
    st.builds(_pareto, POS, POS, POS, POS),
)


@settings(max_examples=60, deadline=None)
@given(model=MODELS, hist=histories())
def test_probability_alive_is_a_probability(model: Any, hist: tuple[np.ndarray, ...]) -> None:
    p = model.probability_alive(*hist)
    assert np.all(np.isfinite(p))
    assert np.all((p >= 0) & (p <= 1))


@settings(max_examples=60, deadline=None)
@given(model=MODELS, hist=histories(), c=st.floats(0.1, 10.0))
def test_rescaling_time_leaves_probability_alive_unchanged(
    model: Any, hist: tuple[np.ndarray, ...], c: float
) -> None:
    """Measuring time in other units (alpha and t scaled together) changes nothing."""
    x, tx, T = hist
    p1 = model.probability_alive(x, tx, T)
    scaled = type(model)()
    scaled.params_ = dict(model.params_)
    scaled.params_["alpha"] = model.params_["alpha"] * c
    if "beta" in scaled.params_:
        scaled.params_["beta"] = model.params_["beta"] * c
    p2 = scaled.probability_alive(x, tx * c, T * c)
    np.testing.assert_allclose(p1, p2, rtol=1e-7, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(model=MODELS, t=st.lists(st.floats(0.0, 500.0), min_size=2, max_size=10))
def test_expected_purchases_non_decreasing_in_t(model: Any, t: list[float]) -> None:
    ts = np.sort(np.array(t))
    e = model.expected_purchases(ts)
    assert np.all(np.isfinite(e))
    assert np.all(e >= -1e-9)
    assert np.all(np.diff(e) >= -1e-8 * np.maximum(1.0, np.abs(e[1:])))


@settings(max_examples=40, deadline=None)
@given(model=MODELS, hist=histories(), t=st.floats(0.0, 100.0))
def test_conditional_expectation_finite_and_non_negative(
    model: Any, hist: tuple[np.ndarray, ...], t: float
) -> None:
    e = model.conditional_expected_purchases(t, *hist)
    assert np.all(np.isfinite(e))
    assert np.all(e >= -1e-9)


@settings(max_examples=40, deadline=None)
@given(model=MODELS, hist=histories())
def test_individual_log_likelihood_is_finite_and_non_positive(
    model: Any, hist: tuple[np.ndarray, ...]
) -> None:
    """Each customer's likelihood is a probability density over (x, t_x): finite log."""
    ll = model.log_likelihood_individual(*hist)
    assert np.all(np.isfinite(ll))


@settings(max_examples=30, deadline=None)
@given(model=st.one_of(st.builds(lambda *p: _bg(BetaGeo, *p), POS, POS, POS, POS),
                       st.builds(lambda *p: _bg(ModifiedBetaGeo, *p), POS, POS, POS, POS)),
       t=st.floats(0.01, 50.0))
def test_purchase_count_distribution_sums_to_one(model: Any, t: float) -> None:
    """BG/NBD and MBG/NBD: P(X(t)=n) over n is a distribution (FHL 2005 eq. 8)."""
    n = np.arange(0, 4000)
    p = model.probability_of_purchases(n, t)
    assert np.all(p >= -1e-15)
    assert p.sum() == np.float64(p.sum())
    assert abs(p.sum() - 1.0) < 1e-6 or p[-1] > 1e-12  # heavy tails may not be summed by n=4000


@settings(max_examples=20, deadline=None)
@given(hist=histories(), weights=st.integers(1, 5))
def test_weights_equal_repeated_rows(hist: tuple[np.ndarray, ...], weights: int) -> None:
    """Fitting rows with integer weights w = fitting each row w times (same LL)."""
    x, tx, T = hist
    w = np.full(len(x), float(weights))
    cdnow_like_x = np.concatenate([x, [0, 1, 2, 5]])
    cdnow_like_tx = np.concatenate([tx, [0.0, 3.0, 10.0, 20.0]])
    cdnow_like_T = np.concatenate([T, [30.0, 30.0, 30.0, 30.0]])
    w = np.concatenate([w, [weights] * 4]).astype(float)
    model = _bg(BetaGeo, 0.5, 3.0, 0.8, 2.0)
    ll_rows = model.log_likelihood_individual(cdnow_like_x, cdnow_like_tx, cdnow_like_T)
    rep = np.repeat(np.arange(len(w)), w.astype(int))
    ll_rep = model.log_likelihood_individual(cdnow_like_x[rep], cdnow_like_tx[rep], cdnow_like_T[rep])
    np.testing.assert_allclose((w * ll_rows).sum(), ll_rep.sum(), rtol=1e-10)
