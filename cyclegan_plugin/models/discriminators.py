"""The PatchGAN discriminator of pix2pix and CycleGAN."""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from cyclegan_plugin.registry import MODELS
from .layers import NORMAL_INIT_CFG, BlurDownsample, build_norm, conv_bias

DOWNSAMPLES = ('strided_conv', 'antialias')


@MODELS.register_module()
class PatchDiscriminator(BaseModule):
    """Classifies overlapping patches as real or fake.

    C64 (no norm), C128, C256 with stride 2, C512 with stride 1, then a
    1-channel conv; every conv is 4x4 and followed by LeakyReLU(0.2). With
    3 layers and 64 base channels each output cell sees exactly a 70x70
    input window, the model has 2,764,737 parameters and a 256x256 image
    gives a 30x30 score map.

    ``downsample='antialias'`` is CUT's default discriminator: each
    stride-2 conv runs at stride 1 and its LeakyReLU is followed by a
    :class:`BlurDownsample`, so the score map has the same size and the
    model the same parameters (the blur is a fixed buffer), at about 4x the
    cost of those convs; each cell then sees a slightly larger window.

    Args:
        in_channels: Channels of the judged image.
        base_channels: Filters of the first conv.
        num_layers: Stride-2 convs after the first one, counting the
            first (3 gives the 70x70 PatchGAN).
        norm: Norm layer name for every conv but the first and last.
        downsample: ``'strided_conv'`` (pix2pix, CycleGAN) or
            ``'antialias'`` (CUT's reference default).
        init_cfg: mmengine init config; N(0, 0.02) weights, N(1, 0.02)
            batch norm scales, zero biases.
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_layers: int = 3,
                 norm: str = 'instance',
                 downsample: str = 'strided_conv',
                 init_cfg: Optional[Union[dict, list]] = NORMAL_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        if downsample not in DOWNSAMPLES:
            raise ValueError(f'Unknown downsample {downsample!r}; choose one '
                             f'of {list(DOWNSAMPLES)}.')
        blur = downsample == 'antialias'
        bias = conv_bias(norm)
        layers = [
            nn.Conv2d(in_channels, base_channels, 4, stride=1 if blur else 2,
                      padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        if blur:
            layers.append(BlurDownsample(base_channels))
        channels = base_channels
        for n in range(1, num_layers + 1):
            out_channels = base_channels * min(2**n, 8)
            halves = n < num_layers
            layers += [
                nn.Conv2d(channels, out_channels, 4,
                          stride=2 if halves and not blur else 1, padding=1,
                          bias=bias),
                build_norm(norm, out_channels),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            if halves and blur:
                layers.append(BlurDownsample(out_channels))
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> raw scores (N, 1, H', W')."""
        return self.model(x)
