import itertools

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kid_features_to_metric

from cyclegan_plugin.evaluation.kid import (kernel_inception_distance,
                                            mmd2_unbiased, polynomial_kernel)


def expected_cubic_kernel(a, b, s, dim):
    """E[(x . y / D + 1)^3] for independent x ~ N(a, s^2 I), y ~ N(b, s^2 I).

    Given y, x . y ~ N(a . y, s^2 |y|^2); its first three moments are then
    averaged over y, where a . y ~ N(a . b, s^2 |a|^2) and
    E|y|^2 = |b|^2 + D s^2, E[(a . y) |y|^2] = (a . b)(|b|^2 + D s^2 + 2 s^2).
    """
    p, q = a @ b, s**2 * (a @ a)
    yy = b @ b + dim * s**2
    m1 = p
    m2 = p**2 + q + s**2 * yy
    m3 = p**3 + 3 * p * q + 3 * s**2 * p * (yy + 2 * s**2)
    return m3 / dim**3 + 3 * m2 / dim**2 + 3 * m1 / dim + 1


def loop_mmd2(x, y):
    """MMD^2_u straight from Gretton et al. (2012), eq. 3, with loops."""

    def k(u, v):
        return (np.dot(u, v) / len(u) + 1)**3

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(n), 2))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m))
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)


def test_polynomial_kernel_is_cubic_in_normalised_dot_product():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    expected = np.array([[(xi @ yj / 5 + 1)**3 for yj in y] for xi in x])
    np.testing.assert_allclose(polynomial_kernel(x, y), expected)


def test_mmd2_unbiased_matches_the_formula_for_unequal_sizes():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 4)), rng.normal(0.5, 1, size=(5, 4))
    assert mmd2_unbiased(x, y) == pytest.approx(loop_mmd2(x, y), rel=1e-12)


def test_agrees_with_torch_fidelity_on_the_same_features():
    rng = np.random.default_rng(2)
    fake = rng.normal(size=(60, 32))
    real = rng.normal(0.2, 1.3, size=(50, 32))
    mean, std = kernel_inception_distance(
        fake, real, num_subsets=20, subset_size=40, seed=7)
    ref = kid_features_to_metric(
        torch.from_numpy(fake),
        torch.from_numpy(real),
        kid_subsets=20,
        kid_subset_size=40,
        rng_seed=7,
        verbose=False)
    assert mean == pytest.approx(
        ref['kernel_inception_distance_mean'], rel=1e-10)
    assert std == pytest.approx(ref['kernel_inception_distance_std'], rel=1e-8)
    assert std > 0


def test_matches_the_analytic_mmd_of_shifted_gaussians():
    dim, s, n = 8, 0.5, 1000
    a, b = np.zeros(dim), np.full(dim, 0.5)
    truth = (
        expected_cubic_kernel(a, a, s, dim) +
        expected_cubic_kernel(b, b, s, dim) -
        2 * expected_cubic_kernel(a, b, s, dim))
    rng = np.random.default_rng(3)
    # An average of independent unbiased estimates: one estimate at n=1000
    # spreads by ~3% of the truth, the average of 6 by ~1.3%.
    estimates = [
        kernel_inception_distance(
            rng.normal(a, s, size=(n, dim)),
            rng.normal(b, s, size=(n, dim)),
            num_subsets=1,
            subset_size=n)[0] for _ in range(6)
    ]
    assert np.mean(estimates) == pytest.approx(truth, rel=0.05)


def test_equal_distributions_score_near_zero():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 16))
    same, _ = kernel_inception_distance(x, x.copy(), 10, 100)
    other, _ = kernel_inception_distance(
        rng.normal(size=(200, 16)), rng.normal(size=(200, 16)), 10, 100)
    shifted, _ = kernel_inception_distance(x, x + 1, 10, 100)
    assert abs(same) < 0.02 * shifted
    assert abs(other) < 0.02 * shifted


def test_small_sets_use_every_row_in_each_subset():
    rng = np.random.default_rng(5)
    fake, real = rng.normal(size=(9, 6)), rng.normal(1, 1, size=(6, 6))
    mean, std = kernel_inception_distance(
        fake, real, num_subsets=5, subset_size=100)
    # Each subset is a permutation of the whole set; MMD ignores order.
    assert mean == pytest.approx(loop_mmd2(fake, real), rel=1e-10)
    assert std == pytest.approx(0, abs=1e-10)


def test_subsets_are_seeded():
    rng = np.random.default_rng(6)
    fake, real = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    first = kernel_inception_distance(fake, real, 5, 20, seed=1)
    assert kernel_inception_distance(fake, real, 5, 20, seed=1) == first
    assert kernel_inception_distance(fake, real, 5, 20, seed=2) != first


def test_needs_two_rows_per_side():
    with pytest.raises(ValueError, match='at least 2'):
        kernel_inception_distance(np.zeros((1, 4)), np.zeros((5, 4)))
