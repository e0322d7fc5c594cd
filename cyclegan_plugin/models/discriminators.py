"""The PatchGAN discriminator of pix2pix and CycleGAN."""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from cyclegan_plugin.registry import MODELS
from .layers import NORMAL_INIT_CFG, build_norm, conv_bias


@MODELS.register_module()
class PatchDiscriminator(BaseModule):
    """Classifies overlapping patches as real or fake.

    C64 (no norm), C128, C256 with stride 2, C512 with stride 1, then a
    1-channel conv; every conv is 4x4 and followed by LeakyReLU(0.2). With
    3 layers and 64 base channels each output cell sees exactly a 70x70
    input window, the model has 2,764,737 parameters and a 256x256 image
    gives a 30x30 score map.

    Args:
        in_channels: Channels of the judged image.
        base_channels: Filters of the first conv.
        num_layers: Stride-2 convs after the first one, counting the
            first (3 gives the 70x70 PatchGAN).
        norm: Norm layer name for every conv but the first and last.
        init_cfg: mmengine init config; N(0, 0.02) weights, N(1, 0.02)
            batch norm scales, zero biases.
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_layers: int = 3,
                 norm: str = 'instance',
                 init_cfg: Optional[Union[dict, list]] = NORMAL_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        bias = conv_bias(norm)
        layers = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = base_channels
        for n in range(1, num_layers + 1):
            out_channels = base_channels * min(2**n, 8)
            stride = 2 if n < num_layers else 1
            layers += [
                nn.Conv2d(channels, out_channels, 4, stride=stride,
                          padding=1, bias=bias),
                build_norm(norm, out_channels),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> raw scores (N, 1, H', W')."""
        return self.model(x)
