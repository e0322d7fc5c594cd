"""Lookup tables for the choices that vary between CycleGAN variants.

Norm layers, padding modes and upsampling blocks are config values
(``norm='instance'``), so the networks hold no ``if`` trees over them.
"""
from functools import partial
from typing import Callable, Dict

import torch
from torch import nn


class InstanceNorm2d(nn.InstanceNorm2d):
    """Instance norm whose statistics are always computed in fp32.

    Under bf16/fp16 autocast PyTorch's kernel estimates mean and variance
    with visible error (0.12 on a unit-variance output, measured on CPU),
    so lower-precision inputs are normalised in fp32 and cast back.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:  # keeps exported graphs free of casts
            return super().forward(x)
        return super().forward(x.float()).to(x.dtype)


# The reference CycleGAN's instance norm has neither affine parameters nor
# running statistics: every image is normalised with its own statistics, in
# training and in test alike.
NORM_LAYERS: Dict[str, Callable[[int], nn.Module]] = {
    'instance': partial(
        InstanceNorm2d, affine=False, track_running_stats=False),
    'batch': partial(nn.BatchNorm2d, affine=True),
    'none': lambda channels: nn.Identity(),
}

PADDING_MODES = ('reflect', 'replicate', 'zeros')


def build_norm(norm: str, channels: int) -> nn.Module:
    """Returns the norm layer called ``norm`` for ``channels`` channels."""
    if norm not in NORM_LAYERS:
        raise ValueError(f'Unknown norm {norm!r}; choose one of '
                         f'{sorted(NORM_LAYERS)}.')
    return NORM_LAYERS[norm](channels)


def conv_bias(norm: str) -> bool:
    """Whether a conv before ``norm`` needs a bias.

    Batch norm has its own shift, so (as in the reference) the conv before
    it carries no bias; instance norm without affine parameters and no norm
    at all do need one.
    """
    return norm != 'batch'


def check_padding_mode(padding_mode: str) -> str:
    """Returns ``padding_mode`` if ``nn.Conv2d`` accepts it, else raises."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f'Unknown padding_mode {padding_mode!r}; choose '
                         f'one of {PADDING_MODES}.')
    return padding_mode


def _transposed_conv(in_channels: int, out_channels: int, bias: bool,
                     padding_mode: str) -> nn.Module:
    # A transposed conv pads its output, not its input: only zeros exist.
    return nn.ConvTranspose2d(
        in_channels, out_channels, kernel_size=3, stride=2, padding=1,
        output_padding=1, bias=bias)


def _resize_conv(in_channels: int, out_channels: int, bias: bool,
                 padding_mode: str) -> nn.Module:
    # Nearest-neighbour resize followed by a conv avoids the checkerboard
    # artifacts of transposed convs (Odena et al., Distill 2016).
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode='nearest'),
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1,
                  padding_mode=padding_mode, bias=bias))


UPSAMPLE_LAYERS = {'deconv': _transposed_conv, 'resize_conv': _resize_conv}


def build_upsample(upsample: str, in_channels: int, out_channels: int,
                   bias: bool, padding_mode: str) -> nn.Module:
    """Returns a x2 upsampling layer of kind ``upsample``; a resize-conv
    pads with ``padding_mode``."""
    if upsample not in UPSAMPLE_LAYERS:
        raise ValueError(f'Unknown upsample {upsample!r}; choose one of '
                         f'{sorted(UPSAMPLE_LAYERS)}.')
    return UPSAMPLE_LAYERS[upsample](in_channels, out_channels, bias,
                                     padding_mode)


# The reference's init_weights('normal', 0.02): N(0, 0.02) conv and linear
# weights, N(1, 0.02) batch norm scales, zero biases and shifts.
NORMAL_INIT_CFG = [
    dict(
        type='Normal', layer=['Conv2d', 'ConvTranspose2d', 'Linear'],
        mean=0.0, std=0.02, bias=0.0),
    dict(type='Normal', layer='BatchNorm2d', mean=1.0, std=0.02, bias=0.0),
]
