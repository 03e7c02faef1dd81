"""Pareto/NBD: published CDNOW estimates (Fader, Hardie & Lee 2005) and lifetimes 0.11.3 agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifetimes import ParetoNBDFitter
from scipy import integrate

from clvlab.datasets.synthetic import simulate_paretonbd
from clvlab.errors import DataValidationError, NotFittedError
from clvlab.models._pareto_terms import _log_f
from clvlab.models.pareto_nbd import ParetoNBD, _terms

PAPER = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
NAMES = ("r", "alpha", "s", "beta")


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(cdnow)


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    T = rng.integers(20, 60, 3000).astype(float)
    return simulate_paretonbd(3000, r=0.8, alpha=6.0, s=0.4, beta=20.0, T=T, seed=7)


def _lifetimes_fit(df: pd.DataFrame) -> ParetoNBDFitter:
    # lifetimes warns on every Nelder-Mead step; routing each through pytest's filters is slow
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return ParetoNBDFitter().fit(df["frequency"].to_numpy(), df["recency"].to_numpy(),
                                     df["T"].to_numpy(), tol=1e-12, maxiter=20000)


def _frt(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return df["frequency"].to_numpy(float), df["recency"].to_numpy(), df["T"].to_numpy()


def test_cdnow_estimates_fader_hardie_lee_2005(fitted: ParetoNBD) -> None:
    """FHL (2005) 'A Note on Deriving the Pareto/NBD Model', CDNOW: r, α, s, β and LL = -9595.0."""
    for name, value in PAPER.items():
        assert fitted.params_[name] == pytest.approx(value, abs=2e-3), name
    assert fitted.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert fitted.converged_
    assert set(fitted.summary().index) == set(NAMES)


@pytest.mark.parametrize("dataset", ["cdnow", "simulated"])
def test_fit_matches_lifetimes(dataset: str, request: pytest.FixtureRequest) -> None:
    """Same maximum of the log-likelihood as lifetimes 0.11.3 ParetoNBDFitter (tight tolerance)."""
    df = request.getfixturevalue(dataset)
    ours = ParetoNBD().fit(df)
    theirs = _lifetimes_fit(df)
    p_theirs = tuple(float(theirs.params_[k]) for k in NAMES)
    ll_theirs = float(ParetoNBDFitter._conditional_log_likelihood(p_theirs, *_frt(df)).sum())
    # ours is a maximum at least as high as theirs, and the two agree to 1e-6
    assert ours.log_likelihood_ >= ll_theirs - 1e-9 * abs(ll_theirs)
    assert ours.log_likelihood_ == pytest.approx(ll_theirs, rel=1e-6)
    for name, value in zip(NAMES, p_theirs, strict=True):
        assert ours.params_[name] == pytest.approx(value, rel=1e-3), name


@pytest.mark.parametrize(
    "params",
    [(0.553, 10.578, 0.606, 11.669), (0.5, 0.05, 2.0, 40.0), (2.0, 30.0, 0.3, 0.2),
     (1.0, 5.0, 1.3, 5.0)],
)
def test_individual_quantities_match_lifetimes(cdnow: pd.DataFrame, params: tuple[float, ...]) -> None:
    """Per-customer LL, P(alive), E[X(T, T+t) | ...] equal lifetimes' at the same parameters (both α ≶ β)."""
    x, tx, T = _frt(cdnow)
    model = ParetoNBD()
    model.params_ = dict(zip(NAMES, params, strict=True))
    ref = ParetoNBDFitter()
    ref.params_ = pd.Series(dict(zip(NAMES, params, strict=True)))
    ll = model.log_likelihood_individual(x, tx, T)
    assert ll == pytest.approx(ParetoNBDFitter._conditional_log_likelihood(params, x, tx, T), rel=1e-9)
    pa = model.probability_alive(x, tx, T)
    assert pa == pytest.approx(ref.conditional_probability_alive(x, tx, T), rel=1e-6)
    ce = model.conditional_expected_purchases(10.0, x, tx, T)
    ce_ref = ref.conditional_expected_number_of_purchases_up_to_time(10.0, x, tx, T)
    assert ce == pytest.approx(np.asarray(ce_ref), rel=1e-6)
    t = np.array([0.0, 1.0, 10.0, 52.0])
    assert model.expected_purchases(t) == pytest.approx(
        np.asarray(ref.expected_number_of_purchases_up_to_time(t)), rel=1e-9)


def test_s_equal_one_is_the_limit(cdnow: pd.DataFrame) -> None:
    """At s = 1 (where lifetimes divides by s - 1 = 0) expectations are the s -> 1 limits."""
    x, tx, T = _frt(cdnow)
    at_one, near_one = ParetoNBD(), ParetoNBD()
    at_one.params_ = dict(zip(NAMES, (0.5, 8.0, 1.0, 9.0), strict=True))
    near_one.params_ = dict(zip(NAMES, (0.5, 8.0, 1.0 + 1e-7, 9.0), strict=True))
    for m in ("conditional_expected_purchases",):
        a = getattr(at_one, m)(10.0, x, tx, T)
        assert np.all(np.isfinite(a))
        assert a == pytest.approx(getattr(near_one, m)(10.0, x, tx, T), rel=1e-6)
    assert at_one.expected_purchases(52.0) == pytest.approx(near_one.expected_purchases(52.0), rel=1e-6)


def test_probability_of_purchases(fitted: ParetoNBD) -> None:
    """P(X(t)=n) (Fader & Hardie 2006) sums to 1, has mean E[X(t)], and equals lifetimes'.

    lifetimes has only the conditional form; at x = t_x = 0 and T -> 0 it is the new-customer one.
    """
    ref = ParetoNBDFitter()
    ref.params_ = pd.Series(fitted.params_)
    n = np.arange(0, 8)
    ours = fitted.probability_of_purchases(n, 39.0)
    theirs = np.array([ref.conditional_probability_of_n_purchases_up_to_time(k, 39.0, 0, 0, 1e-9)
                       for k in n])
    assert ours == pytest.approx(theirs, rel=1e-6)
    full = fitted.probability_of_purchases(np.arange(0, 400), 39.0)
    assert full.sum() == pytest.approx(1.0, abs=1e-9)
    assert (np.arange(0, 400) * full).sum() == pytest.approx(fitted.expected_purchases(39.0), rel=1e-6)
    assert fitted.probability_of_purchases(0, 0.0) == 1.0


def test_gradient_is_exact(cdnow: pd.DataFrame) -> None:
    """Analytic/hybrid gradient equals a central difference of the summed log-likelihood."""
    x, tx, T = _frt(cdnow)
    for params in [(0.553, 10.578, 0.606, 11.669), (0.9, 3.0, 1.4, 25.0), (0.4, 30.0, 0.8, 2.0)]:
        _, _, g = _terms(params, x, tx, T, grad=True)
        assert g is not None
        for i in range(4):
            h = 1e-6 * params[i]
            up, dn = list(params), list(params)
            up[i] += h
            dn[i] -= h
            fd = (_terms(tuple(up), x, tx, T)[0].sum() - _terms(tuple(dn), x, tx, T)[0].sum()) / (2 * h)
            assert g[:, i].sum() == pytest.approx(fd, rel=1e-5, abs=1e-3)


@pytest.mark.parametrize(
    ("params", "x", "u"),
    [((2.0, 1e-3, 3.0, 1e3), 200.0, 38.0),   # z ~ 0.96, b = r + x = 202: direct 2F1 overflows
     ((0.2, 1e3, 0.1, 1e-3), 200.0, 0.5),    # alpha >> beta, z -> 1
     ((0.5, 50.0, 0.6, 0.01), 1.0, 1e-9),
     ((1.0, 5.0, 1.0, 5.0), 0.0, 0.0)],       # alpha == beta, z = 0
)
def test_log_f_is_safe_at_extremes(params: tuple[float, float, float, float], x: float, u: float) -> None:
    """log ∫_u^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ (FHL 2005 eq. 19-20) against adaptive quadrature."""
    r, alpha, s, beta = params
    top = -(r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u)

    def f(t: float) -> float:
        return float(np.exp(-(r + x) * np.log(alpha + t) - (s + 1) * np.log(beta + t) - top))

    val, _ = integrate.quad(f, u, np.inf, epsabs=0, epsrel=1e-13, limit=500)
    got = _log_f(np.array([x]), np.array([u]), r, alpha, s, beta)[0]
    assert got == pytest.approx(np.log(val) + top, rel=1e-10, abs=1e-10)


def test_inputs_weights_polars_and_scalars(cdnow: pd.DataFrame, fitted: ParetoNBD) -> None:
    """Weighted distinct rows, keyword arrays and Polars give the same fit; scalars give floats."""
    counts = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    weighted = ParetoNBD().fit(counts, weights=counts["n"])
    assert weighted.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)
    polars = ParetoNBD().fit(pl.from_pandas(cdnow.reset_index()))
    assert polars.params_ == pytest.approx(fitted.params_, rel=1e-8)
    kw = ParetoNBD().fit(frequency=cdnow["frequency"], recency=cdnow["recency"], T=cdnow["T"])
    assert kw.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)
    pa = fitted.probability_alive(2, 30.43, 38.86)
    assert isinstance(pa, float)
    assert 0 < pa < 1
    series = fitted.probability_alive(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert isinstance(series, np.ndarray)
    assert series.shape == (len(cdnow),)
    assert np.all((series > 0) & (series <= 1))
    assert fitted.probability_alive(0, 0, 38.86) > fitted.probability_alive(5, 5.0, 38.86)


def test_errors_are_located(cdnow: pd.DataFrame) -> None:
    """Bad rows are named by customer id (else 1-based row), column and value; unfitted use
    says to call fit."""
    bad = cdnow.reset_index(drop=True).copy()
    bad.loc[4, "recency"] = 100.0
    with pytest.raises(DataValidationError, match=r"row 5, column 'recency', value 100.0: must be <= T"):
        ParetoNBD().fit(bad)
    bad.index = pd.Index([f"C{i:05d}" for i in range(len(bad))], name="customer_id")
    with pytest.raises(DataValidationError,
                       match=r"1 invalid customers: 'customer C00004', column 'recency', value 100.0"):
        ParetoNBD().fit(bad)
    with pytest.raises(DataValidationError, match="column 'frequency'"):
        ParetoNBD().fit(frequency=[1.5], recency=[1.0], T=[2.0])
    with pytest.raises(NotFittedError, match="Call 'fit' first"):
        ParetoNBD().probability_alive(1, 1, 2)
