import pytest
import torch
from torch import nn

from cyclegan_plugin.models import ResidualBlock, ResnetGenerator


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


@pytest.mark.parametrize('upsample', ['deconv', 'resize_conv'])
@pytest.mark.parametrize('padding_mode', ['reflect', 'zeros'])
def test_output_shape_and_range(upsample, padding_mode):
    g = ResnetGenerator(
        base_channels=8, num_blocks=2, upsample=upsample,
        padding_mode=padding_mode)
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
])
def test_unknown_choices_are_refused(bad):
    with pytest.raises(ValueError, match='choose one of'):
        ResnetGenerator(base_channels=8, num_blocks=1, **bad)
