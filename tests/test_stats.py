"""Leaderboard statistics against hand computations and SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug.leaderboard import stats


# -- paired t-test -------------------------------------------------------------------


def test_paired_t_by_hand():
    # d = [1, 2, 3, 4]: mean 2.5, sd sqrt(5/3), t = 2.5 / (sd / 2) = 3.8730, df = 3
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.zeros(4)
    t = 2.5 / (math.sqrt(5 / 3) / 2)
    assert t == pytest.approx(3.872983346, rel=1e-9)
    expected = 2 * scipy.stats.t.sf(t, df=3)
    assert stats.paired_t(a, b) == pytest.approx(expected, rel=1e-12)
    assert stats.paired_t(a, b) == pytest.approx(0.0304663, abs=1e-6)


def test_paired_t_matches_scipy_on_random_data():
    rng = np.random.default_rng(1)
    a = rng.random(200)
    b = a - 0.02 + rng.normal(0, 0.1, 200)
    assert stats.paired_t(a, b) == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert stats.paired_t(a, b) == stats.paired_t(b, a)  # two-sided


def test_paired_t_degenerate_cases():
    assert stats.paired_t(np.ones(5), np.ones(5)) == 1.0  # identical: no evidence
    assert stats.paired_t(np.ones(5), np.zeros(5)) == 0.0  # constant shift: t infinite
    assert math.isnan(stats.paired_t(np.ones(1), np.zeros(1)))
    assert math.isnan(stats.paired_t(np.ones(0), np.zeros(0)))
    with pytest.raises(ValueError, match="one length"):
        stats.paired_t(np.ones(3), np.ones(4))


# -- Wilcoxon ------------------------------------------------------------------------


def test_wilcoxon_by_hand():
    # 5 positive, distinct differences: W- = 0, P(W- = 0) = 1/2^5, two-sided p = 2/32
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stats.wilcoxon(a, np.zeros(5)) == pytest.approx(0.0625, abs=1e-12)
    # ranks 1, 2, 3 positive and rank 4 negative: W- = 4. Of the 16 sign patterns of n = 4,
    # those with W <= 4 are {}, {1}, {2}, {3}, {1,2}, {4}, {1,3}: p = 2 * 7/16 = 0.875
    d = np.array([1.0, 2.0, 3.0, -4.0])
    assert stats.wilcoxon(d, np.zeros(4)) == pytest.approx(0.875, abs=1e-12)


def test_wilcoxon_drops_zero_differences():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 0.5, 0.5, 0.5])
    b = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5])  # three users tie
    assert stats.wilcoxon(a, b) == pytest.approx(0.0625, abs=1e-12)
    assert stats.wilcoxon(a, b) == pytest.approx(
        scipy.stats.wilcoxon(a - b, zero_method="wilcox").pvalue, abs=1e-12)
    assert stats.wilcoxon(np.ones(6), np.ones(6)) == 1.0
    assert math.isnan(stats.wilcoxon(np.ones(0), np.ones(0)))


def test_wilcoxon_matches_scipy_on_large_samples():
    rng = np.random.default_rng(2)
    a = rng.random(500)
    b = a - 0.01 + rng.normal(0, 0.05, 500)
    expected = scipy.stats.wilcoxon(a, b, zero_method="wilcox").pvalue
    assert stats.wilcoxon(a, b) == pytest.approx(expected, rel=1e-12)


# -- Holm ----------------------------------------------------------------------------


def test_holm_by_hand():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02], rtol=1e-12)


def test_holm_caps_at_one_and_keeps_nan():
    adjusted = stats.holm([0.5, float("nan"), 0.4, 0.01])
    # m = 3 (NaN excluded): 0.01*3 = 0.03, 0.4*2 = 0.8, 0.5*1 = 0.5 -> 0.8
    np.testing.assert_allclose(adjusted[[0, 2, 3]], [0.8, 0.8, 0.03])
    assert math.isnan(adjusted[1])
    assert stats.holm([0.9, 0.8]).tolist() == [1.0, 1.0]
    assert stats.holm([]).size == 0
    assert stats.holm([0.02]).tolist() == [0.02]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_holm_properties(pvalues):
    p = np.array(pvalues)
    adjusted = stats.holm(p)
    assert np.all(adjusted >= p - 1e-15) and np.all(adjusted <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)  # monotone in the raw p-values
    assert np.all(adjusted <= np.minimum(1.0, p * len(p)) + 1e-15)  # never worse than Bonferroni


# -- bootstrap -----------------------------------------------------------------------


def test_bootstrap_of_a_constant_is_a_point():
    lo, hi = stats.bootstrap_ci(np.full(50, 0.3), n_resamples=100, rng=np.random.default_rng(0))
    assert lo == pytest.approx(0.3) and hi == pytest.approx(0.3)


def test_bootstrap_is_seeded_and_chunking_does_not_matter(monkeypatch):
    values = np.random.default_rng(3).random(400)
    first = stats.bootstrap_ci(values, n_resamples=300, rng=np.random.default_rng(7))
    assert stats.bootstrap_ci(values, n_resamples=300, rng=np.random.default_rng(7)) == first
    assert stats.bootstrap_ci(values, n_resamples=300, rng=np.random.default_rng(8)) != first
    monkeypatch.setattr(stats, "_BOOTSTRAP_CHUNK", 1000)  # 2 resamples per chunk
    assert stats.bootstrap_ci(values, n_resamples=300, rng=np.random.default_rng(7)) == first


def test_bootstrap_agrees_with_scipy_and_theory():
    values = np.random.default_rng(4).exponential(0.2, 1000)
    lo, hi = stats.bootstrap_ci(values, n_resamples=4000, rng=np.random.default_rng(0))
    ref = scipy.stats.bootstrap((values,), np.mean, n_resamples=4000, method="percentile",
                                confidence_level=0.95, random_state=np.random.default_rng(1))
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert lo < values.mean() < hi
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.15 * se)
    assert hi == pytest.approx(ref.confidence_interval.high, abs=0.15 * se)
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci(np.ones(3), n_resamples=10, level=1.0, rng=rng)
    with pytest.raises(ValueError, match="n_resamples"):
        stats.bootstrap_ci(np.ones(3), n_resamples=0, rng=rng)
    assert all(math.isnan(v) for v in stats.bootstrap_ci(np.ones(0), n_resamples=5, rng=rng))


# -- per-user alignment --------------------------------------------------------------


def test_average_over_seeds_uses_common_users():
    users, means = stats.average_over_seeds([
        (np.array([3, 1, 2]), np.array([0.3, 0.1, 0.2])),
        (np.array([2, 3, 4]), np.array([0.4, 0.5, 0.9])),
    ])
    assert users.tolist() == [2, 3]
    np.testing.assert_allclose(means, [0.3, 0.4])
    one_users, one = stats.average_over_seeds([(np.array([5, 4]), np.array([1.0, 2.0]))])
    assert one_users.tolist() == [4, 5] and one.tolist() == [2.0, 1.0]
    with pytest.raises(ValueError):
        stats.average_over_seeds([])


def test_pair_users_matches_by_id():
    common, a, b = stats.pair_users(np.array([9, 4, 7]), np.array([0.9, 0.4, 0.7]),
                                    np.array([7, 9, 1]), np.array([0.07, 0.09, 0.01]))
    assert common.tolist() == [7, 9]
    np.testing.assert_allclose(a, [0.7, 0.9])
    np.testing.assert_allclose(b, [0.07, 0.09])
