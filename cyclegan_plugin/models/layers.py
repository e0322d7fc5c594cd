"""Lookup tables for the choices that vary between CycleGAN variants.

Norm layers, padding modes and down/upsampling blocks are config values
(``norm='instance'``), so the networks hold no ``if`` trees over them.
"""
import math
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class InstanceNorm2d(nn.InstanceNorm2d):
    """Instance norm that is safe under autocast and copies no activation.

    * Under bf16/fp16 autocast PyTorch's kernel estimates mean and variance
      with visible error (0.12 on a unit-variance output, measured on CPU),
      so lower-precision inputs are normalised in fp32 and cast back.
    * PyTorch's instance norm runs batch norm over a (1, N * C, H, W) view
      of the input and returns a view of the result. As a view, the
      in-place ReLU after each norm makes autograd copy the whole
      activation back in the backward pass (0.2 s of a 256 px CPU step),
      and a channels-last input is first copied to the usual layout (which
      the next conv copies back). Here the same batch-norm call is made,
      bit for bit, without recording its result as a view; and a
      channels-last input is batch-normalised image by image as it is
      (one call for N = 1, the paper's batch), since batch norm has a
      channels-last kernel.

    In traced graphs (export), or with affine parameters or running
    statistics, PyTorch's instance norm runs.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:  # keeps exported graphs free of casts
            return self._normalise(x)
        return self._normalise(x.float()).to(x.dtype)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if (torch.jit.is_tracing() or self.affine or self.track_running_stats
                or x.dim() != 4):
            return super().forward(x)
        n, c, h, w = x.shape
        if n == 1:  # one image: its batch norm, in either memory format
            return F.batch_norm(x, None, None, training=True, eps=self.eps)
        if not x.is_contiguous() and x.is_contiguous(
                memory_format=torch.channels_last):
            # The (1, N * C, H, W) view below does not exist in this layout
            # (x.contiguous() would copy x, and the next conv would copy it
            # back): normalise image by image instead.
            return torch.cat([
                F.batch_norm(image[None], None, None, training=True,
                             eps=self.eps) for image in x.unbind(0)
            ])
        out = F.batch_norm(
            x.contiguous().view(1, n * c, h, w), None, None, training=True,
            eps=self.eps)
        return torch.ops.aten._unsafe_view(out, x.shape)


def pad(x: torch.Tensor, padding: Sequence[int], mode: str) -> torch.Tensor:
    """``F.pad`` that keeps a bf16/fp16 input in its own dtype.

    CPU autocast runs reflection and replication padding in fp32, so each
    padded low-precision activation would be copied to fp32, and the conv
    after it would cast it back. Padding only copies values: in the input's
    dtype the result holds the same numbers.
    """
    if x.dtype == torch.float32:
        return F.pad(x, padding, mode=mode)
    with torch.autocast(x.device.type, enabled=False):
        return F.pad(x, padding, mode=mode)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` whose reflection/replication padding is :func:`pad`'s:
    a bf16/fp16 input is padded in its own dtype. fp32 inputs take
    ``nn.Conv2d``'s own path."""

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        if self.padding_mode == 'zeros' or x.dtype == torch.float32:
            return super()._conv_forward(x, weight, bias)
        x = pad(x, self._reversed_padding_repeated_twice, self.padding_mode)
        return F.conv2d(x, weight, bias, self.stride, 0, self.dilation,
                        self.groups)


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


def binomial_kernel(taps: int) -> torch.Tensor:
    """The (taps, taps) binomial low-pass filter, summing to 1: the outer
    product of a row of Pascal's triangle with itself (3 taps: [1, 2, 1])."""
    row = torch.tensor([float(math.comb(taps - 1, k)) for k in range(taps)])
    kernel = torch.outer(row, row)
    return kernel / kernel.sum()


class BlurDownsample(nn.Module):
    """Anti-aliased x2 downsampling (Zhang, ICML 2019), as in CUT's code:
    each channel is low-passed with the 3x3 binomial filter, then every
    second row and column is kept.

    Subsampling without the blur aliases: shifting the input by one pixel
    changes the output by more than a shift. Reflection padding by one
    pixel (the reference's) maps (N, C, H, W) to (N, C, H/2, W/2) and keeps
    a constant image constant. The filter is fixed: a buffer, not a
    parameter, and not saved in checkpoints.

    Args:
        channels: Channels of the input, each filtered on its own.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer(
            'kernel',
            binomial_kernel(3).expand(channels, 1, 3, 3).clone(),
            persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, ceil(H / 2), ceil(W / 2))."""
        x = pad(x, (1, 1, 1, 1), 'reflect')
        return F.conv2d(x, self.kernel, stride=2, groups=x.shape[1])


class BlurUpsample(nn.Module):
    """Anti-aliased x2 upsampling, as in CUT's code: a zero is inserted
    after every pixel in each direction, then each channel is low-passed
    with the 4x4 binomial filter ([1, 3, 3, 1] in each direction) times 4,
    which makes up for the three zeros per input pixel.

    A transposed conv with stride 2 does both steps at once. The input is
    edge-replicated by one pixel first (the reference's padding), so every
    output pixel gets the filter's full weight and a constant image stays
    constant. The filter is fixed: a buffer, not a parameter, and not
    saved in checkpoints.

    Args:
        channels: Channels of the input, each filtered on its own.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer(
            'kernel',
            4 * binomial_kernel(4).expand(channels, 1, 4, 4).clone(),
            persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, 2H, 2W)."""
        x = pad(x, (1, 1, 1, 1), 'replicate')
        # The full output of the padded input is 2H + 6 wide; padding=3
        # drops the 3 outermost columns and rows on each side.
        return F.conv_transpose2d(
            x, self.kernel, stride=2, padding=3, groups=x.shape[1])


def _strided_conv_down(in_channels: int, out_channels: int, norm: str,
                       bias: bool) -> List[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1,
                  bias=bias),
        build_norm(norm, out_channels),
        nn.ReLU(inplace=True),
    ]


def _antialias_down(in_channels: int, out_channels: int, norm: str,
                    bias: bool) -> List[nn.Module]:
    # CUT's order: the conv keeps the resolution, the blur halves it after
    # the nonlinearity.
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias),
        build_norm(norm, out_channels),
        nn.ReLU(inplace=True),
        BlurDownsample(out_channels),
    ]


DOWNSAMPLE_LAYERS = {
    'strided_conv': _strided_conv_down,
    'antialias': _antialias_down,
}


def build_downsample(downsample: str, in_channels: int, out_channels: int,
                     norm: str, bias: bool) -> List[nn.Module]:
    """The layers of one x2 downsampling block of kind ``downsample``, its
    conv first: conv (stride 2) -> norm -> ReLU for ``'strided_conv'``,
    conv (stride 1) -> norm -> ReLU -> :class:`BlurDownsample` for
    ``'antialias'``. Both convs are 3x3 and zero-padded."""
    if downsample not in DOWNSAMPLE_LAYERS:
        raise ValueError(f'Unknown downsample {downsample!r}; choose one of '
                         f'{sorted(DOWNSAMPLE_LAYERS)}.')
    return DOWNSAMPLE_LAYERS[downsample](in_channels, out_channels, norm,
                                         bias)


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
        Conv2d(in_channels, out_channels, kernel_size=3, padding=1,
               padding_mode=padding_mode, bias=bias))


def _antialias_up(in_channels: int, out_channels: int, bias: bool,
                  padding_mode: str) -> nn.Module:
    # CUT's fixed blur-upsampler, then a learned 3x3 conv, zero-padded as
    # in the reference.
    return nn.Sequential(
        BlurUpsample(in_channels),
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1,
                  bias=bias))


UPSAMPLE_LAYERS = {
    'deconv': _transposed_conv,
    'resize_conv': _resize_conv,
    'antialias': _antialias_up,
}


def build_upsample(upsample: str, in_channels: int, out_channels: int,
                   bias: bool, padding_mode: str) -> nn.Module:
    """Returns a x2 upsampling layer of kind ``upsample``; a resize-conv
    pads with ``padding_mode``, the others with zeros."""
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
