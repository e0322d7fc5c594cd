import math
from pathlib import Path

import pytest
import torch
from torch import nn

from cyclegan_plugin.cli import load_config
from cyclegan_plugin.models import PatchDiscriminator, ResnetGenerator
from cyclegan_plugin.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'

NETWORKS = [
    lambda: ResnetGenerator(base_channels=32, num_blocks=2),
    lambda: PatchDiscriminator(base_channels=32),
]


def convs(net: nn.Module):
    return [
        m for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]


def weight_stds(net: nn.Module):
    """Std of every conv holding enough weights for a stable estimate."""
    return [
        c.weight.std().item() for c in convs(net) if c.weight.numel() >= 2000
    ]


@pytest.mark.parametrize('network', NETWORKS)
def test_normal_init_weights_and_zero_biases(network):
    net = network()
    net.init_weights()
    stds = weight_stds(net)
    assert len(stds) >= 4
    assert all(0.018 < std < 0.022 for std in stds), stds
    weights = torch.cat([c.weight.flatten() for c in convs(net)])
    assert abs(weights.mean().item()) < 1e-3
    assert all(torch.all(c.bias == 0) for c in convs(net)
               if c.bias is not None)


@pytest.mark.parametrize('network', NETWORKS)
def test_pytorch_default_init_fails_the_same_check(network):
    # Guards the test above: PyTorch's own init scales with the fan-in.
    stds = weight_stds(network())
    assert not all(0.018 < std < 0.022 for std in stds)


def test_batch_norm_scales_are_normal_around_one_as_in_the_reference():
    torch.manual_seed(0)
    net = ResnetGenerator(base_channels=32, num_blocks=2, norm='batch')
    net.init_weights()
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight.detach() for m in norms])
    assert len(norms) == 2 * 2 + 5 and scales.numel() == 832
    assert abs(scales.mean().item() - 1) < 3e-3
    assert 0.018 < scales.std().item() < 0.022
    assert all(torch.all(m.bias == 0) for m in norms)
    # PyTorch's own init leaves every scale at exactly 1.
    plain = ResnetGenerator(base_channels=32, num_blocks=2, norm='batch')
    assert all(torch.all(m.weight == 1) for m in plain.modules()
               if isinstance(m, nn.BatchNorm2d))


def built_from(config: str) -> nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(load_config(str(CONFIGS / config)).model)
    model.init_weights()
    return model


def weighted_layers(model: nn.Module):
    """Every conv and linear layer of the model's networks, by name."""
    return {
        f'{name}.{layer_name}': layer
        for name, network in model.networks.items()
        for layer_name, layer in network.named_modules()
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))
    }


@pytest.mark.parametrize('config',
                         ['cut_selfie2anime.py', 'fastcut_toyfaces.py'])
def test_cut_configs_init_xavier_normal_with_gain_0_02(config):
    """The reference's CUT default: init_type='xavier', init_gain=0.02 for
    G, D and the MLP: std = gain * sqrt(2 / (fan_in + fan_out))."""
    layers = weighted_layers(built_from(config))
    checked = set()
    for name, layer in layers.items():
        weight = layer.weight.detach()
        if weight.numel() < 2000:  # too few for a stable estimate
            continue
        receptive = weight[0, 0].numel()
        fans = (weight.shape[0] + weight.shape[1]) * receptive
        expected = 0.02 * math.sqrt(2 / fans)
        assert weight.std().item() == pytest.approx(expected, rel=0.1), name
        checked.add(name.split('.')[0])
    assert checked == {'generator', 'discriminator', 'patch_sampler'}
    assert all(
        torch.all(layer.bias == 0) for layer in layers.values()
        if layer.bias is not None)


def test_cyclegan_config_keeps_normal_init():
    layers = weighted_layers(built_from('cyclegan_selfie2anime.py'))
    stds = [
        layer.weight.std().item() for layer in layers.values()
        if layer.weight.numel() >= 2000
    ]
    assert len(stds) > 20
    assert all(0.018 < std < 0.022 for std in stds), stds
