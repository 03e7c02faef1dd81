"""The statistics of experiments against published values (sources in each test's docstring)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from clvlab import stats
from clvlab.errors import ParameterError
from clvlab.experiments.analyze import srm_check

# Benjamini and Hochberg (1995), section 4: the 15 p-values of the myocardial infarction example
BH_EXAMPLE = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
              0.5719, 0.6528, 0.7590, 1.000]


def test_benjamini_hochberg_on_the_papers_example() -> None:
    """BH (1995) reject the 4 smallest at q = 0.05; the 4th adjusted p is 0.0095 x 15 / 4 = 0.035625."""
    adj = stats.benjamini_hochberg(BH_EXAMPLE)
    assert int((adj <= 0.05).sum()) == 4
    assert adj[3] == pytest.approx(0.0095 * 15 / 4)
    assert adj[0] == pytest.approx(0.0001 * 15)  # min over j >= 1 of m p_(j) / j: j = 1 itself
    assert adj[4] == pytest.approx(min(0.0201 * 3, 0.0278 * 15 / 6, 0.0298 * 15 / 7, 0.0344 * 15 / 8))


def test_holm_on_the_same_example() -> None:
    """Holm (1979) on the BH example rejects 3 (as the paper reports for Bonferroni-type procedures):
    adjusted p = 15 x 0.0001, 14 x 0.0004, 13 x 0.0019, 12 x 0.0095, ... (a running maximum)."""
    adj = stats.holm(BH_EXAMPLE)
    assert int((adj <= 0.05).sum()) == 3
    assert adj[:4] == pytest.approx([0.0015, 0.0056, 0.0247, 0.114])
    assert adj[-1] == 1.0
    shuffled = np.array(BH_EXAMPLE)[::-1]
    assert stats.holm(shuffled)[::-1] == pytest.approx(adj)  # order of the input does not matter


def test_newcombe_difference_example() -> None:
    """Newcombe (1998), table II, example (a): 56/70 - 48/80 = 0.2, method 10: 0.0524 to 0.3339."""
    d, lo, hi = stats.newcombe_interval(56, 70, 48, 80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)


def test_welch_matches_scipy() -> None:
    """The Welch p-value and degrees of freedom agree with scipy's independent implementation."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 2, 40), rng.normal(0, 1, 60)
    _d, lo, hi, _se, p = stats.welch_interval(a.mean(), a.var(ddof=1), 40, b.mean(), b.var(ddof=1), 60)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert p == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high))


def test_sample_size_for_proportions_matches_fleiss_table() -> None:
    """Fleiss, Levin and Paik (2003), table A.4 (continuity-corrected): p1 = .20, p2 = .25, alpha .05
    two-sided, power .80 -> 1,134 per group; without the correction the classical formula gives 1,094."""
    assert math.ceil(stats.sample_size_proportions(0.20, 0.25)) == 1134
    assert math.ceil(stats.sample_size_proportions(0.20, 0.25, continuity=False)) == 1094


def test_sample_size_for_means_matches_cohen() -> None:
    """Cohen (1988), table 2.4.1: d = 0.5, alpha .05 two-sided, power .80 -> n = 64 per group."""
    assert math.ceil(stats.sample_size_means(0.5, 1.0)) == 64
    assert math.ceil(stats.sample_size_means(0.2, 1.0)) == 394  # same table, d = 0.2


def test_srm_flagged_on_a_55_45_split_of_10k() -> None:
    """5,500 / 4,500 against a planned 50/50: chi-squared 100, p ~ 1.5e-23, flagged."""
    srm = srm_check({"control": 5500, "treatment": 4500}, {"control": 0.5, "treatment": 0.5})
    assert srm["flagged"]
    assert srm["chi2"] == pytest.approx(100.0)
    assert "SAMPLE RATIO MISMATCH" in srm["text"]
    assert not srm_check({"control": 5020, "treatment": 4980}, {"control": 0.5, "treatment": 0.5})["flagged"]


def test_cuped_theta_is_cov_over_var() -> None:
    """With one covariate and one group, theta = cov(y, x) / var(x) (Deng et al. 2013, eq. 3)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    y = 2 * x + rng.normal(size=500)
    adj, theta, r2 = stats.covariate_adjust(y, x, np.zeros(500))
    assert theta[0] == pytest.approx(np.cov(y, x)[0, 1] / np.var(x, ddof=1))
    assert adj.mean() == pytest.approx(y.mean())
    assert r2 == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2)


def test_winsorize_and_bootstrap_are_reproducible() -> None:
    values, cap = stats.winsorize(np.arange(101.0), 99)
    assert cap == 99.0
    assert values.max() == 99.0
    rng = np.random.default_rng(2)
    t, c = rng.lognormal(1, 1, 300), rng.lognormal(1, 1, 300)
    assert stats.bootstrap_interval(t, c, seed=5) == stats.bootstrap_interval(t, c, seed=5)


def _delong_se(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """DeLong, DeLong and Clarke-Pearson (1988): the standard error of AUC(a) - AUC(b) on the same
    cases, from the placement values of each positive and each negative."""
    pos, neg = y == 1, y == 0
    comps = []
    for s in (a, b):
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        comps.append((psi.mean(axis=1), psi.mean(axis=0)))
    v10 = np.cov(np.vstack([comps[0][0], comps[1][0]]))
    v01 = np.cov(np.vstack([comps[0][1], comps[1][1]]))
    var = v10 / pos.sum() + v01 / neg.sum()
    return float(np.sqrt(var[0, 0] + var[1, 1] - 2 * var[0, 1]))


def test_paired_auc_difference_matches_sklearn_and_delong() -> None:
    """The difference is sklearn's two AUCs apart (ties count half); the paired bootstrap's standard
    error is DeLong et al.'s (1988) within 15%, far below the unpaired one's when the scores share
    most of their signal; seeded; bad inputs are named."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    n = 1500
    y = (rng.random(n) < 0.3).astype(int)
    shared = y + rng.normal(0, 1, n)
    a, b = shared + rng.normal(0, 0.3, n), np.round(shared + rng.normal(0, 0.3, n), 1)
    r = stats.auc_difference_interval(y, a, b, n_resamples=400)
    assert r["difference"] == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    delong = _delong_se(y, a, b)
    assert r["se"] == pytest.approx(delong, rel=0.15)
    assert r["lower"] < r["difference"] < r["upper"]
    unpaired = math.hypot(*(_delong_se(y, s, np.zeros(n)) for s in (a, b)))
    assert delong < unpaired / 3
    assert stats.auc_difference_interval(y, a, b, seed=2) == stats.auc_difference_interval(y, a, b, seed=2)
    with pytest.raises(ParameterError, match="y"):
        stats.auc_difference_interval(np.ones(n), a, b)
    with pytest.raises(ParameterError, match="score_a"):
        stats.auc_difference_interval(y, a[:-1], b)
