import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_plugin.models import PatchDiscriminator


def test_paper_patchgan_parameters_and_output_map():
    d = PatchDiscriminator(base_channels=64, num_layers=3)
    assert sum(p.numel() for p in d.parameters()) == 2_764_737
    assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_first_and_last_convs_have_no_norm():
    d = PatchDiscriminator(base_channels=8)
    layers = list(d.model)
    assert isinstance(layers[0], nn.Conv2d)
    assert isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2
    assert isinstance(layers[-1], nn.Conv2d)
    assert layers[-1].out_channels == 1
    norms = [m for m in d.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3


def test_receptive_field_is_exactly_70x70():
    # Instance norm's statistics span the whole image, so the window is a
    # property of the convolutions: measure it without norm layers.
    torch.manual_seed(0)
    d = PatchDiscriminator(base_channels=8, norm='none')
    x = torch.randn(1, 3, 256, 256, requires_grad=True)
    out = d(x)
    row, col = 15, 12
    out[0, 0, row, col].backward()
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    rows = touched.any(dim=1).nonzero().squeeze(1)
    cols = touched.any(dim=0).nonzero().squeeze(1)
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70
    # The window is contiguous and starts where strides and paddings put
    # it: each conv (kernel 4, padding 1) maps a window start s of its
    # output to stride * s - 1 of its input, so cell j starts at
    # 2 * (2 * (2 * (j - 2) - 1) - 1) - 1 = 8j - 23.
    assert touched[rows.min():rows.max() + 1,
                   cols.min():cols.max() + 1].all()
    assert rows.min() == 8 * row - 23
    assert cols.min() == 8 * col - 23


def test_antialias_is_cuts_stride_one_conv_then_blur():
    torch.manual_seed(0)
    d = PatchDiscriminator(base_channels=8, norm='none',
                           downsample='antialias')
    strided = PatchDiscriminator(base_channels=8, norm='none')
    assert ([p.shape for p in d.parameters()
             ] == [p.shape for p in strided.parameters()])
    x = torch.randn(2, 3, 64, 64)
    assert d(x).shape == strided(x).shape == (2, 1, 6, 6)
    # The same weights, computed here: every conv at stride 1, and after
    # the first three (and their LeakyReLU) the [1, 2, 1] x [1, 2, 1] / 16
    # blur of a reflection-padded map, every second pixel kept.
    taps = torch.tensor([1., 2., 1.])
    kernel = torch.outer(taps, taps) / 16

    def blur_down(y):
        y = F.pad(y, (1, 1, 1, 1), mode='reflect')
        return F.conv2d(y, kernel.expand(y.shape[1], 1, 3, 3), stride=2,
                        groups=y.shape[1])

    convs = [m for m in d.model if isinstance(m, nn.Conv2d)]
    y = x
    for i, conv in enumerate(convs):
        y = F.conv2d(y, conv.weight, conv.bias, padding=1)
        if i < len(convs) - 1:
            y = F.leaky_relu(y, 0.2)
        if i < 3:
            y = blur_down(y)
    assert torch.allclose(d(x), y, atol=1e-6)


def test_unknown_downsample_names_the_choices():
    with pytest.raises(ValueError, match="'strided_conv', 'antialias'"):
        PatchDiscriminator(downsample='blur')
