"""Winograd F(4x4, 3x3) computes the convolution it replaces, and steps
aside wherever it must not run."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cyclegan_plugin.models.generators import ResnetGenerator
from cyclegan_plugin.models.layers import Conv2d
from cyclegan_plugin.models.winograd import (WinogradConv2d, use_winograd,
                                             winograd_conv2d,
                                             winograd_kernel)


@pytest.mark.parametrize('shape', [(2, 5, 18, 18), (1, 3, 11, 7),
                                   (1, 4, 3, 3), (2, 6, 14, 23)])
@pytest.mark.parametrize('channels_last', [False, True])
def test_winograd_is_the_convolution_in_exact_arithmetic(shape,
                                                         channels_last):
    # In float64 the only difference left is rounding at 1e-15; any slip in
    # a transform, the tiling or the cropping of partial blocks shows.
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(7, shape[1], 3, 3, generator=gen,
                         dtype=torch.float64)
    bias = torch.randn(7, generator=gen, dtype=torch.float64)
    out = winograd_conv2d(x, winograd_kernel(weight), bias)
    expected = F.conv2d(x, weight, bias)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize('padding_mode', ['reflect', 'replicate', 'zeros'])
def test_layer_matches_its_convolution_in_fp32(padding_mode):
    gen = torch.Generator().manual_seed(1)
    conv = Conv2d(64, 32, 3, padding=1, padding_mode=padding_mode)
    layer = WinogradConv2d.from_conv(conv, min_side=8)
    x = torch.randn(2, 64, 20, 36, generator=gen)
    with torch.no_grad():
        expected = conv(x)
        out = layer(x)
    assert not torch.equal(out, expected)  # it took the Winograd path
    # fp32 rounding of the transforms: about 1e-5 of the output's scale.
    assert (out - expected).abs().max() <= 1e-4 * expected.abs().max()


def test_layer_shares_the_parameters_and_state_dict():
    conv = nn.Conv2d(8, 8, 3, padding=1)
    layer = WinogradConv2d.from_conv(conv)
    assert layer.weight is conv.weight and layer.bias is conv.bias
    assert layer.state_dict().keys() == conv.state_dict().keys()


def test_training_takes_the_ordinary_convolution_with_its_gradients():
    conv = Conv2d(16, 16, 3, padding=1, padding_mode='reflect')
    layer = WinogradConv2d.from_conv(conv, min_side=4)
    x = torch.randn(1, 16, 12, 12, requires_grad=True)
    out = layer(x)
    torch.testing.assert_close(out, conv(x), rtol=0, atol=0)
    out.sum().backward()
    assert conv.weight.grad is not None and x.grad is not None


def test_bf16_autocast_and_small_maps_take_the_ordinary_convolution():
    conv = Conv2d(16, 16, 3, padding=1, padding_mode='reflect')
    layer = WinogradConv2d.from_conv(conv, min_side=16)
    with torch.no_grad():
        small = torch.randn(1, 16, 12, 40)  # 12 < min_side
        assert torch.equal(layer(small), conv(small))
        large = torch.randn(1, 16, 16, 16)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out, expected = layer(large), conv(large)
    assert out.dtype == torch.bfloat16 and torch.equal(out, expected)


def test_the_cached_kernel_follows_new_weights():
    gen = torch.Generator().manual_seed(2)
    conv = nn.Conv2d(8, 8, 3, padding=1)
    layer = WinogradConv2d.from_conv(conv, min_side=4)
    x = torch.randn(1, 8, 8, 8, generator=gen)
    with torch.no_grad():
        before = layer(x)
        layer.load_state_dict({
            'weight': torch.randn(8, 8, 3, 3, generator=gen),
            'bias': torch.zeros(8)
        })
        after = layer(x)
        expected = conv(x)
    assert (before - expected).abs().max() > 0.1
    assert (after - expected).abs().max() <= 1e-4 * expected.abs().max()


def test_only_3x3_stride_1_convolutions():
    with pytest.raises(ValueError, match='3x3 convolutions with stride 1'):
        WinogradConv2d(8, 8, 3, stride=2)


def test_use_winograd_replaces_the_wide_residual_convolutions():
    # base 64: the residual blocks have 256 channels, the sampling layers
    # and the 7x7 convs fewer or other shapes.
    generator = ResnetGenerator(base_channels=64, num_blocks=2).eval()
    state = {k: v.clone() for k, v in generator.state_dict().items()}
    x = torch.rand(1, 3, 128, 128) * 2 - 1  # 32 x 32 residual maps
    with torch.no_grad():
        expected = generator(x)
        assert use_winograd(generator) == 4
        out = generator(x)
    replaced = [
        m for m in generator.modules() if isinstance(m, WinogradConv2d)
    ]
    assert len(replaced) == 4
    assert all(m.in_channels == 256 for m in replaced)
    assert generator.state_dict().keys() == state.keys()
    assert not torch.equal(out, expected)
    assert (out - expected).abs().max() <= 1e-4
