"""Winograd F(4x4, 3x3) convolution for inference on the CPU.

A 3x3 convolution computes each 4x4 block of outputs from a 6x6 block of
inputs. Winograd's minimal filtering (Lavin and Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016) transforms that input block and the
kernel into 6x6 "tiles" in which the convolution becomes an element-wise
product, summed over input channels. So the 36 tile positions are 36
matrix products (tiles x in-channels times in-channels x out-channels), and
a 4x4 output block costs 36 multiply-adds per channel pair instead of the
direct convolution's 144: a quarter of the FLOPs, for a few cheap
additions before and after. The result is the same convolution up to fp32
rounding (about 1e-5 of the output's scale; tests/models/test_winograd.py).

Where it pays was measured (README, "Performance"): the generator's 256-
channel residual convolutions at 32 px and larger, where the direct
convolution already runs near the machine's limit. With fewer channels
or smaller maps the additions cost more than the products save, so
:func:`use_winograd` leaves those layers alone. It is an inference path:
the transformed kernel is computed once from frozen weights, so whenever
autograd would need the kernel's gradient, under autocast (low-precision
Winograd loses too much accuracy) or off the CPU (cuDNN picks Winograd
itself), the layer runs its ordinary convolution.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .layers import Conv2d

# The transforms of F(4x4, 3x3) (Lavin and Gray, section 4.2): the kernel
# g becomes G g G^T, an input block d becomes B^T d B, and a tile m of
# products becomes the output block A^T m A. _input_transform and
# _output_transform apply B^T and A^T with their common subexpressions.
_G = torch.tensor(
    [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    dtype=torch.float64)
_TILE, _OUT = 6, 4


def _input_transform(rows: List[torch.Tensor]) -> List[torch.Tensor]:
    """B^T applied along one axis: the 6 input rows of a block -> 6 rows
    of its tile."""
    r0, r1, r2, r3, r4, r5 = rows
    a = torch.add(r4, r2, alpha=-4)
    b = torch.add(r3, r1, alpha=-4)
    c = r4 - r2
    e = r3 - r1
    return [
        torch.add(torch.add(r4, r0, alpha=4), r2, alpha=-5), a + b, a - b,
        torch.add(c, e, alpha=2),
        torch.add(c, e, alpha=-2),
        torch.add(torch.add(r5, r1, alpha=4), r3, alpha=-5)
    ]


def _output_transform(rows: List[torch.Tensor]) -> List[torch.Tensor]:
    """A^T applied along one axis: the 6 rows of a product tile -> the 4
    output rows of its block."""
    m0, m1, m2, m3, m4, m5 = rows
    p, q, r, s = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return [
        m0 + p + r,
        torch.add(q, s, alpha=2),
        torch.add(p, r, alpha=4),
        torch.add(q, s, alpha=8) + m5
    ]


def winograd_kernel(weight: torch.Tensor) -> torch.Tensor:
    """The (O, C, 3, 3) kernel as the weight of the 36 products: a grouped
    1x1 convolution's ``(36 * O, C, 1, 1)`` weight, channels-last."""
    out_channels, in_channels = weight.shape[:2]
    kron = torch.kron(_G, _G).to(weight)  # (36, 9): G g G^T, flattened
    tiles = weight.reshape(out_channels * in_channels, 9) @ kron.T
    return tiles.view(out_channels, in_channels, _TILE * _TILE).permute(
        2, 0, 1).reshape(_TILE * _TILE * out_channels, in_channels, 1,
                         1).contiguous(memory_format=torch.channels_last)


def winograd_conv2d(x: torch.Tensor,
                    kernel: torch.Tensor,
                    bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """A 3x3, stride-1 convolution without padding of ``x`` (N, C, H, W),
    any layout, with :func:`winograd_kernel`'s ``kernel``: (N, O, H - 2,
    W - 2), channels-last.

    The products are one grouped 1x1 convolution (a group per tile
    position) so that they run in oneDNN's convolution kernels, which
    reach the machine's limit where a batched matrix product may not (on
    AMD CPUs, MKL's products take a slower path).
    """
    batch, channels = x.shape[:2]
    out_h, out_w = x.shape[2] - 2, x.shape[3] - 2
    tiles_h, tiles_w = -(-out_h // _OUT), -(-out_w // _OUT)
    if out_h % _OUT or out_w % _OUT:
        # Zeros below and right complete the last blocks; their outputs
        # are cropped off.
        x = F.pad(x, (0, tiles_w * _OUT - out_w, 0, tiles_h * _OUT - out_h))
    x = x.permute(0, 2, 3, 1)  # N, H, W, C
    span_h, span_w = _OUT * (tiles_h - 1) + 1, _OUT * (tiles_w - 1) + 1
    # (N, tiles_h, W, 6, C), then (N, tiles_h, tiles_w, 6, 6, C).
    rows = torch.stack(
        _input_transform(
            [x[:, k:k + span_h:_OUT] for k in range(_TILE)]), 3)
    tiles = torch.stack(
        _input_transform(
            [rows[:, :, k:k + span_w:_OUT] for k in range(_TILE)]), 4)
    tiles = tiles.view(batch, tiles_h, tiles_w,
                       _TILE * _TILE * channels).permute(0, 3, 1, 2)
    products = F.conv2d(tiles, kernel, groups=_TILE * _TILE)
    out_channels = products.shape[1] // (_TILE * _TILE)
    products = products.permute(0, 2, 3, 1).view(batch, tiles_h, tiles_w,
                                                 _TILE, _TILE, out_channels)
    # (N, tiles_h, 4, tiles_w, 6, O), then (N, tiles_h, 4, tiles_w, 4, O).
    half = torch.stack(_output_transform(list(products.unbind(3))), 2)
    out = torch.stack(_output_transform(list(half.unbind(4))), 4)
    out = out.view(batch, tiles_h * _OUT, tiles_w * _OUT, out_channels)
    out = out[:, :out_h, :out_w].permute(0, 3, 1, 2)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# torch < 2.4 (MMagic's 2.1) has no device argument; newer versions
# deprecate the CPU-only function. Decided once, not on every forward.
try:
    torch.is_autocast_enabled('cpu')

    def _cpu_autocast_enabled() -> bool:
        return torch.is_autocast_enabled('cpu')
except TypeError:
    _cpu_autocast_enabled = torch.is_autocast_cpu_enabled


def _has_winograd_shape(conv: nn.Conv2d) -> bool:
    """Whether ``conv`` is a 3x3 convolution that winograd_conv2d computes:
    stride 1, dilation 1, one group and numeric padding."""
    return (conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.dilation == (1, 1) and conv.groups == 1
            and isinstance(conv.padding, tuple))  # not 'same'


class WinogradConv2d(Conv2d):
    """A 3x3, stride-1 :class:`~.layers.Conv2d` that infers through
    :func:`winograd_conv2d` on the CPU in fp32 (see the module doc for when
    it falls back to the ordinary convolution).

    The transformed kernel is cached and recomputed when the weight
    changes (``load_state_dict`` or an in-place update), so the layer's
    parameters and state dict are those of the convolution it replaces.

    Args:
        min_side: Inputs with a smaller height or width take the ordinary
            convolution. The other arguments are ``nn.Conv2d``'s.
    """

    def __init__(self, *args, min_side: int = 32, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.min_side = min_side
        if not _has_winograd_shape(self):
            raise ValueError(
                'WinogradConv2d: only 3x3 convolutions with stride 1, '
                f'dilation 1, groups 1 and numeric padding, got kernel '
                f'{self.kernel_size}, stride {self.stride}, dilation '
                f'{self.dilation}, groups {self.groups}, padding '
                f'{self.padding!r}')
        # ((id, version) of the weight it was computed from, kernel)
        self._kernel: Optional[Tuple[Tuple[int, int], torch.Tensor]] = None

    @classmethod
    def from_conv(cls, conv: nn.Conv2d,
                  min_side: int = 32) -> 'WinogradConv2d':
        """A WinogradConv2d sharing ``conv``'s parameter objects."""
        layer = cls(conv.in_channels, conv.out_channels, 3,
                    padding=conv.padding, padding_mode=conv.padding_mode,
                    bias=conv.bias is not None, min_side=min_side,
                    device=conv.weight.device, dtype=conv.weight.dtype)
        layer.weight, layer.bias = conv.weight, conv.bias
        return layer

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        if not self._winograd_applies(x, weight):
            return super()._conv_forward(x, weight, bias)
        mode = 'constant' if self.padding_mode == 'zeros' else (
            self.padding_mode)
        x = F.pad(x, self._reversed_padding_repeated_twice, mode=mode)
        return winograd_conv2d(x, self._cached_kernel(weight), bias)

    def _winograd_applies(self, x: torch.Tensor,
                          weight: torch.Tensor) -> bool:
        needs_grad = torch.is_grad_enabled() and (x.requires_grad
                                                  or weight.requires_grad)
        return (x.device.type == 'cpu' and x.dtype == torch.float32
                and weight.dtype == torch.float32 and not needs_grad
                and not _cpu_autocast_enabled()
                and min(x.shape[-2:]) >= self.min_side)

    def _cached_kernel(self, weight: torch.Tensor) -> torch.Tensor:
        # _version changes with every in-place write to the weight.
        key = (id(weight), weight._version)
        if self._kernel is None or self._kernel[0] != key:
            with torch.no_grad():
                self._kernel = (key, winograd_kernel(weight))
        return self._kernel[1]


def use_winograd(network: nn.Module,
                 min_channels: int = 256,
                 min_side: int = 32) -> int:
    """Replaces, in place, every 3x3 stride-1 convolution of ``network``
    with at least ``min_channels`` input and output channels by a
    :class:`WinogradConv2d` (same parameters). ``min_side``: smaller
    feature maps take the ordinary convolution. The defaults are where it
    was measured to win (module doc).

    Returns:
        The number of layers replaced.
    """
    replaced = 0
    for module in list(network.modules()):
        for name, child in module.named_children():
            if (type(child) in (nn.Conv2d, Conv2d)
                    and _has_winograd_shape(child)
                    and min(child.in_channels,
                            child.out_channels) >= min_channels):
                setattr(module, name,
                        WinogradConv2d.from_conv(child, min_side))
                replaced += 1
    return replaced
