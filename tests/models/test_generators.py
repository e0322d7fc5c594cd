import pytest
import torch
from torch import nn

from cyclegan_plugin.models import ResidualBlock, ResnetGenerator
from cyclegan_plugin.models.layers import BlurDownsample, BlurUpsample

ANTIALIAS = dict(downsample='antialias', upsample='antialias')


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_resnet9_parameter_count():
    assert num_params(ResnetGenerator(base_channels=64,
                                      num_blocks=9)) == 11_378_179


def test_resnet6_for_128px_has_fewer_blocks():
    g6 = ResnetGenerator(num_blocks=6)
    assert sum(isinstance(m, ResidualBlock) for m in g6.modules()) == 6
    # Each 256-channel block holds two 3x3 convs with biases.
    block = 2 * (256 * 256 * 9 + 256)
    assert num_params(g6) == 11_378_179 - 3 * block


@pytest.mark.parametrize('downsample', ['strided_conv', 'antialias'])
@pytest.mark.parametrize('upsample', ['deconv', 'resize_conv', 'antialias'])
@pytest.mark.parametrize('padding_mode', ['reflect', 'zeros'])
def test_output_shape_and_range(downsample, upsample, padding_mode):
    g = ResnetGenerator(
        base_channels=8, num_blocks=2, downsample=downsample,
        upsample=upsample, padding_mode=padding_mode)
    x = torch.rand(2, 3, 32, 48) * 2 - 1
    y = g(x)
    assert y.shape == (2, 3, 32, 48)
    assert y.abs().max() <= 1


def test_instance_norm_has_no_parameters_or_running_stats():
    g = ResnetGenerator(base_channels=8, num_blocks=1)
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms
    assert all(not m.affine and not m.track_running_stats for m in norms)
    # Per-image normalisation: an image's output does not depend on the
    # rest of the batch, in train and eval mode alike.
    x = torch.randn(2, 3, 32, 32)
    for mode in (True, False):
        g.train(mode)
        assert torch.allclose(g(x)[:1], g(x[:1]), atol=1e-5)


def test_batch_norm_convs_drop_their_bias():
    g = ResnetGenerator(base_channels=8, num_blocks=1, norm='batch')
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    # All but the output conv precede a norm layer.
    assert all(c.bias is None for c in convs[:-1])
    assert convs[-1].bias is not None


def test_residual_block_is_identity_plus_body():
    block = ResidualBlock(4)
    for p in block.parameters():
        nn.init.zeros_(p)
    x = torch.randn(1, 4, 8, 8)
    assert torch.equal(block(x), x)


def test_reflection_padding_differs_from_zero_padding():
    torch.manual_seed(0)
    reflect = ResnetGenerator(base_channels=8, num_blocks=1)
    zeros = ResnetGenerator(base_channels=8, num_blocks=1,
                            padding_mode='zeros')
    zeros.load_state_dict(reflect.state_dict())
    x = torch.randn(1, 3, 16, 16)
    assert not torch.allclose(reflect(x), zeros(x))


@pytest.mark.parametrize('padding_mode', ['reflect', 'replicate', 'zeros'])
def test_resize_conv_upsampling_pads_like_the_rest(padding_mode):
    g = ResnetGenerator(base_channels=8, num_blocks=1, upsample='resize_conv',
                        padding_mode=padding_mode)
    upsampling_convs = [
        m for m in g.modules() if isinstance(m, nn.Sequential)
        and isinstance(m[0], nn.Upsample)
    ]
    assert len(upsampling_convs) == 2
    assert all(up[1].padding_mode == padding_mode
               for up in upsampling_convs)


def test_dropout_only_when_asked():
    assert not any(
        isinstance(m, nn.Dropout) for m in ResidualBlock(4).modules())
    assert any(
        isinstance(m, nn.Dropout)
        for m in ResidualBlock(4, dropout=0.5).modules())


def test_size_not_multiple_of_four_is_refused():
    g = ResnetGenerator(base_channels=8, num_blocks=1)
    with pytest.raises(ValueError, match='divisible by 4'):
        g(torch.zeros(1, 3, 30, 32))


@pytest.mark.parametrize('bad', [
    dict(norm='group'),
    dict(padding_mode='circularish'),
    dict(upsample='pixelshuffle'),
    dict(downsample='maxpool'),
])
def test_unknown_choices_are_refused(bad):
    with pytest.raises(ValueError, match='choose one of'):
        ResnetGenerator(base_channels=8, num_blocks=1, **bad)


def test_antialiasing_adds_no_parameters():
    # The paper-sized generator: the stride-1 convs and the convs after the
    # blur-upsampler have the shapes of the strided and transposed convs
    # they replace, and the blur filters are fixed.
    g = ResnetGenerator(**ANTIALIAS)
    assert num_params(g) == 11_378_179
    blurs = [
        m for m in g.modules() if isinstance(m, (BlurDownsample, BlurUpsample))
    ]
    assert len(blurs) == 4
    assert all(num_params(m) == 0 for m in blurs)
    assert all(not m.kernel.requires_grad for m in blurs)
    # Derived from constants, so not saved: checkpoints hold weights only.
    assert not any(key.endswith('kernel') for key in g.state_dict())


def test_blur_filters_get_no_gradient():
    torch.manual_seed(0)
    g = ResnetGenerator(base_channels=8, num_blocks=1, **ANTIALIAS)
    g(torch.randn(1, 3, 16, 16)).mean().backward()
    assert all(p.grad is not None for p in g.parameters())
    assert all(m.kernel.grad is None for m in g.modules()
               if isinstance(m, (BlurDownsample, BlurUpsample)))


@pytest.mark.parametrize('layer, size', [(BlurDownsample, 6),
                                         (BlurUpsample, 24)])
def test_blur_ops_keep_a_constant_image_constant(layer, size):
    x = torch.full((2, 3, 12, 12), -0.3)
    y = layer(3)(x)
    assert y.shape == (2, 3, size, size)
    assert torch.allclose(y, torch.full_like(y, -0.3), atol=1e-6)


def test_blur_downsample_removes_the_highest_frequency():
    # A checkerboard alternates at the Nyquist rate; plain subsampling
    # would keep one of its phases (all +1), the 3x3 binomial low-pass
    # cancels it everywhere, borders included.
    rows = torch.arange(8)
    board = (-1.0)**(rows[:, None] + rows[None, :])
    y = BlurDownsample(1)(board[None, None])
    assert torch.equal(board[::2, ::2], torch.ones(4, 4))
    assert y.shape == (1, 1, 4, 4)
    assert y.abs().max() < 1e-6


def test_blur_upsample_spreads_a_pixel_with_the_binomial_filter():
    x = torch.zeros(1, 1, 6, 6)
    x[0, 0, 2, 3] = 1.0
    y = BlurUpsample(1)(x)[0, 0]
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    expected = torch.zeros(12, 12)
    # The pixel lands at (4, 6) of the zero-inserted grid; the 4 taps
    # cover offsets -1..2 from there (CUT's alignment), scaled so that the
    # 4 output pixels per input pixel keep its mass.
    expected[3:7, 5:9] = torch.outer(taps, taps) / 16
    assert torch.allclose(y, expected, atol=1e-6)
    assert y.sum().item() == pytest.approx(4.0)


def test_antialias_taps_return_the_documented_shapes():
    g = ResnetGenerator(base_channels=8, num_blocks=5, **ANTIALIAS)
    names = ['input', 'down1', 'down2', 'block1', 'block5']
    features = g.encode(torch.zeros(2, 3, 32, 32), names)
    # The downsampling convs keep their input's resolution; the blur after
    # them halves it.
    assert [tuple(f.shape) for f in features] == [
        (2, 3, 38, 38), (2, 16, 32, 32), (2, 32, 16, 16), (2, 32, 8, 8),
        (2, 32, 8, 8)
    ]
    assert g.feature_channels(names) == [3, 16, 32, 32, 32]
    # The taps are the generator's own layers: the decoder turns block5
    # into the output.
    x = torch.randn(1, 3, 32, 32)
    [block5] = g.encode(x, ['block5'])
    decoder = g.model[g._taps['block5'][0] + 1:]
    assert torch.equal(decoder(block5), g(x))


def test_a_tap_is_not_overwritten_by_later_in_place_layers():
    # Without a norm the tapped conv output flows straight into an in-place
    # ReLU; the tap must keep the conv's own (partly negative) values.
    g = ResnetGenerator(base_channels=4, num_blocks=1, norm='none').eval()
    x = torch.randn(1, 3, 16, 16)
    down1, block1 = g.encode(x, ['down1', 'block1'])
    expected = g.model[:g._taps['down1'][0] + 1](x)
    assert (down1 < 0).any()
    assert torch.equal(down1, expected)
