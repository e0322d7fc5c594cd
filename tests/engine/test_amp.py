"""Mixed precision of CycleGAN's two optimizer wrappers.

bf16/fp16 on this CPU only at 16 px with 4 channels: without native bf16
kernels the convolutions are orders of magnitude slower than fp32.
"""
import copy
import warnings
from collections import defaultdict

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch import nn
from torch_features import needs_cpu_fp16

from cyclegan_plugin.engine import amp
from cyclegan_plugin.engine.amp import AutocastOptimWrapper, enable_amp
from cyclegan_plugin.hooks.nonfinite_guard import enable_nonfinite_guard
from cyclegan_plugin.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
OPTIM_CFG = dict(
    generators=copy.deepcopy(ADAM), discriminators=copy.deepcopy(ADAM))
# Expected on this machine; its own test checks when it is raised.
pytestmark = pytest.mark.filterwarnings(
    'ignore::cyclegan_plugin.engine.amp.SlowBF16Warning')
NETWORKS = ('generator_a', 'generator_b', 'discriminator_a', 'discriminator_b')


def build(optim_cfg=OPTIM_CFG):
    model = MODELS.build(
        dict(
            type='CycleGAN',
            generator=dict(
                type='ResnetGenerator', base_channels=4, num_blocks=1),
            discriminator=dict(
                type='PatchDiscriminator', base_channels=4, num_layers=2)))
    model.init_weights()
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PerGroupOptimWrapperConstructor',
            optim_wrapper_cfg=optim_cfg))(
                model)
    return model, optim


def batch(size=16, n=2):
    gen = torch.Generator().manual_seed(1)
    return dict(
        inputs={
            key: [
                torch.randint(
                    0, 256, (3, size, size), generator=gen, dtype=torch.uint8)
                for _ in range(n)
            ]
            for key in ('img_a', 'img_b')
        })


def record_convs(model):
    """Per network: conv output dtypes and, per forward call, whether the
    network's parameters were trainable at that moment."""
    dtypes, trainable = defaultdict(set), defaultdict(list)
    for name in NETWORKS:
        net = getattr(model, name)
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                module.register_forward_hook(
                    lambda m, i, out, name=name: dtypes[name].add(out.dtype))
        net.register_forward_pre_hook(lambda m, i, name=name: trainable[
            name].append(any(p.requires_grad for p in m.parameters())))
    return dtypes, trainable


@pytest.mark.parametrize('dtype,expected', [(None, torch.float32),
                                            ('bf16', torch.bfloat16),
                                            pytest.param(
                                                'fp16',
                                                torch.float16,
                                                marks=needs_cpu_fp16)])
def test_switch_sets_the_compute_dtype_of_every_conv(dtype, expected):
    optim_cfg = OPTIM_CFG if dtype is None else enable_amp(OPTIM_CFG, dtype)
    if dtype == 'fp16':
        # The default first scale, 2**16, overflows this tiny model's fp16
        # gradients and skips the first steps, as dynamic scaling should.
        for group in optim_cfg.values():
            group['loss_scale'] = dict(init_scale=2.0**8)
    model, optim = build(optim_cfg)
    dtypes, trainable = record_convs(model)
    before = copy.deepcopy(model.state_dict())

    log = model.train_step(batch(), optim)

    assert {
        name: dtypes[name]
        for name in NETWORKS
    } == {
        name: {expected}
        for name in NETWORKS
    }
    # The paper's six generator calls (on the CPU the identity passes are
    # not batched by default) and six discriminator passes, with the
    # discriminators frozen for their first (generator step) call.
    assert {
        name: len(calls)
        for name, calls in trainable.items()
    } == dict(generator_a=3, generator_b=3, discriminator_a=3,
              discriminator_b=3)
    assert trainable['discriminator_a'] == [False, True, True]
    assert trainable['generator_a'] == [True] * 3
    assert all(torch.isfinite(torch.tensor(v)) for v in log.values())
    for name, param in model.named_parameters():
        assert param.dtype == torch.float32, name
        assert param.grad is None, name  # zero_grad(set_to_none=True)
        assert not torch.equal(param, before[name]), name


@needs_cpu_fp16
def test_fp16_scalers_of_the_two_optimizers_are_independent():
    # D's scale is so large that its gradients overflow to inf: its step
    # must be skipped and its scale backed off, while G steps normally.
    optim_cfg = enable_amp(OPTIM_CFG, 'fp16')
    optim_cfg['generators']['loss_scale'] = dict(init_scale=2.0**8)
    optim_cfg['discriminators']['loss_scale'] = dict(init_scale=2.0**127)
    model, optim = build(optim_cfg)
    g_optim, d_optim = optim['generators'], optim['discriminators']
    assert g_optim.loss_scaler is not d_optim.loss_scaler
    before = copy.deepcopy(dict(model.named_parameters()))

    model.train_step(batch(), optim)

    for name, param in model.named_parameters():
        changed = not torch.equal(before[name], param)
        assert changed == name.startswith('generator'), name
    assert d_optim.loss_scaler.get_scale() == 2.0**126
    assert g_optim.loss_scaler.get_scale() == 2.0**8


@needs_cpu_fp16
def test_static_fp16_scale_scales_the_loss_and_stays_fixed():
    model, optim = build(enable_amp(OPTIM_CFG, 'fp16'))
    params = list(model.optimizer_group('generators').parameters())
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(params, lr=0.0),
        dtype='fp16',
        loss_scale=8.0)
    loss = sum(p.sum() for p in params)
    wrapper.backward(loss)
    assert torch.all(params[0].grad == 8.0)  # d(8 * loss)/dp
    wrapper.step()
    assert torch.all(params[0].grad == 1.0)  # unscaled before the step
    assert wrapper.loss_scaler.get_scale() == 8.0


@needs_cpu_fp16
def test_fp16_state_keeps_the_scaler_and_loads_into_other_precisions():
    optim_cfg = enable_amp(OPTIM_CFG, 'fp16')
    optim_cfg['generators']['loss_scale'] = 1024.0
    _, fp16 = build(optim_cfg)
    state = fp16['generators'].state_dict()
    assert state['loss_scaler']['scale'] == 1024.0

    _, restored = build(enable_amp(OPTIM_CFG, 'fp16'))
    restored['generators'].load_state_dict(state)
    assert restored['generators'].loss_scaler.get_scale() == 1024.0

    _, bf16 = build(enable_amp(OPTIM_CFG, 'bf16'))
    bf16['generators'].load_state_dict(state)  # no scaler: ignored
    assert 'loss_scaler' not in bf16['generators'].state_dict()
    _, fp32 = build()
    fp16['generators'].load_state_dict(fp32['generators'].state_dict())


def test_enable_amp_rewrites_both_groups_without_mutating_the_input():
    cfg = copy.deepcopy(OPTIM_CFG)
    cfg['generators']['clip_grad'] = dict(max_norm=1.0)
    out = enable_amp(cfg, 'bf16')
    assert out['generators'] == dict(
        type='cyclegan_plugin.AutocastOptimWrapper',
        dtype='bf16',
        clip_grad=dict(max_norm=1.0),
        **ADAM)
    assert out['discriminators'] == dict(
        type='cyclegan_plugin.AutocastOptimWrapper', dtype='bf16', **ADAM)
    assert cfg == dict(
        generators=dict(clip_grad=dict(max_norm=1.0), **ADAM),
        discriminators=ADAM)
    # A second call switches the dtype and keeps a configured loss scale.
    out['generators']['loss_scale'] = 512.0
    again = enable_amp(out, 'fp16')
    assert again['generators']['dtype'] == 'fp16'
    assert again['generators']['loss_scale'] == 512.0


@pytest.mark.parametrize('cfg,error', [
    (OPTIM_CFG, 'dtype'),
    (dict(constructor='PerGroupOptimWrapperConstructor'),
     'one entry per optimizer group'),
    (dict(
        generators=dict(type='AmpOptimWrapper', **ADAM),
        discriminators=ADAM), 'optim_wrapper.generators.type'),
])
def test_enable_amp_names_what_is_wrong(cfg, error):
    dtype = 'int8' if error == 'dtype' else 'bf16'
    with pytest.raises((KeyError, ValueError), match=error):
        enable_amp(cfg, dtype)


@pytest.mark.parametrize('fast', [True, False])
def test_bf16_on_a_cpu_without_bf16_kernels_warns(monkeypatch, fast):
    monkeypatch.setattr(amp, 'cpu_has_fast_bf16', lambda: fast)
    params = [nn.Parameter(torch.zeros(1))]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        AutocastOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1))
    slow = [w for w in record if issubclass(w.category, amp.SlowBF16Warning)]
    assert len(slow) == (0 if fast else 1)


def test_plain_wrapper_is_untouched_by_the_registry_default():
    _, optim = build()
    assert type(optim['generators']) is OptimWrapper
    assert type(optim['discriminators']) is OptimWrapper


def test_amp_composes_with_the_nonfinite_guard():
    model, optim = build(enable_amp(OPTIM_CFG, 'bf16'))
    for wrapper in optim.values():
        enable_nonfinite_guard(wrapper)
    dtypes, _ = record_convs(model)
    model.train_step(batch(), optim)
    assert all(dtypes[name] == {torch.bfloat16} for name in NETWORKS)

    g_optim = optim['generators']
    generators = model.optimizer_group('generators')
    before = copy.deepcopy(list(generators.parameters()))
    with g_optim.optim_context(model):
        out = model.generator_a(torch.zeros(1, 3, 16, 16))
    g_optim.update_params(out.float().mean() * float('nan'))
    assert g_optim.last_skip == 'loss'
    for old, new in zip(before, generators.parameters()):
        assert torch.equal(old, new)
