import numpy as np
import pytest
import torch
from torch_fidelity.metric_fid import (fid_features_to_statistics,
                                       fid_statistics_to_metric)

from cyclegan_plugin.evaluation.fid import (feature_statistics,
                                            frechet_distance,
                                            frechet_inception_distance)


def torch_fidelity_fid(fake, real):
    stats = [
        fid_features_to_statistics(torch.from_numpy(f)) for f in (fake, real)
    ]
    return fid_statistics_to_metric(
        *stats, verbose=False)['frechet_inception_distance']


def random_spd(rng, dim):
    mat = rng.normal(size=(dim, dim))
    return mat @ mat.T / dim + 0.1 * np.eye(dim)


@pytest.mark.parametrize('n_fake,n_real,dim', [(300, 250, 12), (30, 25, 64)])
def test_agrees_with_torch_fidelity(n_fake, n_real, dim):
    # (300, 250, 12) takes the covariance route, (30, 25, 64) the sample
    # route with singular covariances.
    rng = np.random.default_rng(0)
    fake = rng.normal(size=(n_fake, dim)) @ rng.normal(size=(dim, dim))
    real = rng.normal(0.3, 1, size=(n_real, dim)) @ rng.normal(size=(dim, dim))
    assert frechet_inception_distance(fake, real) == pytest.approx(
        torch_fidelity_fid(fake, real), rel=1e-7)


def test_both_routes_agree_when_covariances_are_singular():
    rng = np.random.default_rng(1)
    fake, real = rng.normal(size=(20, 40)), rng.normal(1, 2, size=(15, 40))
    from_stats = frechet_distance(*feature_statistics(fake),
                                  *feature_statistics(real))
    assert frechet_inception_distance(fake, real) == pytest.approx(
        from_stats, rel=1e-8)


def test_closed_form_for_commuting_covariances():
    # With S1 = R diag(s1) R^T and S2 = R diag(s2) R^T,
    # FID = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
    rng = np.random.default_rng(2)
    dim = 6
    rot, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    s1, s2 = rng.uniform(0.1, 3, dim), rng.uniform(0.1, 3, dim)
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    expected = ((mu1 - mu2)**2).sum() + ((np.sqrt(s1) - np.sqrt(s2))**2).sum()
    got = frechet_distance(mu1, rot @ np.diag(s1) @ rot.T, mu2,
                           rot @ np.diag(s2) @ rot.T)
    assert got == pytest.approx(expected, rel=1e-10)


def test_non_commuting_covariances_match_the_product_eigenvalues():
    rng = np.random.default_rng(3)
    s1, s2 = random_spd(rng, 8), random_spd(rng, 8)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    tr_covmean = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real
    expected = (((mu1 - mu2)**2).sum() + np.trace(s1) + np.trace(s2) -
                2 * tr_covmean.sum())
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        expected, rel=1e-10)


def test_shifted_gaussians_score_the_squared_mean_shift():
    rng = np.random.default_rng(4)
    dim, n = 4, 20000
    cov = random_spd(rng, dim)
    chol = np.linalg.cholesky(cov)
    shift = np.array([1.0, -0.5, 0.5, 1.5])
    fake = rng.normal(size=(n, dim)) @ chol.T
    real = rng.normal(size=(n, dim)) @ chol.T + shift
    # Estimation noise of mean and covariance is O(sqrt(dim / n)) ~ 0.015.
    assert frechet_inception_distance(fake, real) == pytest.approx(
        shift @ shift, abs=0.1)


@pytest.mark.parametrize('n,dim', [(500, 8), (50, 128)])
def test_a_set_against_itself_scores_zero(n, dim):
    rng = np.random.default_rng(5)
    feats = rng.normal(size=(n, dim)) * 10
    assert frechet_inception_distance(feats, feats.copy()) == pytest.approx(
        0, abs=1e-6)


def test_needs_two_samples_per_set():
    with pytest.raises(ValueError, match='at least 2'):
        frechet_inception_distance(np.zeros((1, 4)), np.ones((3, 4)))
