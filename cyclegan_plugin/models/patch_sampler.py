"""CUT's patch sampler: random locations of feature maps, projected by a
small MLP per feature layer and L2-normalised."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from cyclegan_plugin.registry import MODELS


@MODELS.register_module()
class PatchSampleMLP(BaseModule):
    """Samples ``num_patches`` locations of each feature map and maps each
    patch through ``Linear(C, D) -> ReLU -> Linear(D, D)``, then to unit
    length.

    The reference creates its MLPs lazily from the first batch's feature
    shapes, which forces a data-dependent step before the optimizers can be
    built. Here the channels are given (the generator reports them,
    :meth:`ResnetGenerator.feature_channels`), so the head exists from the
    start: it is built, initialised, saved and resumed like any network.

    Args:
        in_channels: Channels of each tapped feature map.
        channels: Width D of the MLP (256 in the paper).
        num_patches: Locations sampled per map (256 in the paper); all of
            them where a map has fewer.
        init_cfg: mmengine init config; the reference's CUT uses Xavier
            normal with gain 0.02 for every network.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 num_patches: int = 256,
                 init_cfg: Optional[dict] = dict(
                     type='Xavier', layer='Linear', gain=0.02,
                     distribution='normal', bias=0.0)):
        super().__init__(init_cfg=init_cfg)
        self.num_patches = num_patches
        self.mlps = nn.ModuleList(
            nn.Sequential(
                nn.Linear(c, channels), nn.ReLU(inplace=True),
                nn.Linear(channels, channels)) for c in in_channels)

    def forward(
        self,
        features: Sequence[torch.Tensor],
        patch_ids: Optional[Sequence[torch.Tensor]] = None
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Projects patches of ``features`` ((N, C_i, H_i, W_i) each).

        Args:
            features: One map per MLP, in order.
            patch_ids: Locations to take (flat indices into H_i * W_i), as
                returned by an earlier call; drawn at random if ``None``.
                The same locations serve every image of the batch.

        Returns:
            ``(N * P_i, D)`` unit-length patch features per map (image-major)
            and the locations used.
        """
        if len(features) != len(self.mlps):
            raise ValueError(f'PatchSampleMLP has {len(self.mlps)} MLPs, '
                             f'got {len(features)} feature maps.')
        samples, ids = [], []
        for i, (feature, mlp) in enumerate(zip(features, self.mlps)):
            flat = feature.flatten(2).transpose(1, 2)  # (N, H*W, C)
            if patch_ids is None:
                where = torch.randperm(
                    flat.shape[1], device=feature.device)[:self.num_patches]
            else:
                where = patch_ids[i]
            patches = flat[:, where].flatten(0, 1)
            samples.append(F.normalize(mlp(patches), dim=1, eps=1e-7))
            ids.append(where)
        return samples, ids
