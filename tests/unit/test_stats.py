"""clvlab.stats: the intervals every survey metric and experiment builds on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from clvlab.stats import bounded_mean_interval, t_interval, wald_interval, wilson_interval


def test_bounded_mean_interval_is_wilson_on_binary_answers() -> None:
    """0/1 answers on a 0-1 scale: the bounded-mean interval is Wilson's (n_eff = n - 1, t quantile),
    within 0.002 of Newcombe's (1998, Table I) 81/263 -> 0.2553-0.3662."""
    x = np.array([1] * 81 + [0] * 182, dtype=float)
    lo, hi = bounded_mean_interval(x.mean(), x.std(ddof=1), x.size, scale=(0, 1))
    assert (float(lo), float(hi)) == pytest.approx((0.2553, 0.3662), abs=0.002)


@pytest.mark.parametrize(("probs", "n"), [((0.01, 0.01, 0.03, 0.15, 0.80), 30),
                                          ((0.03, 0.05, 0.12, 0.35, 0.45), 10),
                                          ((0.05, 0.2, 0.5, 0.2, 0.05), 100)])
def test_bounded_mean_interval_coverage_by_simulation(probs: tuple[float, ...], n: int) -> None:
    """Seeded simulation (20,000 samples of 1-5 answers): the 95% interval covers the true mean
    at least 93.5% of the time, also near the top of the scale where Student's t covers ~89%."""
    rng = np.random.default_rng(19980601)
    x = rng.choice(np.arange(1, 6), size=(20_000, n), p=probs)
    lo, hi = bounded_mean_interval(x.mean(axis=1), x.std(axis=1, ddof=1), n, scale=(1, 5))
    truth = float(np.dot(np.arange(1, 6), probs))
    assert float(np.mean((lo <= truth) & (truth <= hi))) >= 0.935
    assert lo.min() >= 1
    assert hi.max() <= 5


def test_wald_and_wilson_agree_at_large_n_and_t_matches_scipy() -> None:
    """Wald and Wilson agree to 0.001 at n = 10,000, p = 0.3; the t interval is scipy's."""
    assert np.allclose(wald_interval(3000, 10_000), wilson_interval(3000, 10_000), atol=1e-3)
    lo, hi = t_interval(3.8, 1.3166, 10)
    ref = stats.t.interval(0.95, 9, loc=3.8, scale=1.3166 / np.sqrt(10))
    assert (float(lo), float(hi)) == pytest.approx(ref)
