"""The channels-last switch: what it converts, that a step is unchanged,
and that the runner converts before it wraps the model."""
import copy

import pytest
import torch
from tiny_training import RUNTIME_CFG

from cyclegan_plugin.cli import load_config
from cyclegan_plugin.engine import to_channels_last
from cyclegan_plugin.engine.memory_format import wants_channels_last
from cyclegan_plugin.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
MODEL = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1),
    discriminator=dict(type='PatchDiscriminator', base_channels=8))


def conv_weights(model) -> dict:
    return {
        name: param
        for name, param in model.named_parameters() if param.ndim == 4
    }


def is_channels_last(tensor: torch.Tensor) -> bool:
    return tensor.is_contiguous(memory_format=torch.channels_last)


def build_and_step(channels_last: bool):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(MODEL))
    model.init_weights()
    if channels_last:
        to_channels_last(model)
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PerGroupOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                generators=copy.deepcopy(ADAM),
                discriminators=copy.deepcopy(ADAM))))(
                    model)
    params = list(model.parameters())
    layouts = []
    conv = model.generator_a.model[3]
    conv.register_forward_hook(
        lambda m, args, out: layouts.append(is_channels_last(out)))
    gen = torch.Generator().manual_seed(1)
    data = dict(
        inputs={
            key: [
                torch.randint(
                    0, 256, (3, 32, 32), generator=gen, dtype=torch.uint8)
                for _ in range(2)
            ]
            for key in ('img_a', 'img_b')
        })
    log = model.train_step(data, optim)
    return model, params, layouts, log


def test_every_conv_weight_is_converted_and_the_step_is_unchanged():
    model, params, layouts, log = build_and_step(channels_last=True)
    reference, _, reference_layouts, reference_log = build_and_step(False)

    weights = conv_weights(model)
    assert len(weights) > 10
    assert all(is_channels_last(w) for w in weights.values())
    assert not any(is_channels_last(w)
                   for w in conv_weights(reference).values())
    # The optimizers' parameters are the model's, converted in place.
    assert [id(p) for p in params] == [id(p) for p in model.parameters()]
    # The activations follow the weights, with the images as they come.
    assert layouts and all(layouts)
    assert not any(reference_layouts)
    assert log.keys() == reference_log.keys()
    for key in log:
        assert log[key] == pytest.approx(reference_log[key], rel=1e-5), key
    expected = reference.state_dict()
    for name, value in model.state_dict().items():
        if name.endswith('weight'):
            torch.testing.assert_close(
                value, expected[name], rtol=1e-5, atol=1e-6)


def test_runner_converts_when_the_config_says_so(make_runner):
    runner = make_runner(1, channels_last=True)
    assert all(is_channels_last(w)
               for w in conv_weights(runner.model).values())
    runner.train()
    assert runner.iter == 1
    plain = make_runner(1, work='plain')
    assert not any(is_channels_last(w)
                   for w in conv_weights(plain.model).values())


def test_a_dict_turns_the_format_on_for_the_device_types_it_lists(
        make_runner):
    # The tests run on the CPU.
    on_cpu = make_runner(1, work='cpu', channels_last=dict(cpu=True))
    assert all(is_channels_last(w)
               for w in conv_weights(on_cpu.model).values())
    on_cuda = make_runner(1, work='cuda', channels_last=dict(cuda=True))
    assert not any(is_channels_last(w)
                   for w in conv_weights(on_cuda.model).values())


@pytest.mark.parametrize('setting, device, expected', [
    (True, 'cuda', True),
    (False, 'cpu', False),
    (dict(cpu=True), 'cpu', True),
    (dict(cpu=True), 'cuda', False),
    (dict(cpu=False, cuda=True), 'cuda', True),
])
def test_wants_channels_last(setting, device, expected):
    assert wants_channels_last(setting, device) is expected


@pytest.mark.parametrize('capability, expected', [
    ('AVX512', True),
    ('AVX2', False),
    ('DEFAULT', False),
    ('VSX', False),
])
def test_a_cpu_capability_turns_it_on_from_that_level(
        monkeypatch, capability, expected):
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability',
                        lambda: capability)
    assert wants_channels_last(dict(cpu='AVX512'), 'cpu') is expected
    assert wants_channels_last(dict(cpu='AVX2'),
                               'cpu') is (capability in ('AVX2', 'AVX512'))
    assert wants_channels_last(dict(cpu='AVX512'), 'cuda') is False


@pytest.mark.parametrize('setting, message', [
    ('yes', r"True, False or a dict .* got 'yes'"),
    (dict(cpu='yes'), r"one of \['AVX2', 'AVX512'\]"),
    (dict(cuda='AVX512'), 'True, False or a dict'),
    (dict(gpu=True), r"unknown device type\(s\) \['gpu'\].*'cuda'"),
])
def test_a_bad_setting_names_what_to_write(setting, message):
    with pytest.raises(ValueError, match=message):
        wants_channels_last(setting, 'cpu')


def test_the_switch_is_a_known_cfg_option():
    assert load_config(RUNTIME_CFG, {'channels_last': True}).channels_last
