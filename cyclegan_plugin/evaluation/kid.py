"""Kernel Inception Distance (Binkowski et al., 2018).

KID is the squared maximum mean discrepancy between two feature sets under
the cubic polynomial kernel ``k(x, y) = (x . y / D + 1) ** 3``, estimated
without bias (Gretton et al., 2012, eq. 3) on random subsets and averaged
over subsets; the spread over subsets is reported as its std. U-GAT-IT
reports KID x 100 on Selfie2Anime; so do we. Small negative values are
valid: the estimator is unbiased, so it scatters around 0 for equal
distributions.
"""
from typing import Dict, Tuple

import numpy as np

from cyclegan_plugin.registry import METRICS
from .feature_metric import FeatureDistanceMetric


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cubic kernel matrix ``(x_i . y_j / D + 1) ** 3``, shape ``(N, M)``.

    Args:
        x: Features ``(N, D)``.
        y: Features ``(M, D)``.
    """
    return (x @ y.T / x.shape[1] + 1)**3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of MMD^2 between the laws of ``x`` and ``y``.

    The within-set means leave out the diagonal ``k(x_i, x_i)``; the sets
    may differ in size.

    Args:
        x: Features ``(N, D)``, ``N >= 2``.
        y: Features ``(M, D)``, ``M >= 2``.
    """
    n, m = len(x), len(y)
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * polynomial_kernel(x, y).mean())


def kernel_inception_distance(fake: np.ndarray,
                              real: np.ndarray,
                              num_subsets: int = 100,
                              subset_size: int = 100,
                              seed: int = 0) -> Tuple[float, float]:
    """KID between two feature sets: mean and std of MMD^2 over subsets.

    Each subset draws ``min(subset_size, len(set))`` rows of each set
    without replacement. Subsets are drawn in the same order as
    torch-fidelity's ``kid_features_to_metric`` draws them, so equal seeds
    give equal subsets when both sets have at least ``subset_size`` rows.

    Args:
        fake: Features ``(N, D)``.
        real: Features ``(M, D)``.
        num_subsets: Number of random subsets.
        subset_size: Rows drawn from each set per subset.
        seed: Seed of the subset draws.

    Returns:
        ``(mean, std)`` of the subset estimates (std with ``ddof=0``),
        not scaled.
    """
    n_fake = min(subset_size, len(fake))
    n_real = min(subset_size, len(real))
    if n_fake < 2 or n_real < 2:
        raise ValueError(
            'KID needs at least 2 images on each side, got '
            f'{len(fake)} translated and {len(real)} real images.')
    rng = np.random.RandomState(seed)
    mmds = np.empty(num_subsets)
    for i in range(num_subsets):
        f = fake[rng.choice(len(fake), n_fake, replace=False)]
        r = real[rng.choice(len(real), n_real, replace=False)]
        mmds[i] = mmd2_unbiased(f, r)
    return float(mmds.mean()), float(mmds.std())


@METRICS.register_module()
class KID(FeatureDistanceMetric):
    """KID x 100 for both directions: ``kid_a2b``, ``kid_a2b_std``, ...

    ``kid_a2b`` compares the translations of testA with the real testB.
    When both sides have at most ``subset_size`` images (Selfie2Anime's
    test splits have 100 each), every subset holds all of them and the std
    is ~0; a smaller ``subset_size`` shows the spread.

    Args:
        num_subsets: Number of random subsets.
        subset_size: Images per subset and side (fewer if a side has fewer).
        seed: Seed of the subset draws.
        **kwargs: See :class:`FeatureDistanceMetric` (``feature_extractor``,
            ``inception_weights``, ``device``, ...).
    """

    def __init__(self,
                 num_subsets: int = 100,
                 subset_size: int = 100,
                 seed: int = 0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_subsets = num_subsets
        self.subset_size = subset_size
        self.seed = seed

    def distances(self, direction: str, fake: np.ndarray,
                  real: np.ndarray) -> Dict[str, float]:
        mean, std = kernel_inception_distance(fake, real, self.num_subsets,
                                              self.subset_size, self.seed)
        return {
            f'kid_{direction}': 100 * mean,
            f'kid_{direction}_std': 100 * std
        }
