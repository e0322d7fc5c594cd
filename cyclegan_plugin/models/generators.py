"""The ResNet generator of CycleGAN (Johnson et al. 2016, as in Zhu 2017).

Layer names follow the paper's appendix: ``c7s1-k`` is a 7x7 conv, stride
1, k filters, then norm and ReLU; ``dk`` a 3x3 stride-2 conv that halves
the resolution; ``Rk`` a residual block; ``uk`` a x2 upsampling conv.
CUT's generator is the same network with anti-aliased ``dk`` and ``uk``
(``downsample='antialias'``, ``upsample='antialias'``).
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from cyclegan_plugin.registry import MODELS
from .layers import (NORMAL_INIT_CFG, Conv2d, build_downsample, build_norm,
                     build_upsample, check_padding_mode, conv_bias)


@MODELS.register_module()
class ResidualBlock(nn.Module):
    """pad -> 3x3 conv -> norm -> ReLU -> (dropout) -> pad -> conv -> norm,
    added to the input.

    Args:
        channels: Input and output channels.
        norm: Norm layer name, see :data:`layers.NORM_LAYERS`.
        padding_mode: ``'reflect'`` (paper), ``'replicate'`` or ``'zeros'``.
        dropout: Dropout probability between the convs (0 disables it).
    """

    def __init__(self, channels: int, norm: str = 'instance',
                 padding_mode: str = 'reflect', dropout: float = 0.0):
        super().__init__()
        padding_mode = check_padding_mode(padding_mode)
        bias = conv_bias(norm)
        layers = [
            Conv2d(channels, channels, 3, padding=1,
                   padding_mode=padding_mode, bias=bias),
            build_norm(norm, channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            Conv2d(channels, channels, 3, padding=1,
                   padding_mode=padding_mode, bias=bias),
            build_norm(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return x + self.body(x)


@MODELS.register_module()
class ResnetGenerator(BaseModule):
    """c7s1-64, d128, d256, R256 x num_blocks, u128, u64, c7s1-3, tanh.

    With 9 blocks and 64 base channels (the paper's 256 px generator) it has
    11,378,179 parameters, with either kind of down/upsampling (the
    anti-aliasing filters are fixed buffers). Height and width must be
    multiples of 4.

    :meth:`encode` hands out intermediate features (CUT's PatchNCE taps
    them) by name: ``'input'`` (the input padded as the first conv pads it),
    ``'down1'``, ``'down2'``, ... (the raw output of each downsampling
    block's conv: at half its input's resolution for ``'strided_conv'``, at
    its input's resolution, before the blur, for ``'antialias'``; the
    latter are the layers CUT's reference taps) and ``'block1'``,
    ``'block2'``, ... (the output of each residual block).

    Args:
        in_channels: Channels of the input image.
        out_channels: Channels of the output image.
        base_channels: Filters of the first conv (64 in the paper).
        num_blocks: Residual blocks (9 for 256 px, 6 for 128 px).
        num_downsamples: Stride-2 convs before the blocks (2 in the paper).
        norm: Norm layer name (``'instance'``, ``'batch'`` or ``'none'``).
        padding_mode: Padding of the 7x7 convs, the residual blocks and
            resize-conv upsampling.
        downsample: ``'strided_conv'`` (paper) or ``'antialias'`` (a
            stride-1 conv, norm, ReLU, then a fixed blur and subsampling,
            as CUT uses by default), see :func:`layers.build_downsample`.
        upsample: ``'deconv'`` (transposed conv, paper), ``'resize_conv'``
            or ``'antialias'`` (a fixed blur-upsampler, then a 3x3 conv, as
            CUT uses by default).
        dropout: Dropout inside the residual blocks.
        init_cfg: mmengine init config; N(0, 0.02) weights, N(1, 0.02)
            batch norm scales, zero biases.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 base_channels: int = 64,
                 num_blocks: int = 9,
                 num_downsamples: int = 2,
                 norm: str = 'instance',
                 padding_mode: str = 'reflect',
                 downsample: str = 'strided_conv',
                 upsample: str = 'deconv',
                 dropout: float = 0.0,
                 init_cfg: Optional[Union[dict, list]] = NORMAL_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        padding_mode = check_padding_mode(padding_mode)
        bias = conv_bias(norm)
        channels = base_channels
        layers = [
            Conv2d(in_channels, channels, 7, padding=3,
                   padding_mode=padding_mode, bias=bias),
            build_norm(norm, channels),
            nn.ReLU(inplace=True),
        ]
        # Feature name -> (index in self.model, channels) for encode().
        self._taps: Dict[str, tuple] = {}
        self._input_channels = in_channels
        self._padding_mode = padding_mode
        for i in range(num_downsamples):
            self._taps[f'down{i + 1}'] = (len(layers), channels * 2)
            layers += build_downsample(downsample, channels, channels * 2,
                                       norm, bias)
            channels *= 2
        for i in range(num_blocks):
            self._taps[f'block{i + 1}'] = (len(layers), channels)
            layers.append(ResidualBlock(channels, norm, padding_mode, dropout))
        for _ in range(num_downsamples):
            layers += [
                build_upsample(upsample, channels, channels // 2, bias,
                               padding_mode),
                build_norm(norm, channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2
        layers += [
            Conv2d(channels, out_channels, 7, padding=3,
                   padding_mode=padding_mode),
            nn.Tanh(),
        ]
        self.model = nn.Sequential(*layers)
        self.size_multiple = 2**num_downsamples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translates ``x`` of shape (N, C_in, H, W) in [-1, 1] into
        (N, C_out, H, W) in [-1, 1]."""
        self._check_size(x)
        return self.model(x)

    def feature_channels(self, names: Sequence[str]) -> List[int]:
        """Channels of the :meth:`encode` features ``names``."""
        return [
            self._input_channels if name == 'input' else self._tap(name)[1]
            for name in names
        ]

    def encode(self, x: torch.Tensor,
               names: Sequence[str]) -> List[torch.Tensor]:
        """The features ``names`` (see the class doc) of ``x``, in that
        order; the layers after the last one requested are not run."""
        self._check_size(x)
        wanted = {self._tap(name)[0]: name for name in names
                  if name != 'input'}
        found = {}
        if 'input' in names:
            mode = ('constant' if self._padding_mode == 'zeros' else
                    self._padding_mode)
            found['input'] = F.pad(x, (3, 3, 3, 3), mode=mode)
        for index, layer in enumerate(self.model):
            if not wanted:
                break
            x = layer(x)
            if index in wanted:
                # A later in-place ReLU would overwrite a tapped conv output
                # that norm='none' passes through unchanged.
                found[wanted.pop(index)] = x.clone() if wanted else x
        return [found[name] for name in names]

    def _tap(self, name: str) -> tuple:
        if name not in self._taps:
            raise ValueError(f'ResnetGenerator has no feature {name!r}; '
                             f"choose 'input' or one of {list(self._taps)}.")
        return self._taps[name]

    def _check_size(self, x: torch.Tensor) -> None:
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f'ResnetGenerator needs height and width divisible by '
                f'{self.size_multiple}, got {tuple(x.shape[-2:])}; resize '
                f'or pad the image first.')
