"""A cheap, deterministic stand-in for Inception: for tests and smoke runs.

KID and FID computed on these features measure how far two image sets are
apart in downsampled pixel space. They are NOT comparable to any published
KID/FID and must not be reported as such; use ``TFInceptionFeatures`` for
real numbers. The stand-in needs no weights file, so configs that must run
offline (CI, a quick end-to-end check) can still exercise the metrics.
"""
import torch
from torch import nn
from torch.nn import functional as F

from cyclegan_plugin.registry import MODELS


@MODELS.register_module()
class RandomProjectionFeatures(nn.Module):
    """A fixed random linear map of the average-pooled image.

    Args:
        feat_dim: Size ``D`` of the feature vector.
        pool_size: Images are average-pooled to ``pool_size`` squared pixels
            per channel before the projection.
        seed: Seed of the projection matrix, so features are reproducible
            across processes.
    """

    def __init__(self,
                 feat_dim: int = 64,
                 pool_size: int = 8,
                 seed: int = 0) -> None:
        super().__init__()
        self.pool_size = pool_size
        in_dim = 3 * pool_size * pool_size
        gen = torch.Generator().manual_seed(seed)
        proj = torch.randn(in_dim, feat_dim, generator=gen) / in_dim**0.5
        self.register_buffer('proj', proj)

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        """Extract features.

        Args:
            imgs: uint8 RGB images ``(N, 3, H, W)`` in 0..255.

        Returns:
            float32 features ``(N, feat_dim)``.
        """
        if imgs.dtype != torch.uint8 or imgs.dim() != 4:
            raise ValueError('RandomProjectionFeatures expects uint8 images '
                             f'(N, 3, H, W), got {imgs.dtype} '
                             f'{tuple(imgs.shape)}.')
        x = imgs.float() / 127.5 - 1
        x = F.adaptive_avg_pool2d(x, self.pool_size).flatten(1)
        return x @ self.proj
