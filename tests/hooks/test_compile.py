"""Compiled networks train exactly like eager ones.

The tests compile with the ``aot_eager`` backend: dynamo's graph capture
and AOTAutograd's forward/backward graphs, as inductor uses them, without
inductor's C++ code generation, which takes minutes on two CPU cores (the
benchmarks cover inductor).
"""
import copy
from types import SimpleNamespace

import pytest
import torch
from torch._dynamo.backends.registry import lookup_backend

from cyclegan_plugin.hooks.compile import CompileNetworksHook, compile_networks
from cyclegan_plugin.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))


def build(seed: int = 0):
    torch.manual_seed(seed)  # also seeds the history buffers
    model = MODELS.build(
        dict(
            type='CycleGAN',
            generator=dict(
                type='ResnetGenerator', base_channels=8, num_blocks=1),
            discriminator=dict(type='PatchDiscriminator', base_channels=8),
            buffer_size=2))
    model.init_weights()
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PerGroupOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                generators=copy.deepcopy(ADAM),
                discriminators=copy.deepcopy(ADAM))))(
                    model)
    return model, optim


def batch(step: int, size: int = 32):
    gen = torch.Generator().manual_seed(step)
    return dict(
        inputs={
            key: [
                torch.randint(
                    0, 256, (3, size, size), generator=gen, dtype=torch.uint8)
            ]
            for key in ('img_a', 'img_b')
        })


@pytest.fixture
def counting_backend():
    """``aot_eager`` that records every graph it is given."""
    torch._dynamo.reset()
    aot_eager = lookup_backend('aot_eager')
    graphs = []

    def backend(graph_module, example_inputs):
        graphs.append(graph_module)
        return aot_eager(graph_module, example_inputs)

    yield backend, graphs
    torch._dynamo.reset()


def test_compiled_and_eager_steps_give_the_same_losses(counting_backend):
    backend, graphs = counting_backend
    eager, eager_optim = build()
    compiled, compiled_optim = build()
    compile_networks(compiled, backend=backend)

    graphs_after = []
    for step in range(2):
        expected = eager.train_step(batch(step), eager_optim)
        actual = compiled.train_step(batch(step), compiled_optim)
        assert actual.keys() == expected.keys()
        for key in expected:
            assert actual[key] == pytest.approx(
                expected[key], rel=1e-4, abs=1e-6), (step, key)
        graphs_after.append(len(graphs))

    # Everything compiles in the first step: no recompilation later.
    assert graphs_after[0] > 0
    assert graphs_after[1] == graphs_after[0]
    eager_params = dict(eager.named_parameters())
    for name, param in compiled.named_parameters():
        torch.testing.assert_close(
            param, eager_params[name], rtol=1e-4, atol=1e-6)
    # In-place compilation keeps the checkpoint names.
    assert compiled.state_dict().keys() == eager.state_dict().keys()


def test_hook_compiles_every_network_with_its_config(monkeypatch):
    compiled = {}
    model, _ = build()
    networks = ('generator_a', 'generator_b', 'discriminator_a',
                'discriminator_b')
    assert tuple(model.networks) == networks
    for name in networks:
        monkeypatch.setattr(
            getattr(model, name),
            'compile',
            lambda name=name, **kwargs: compiled.update({name: kwargs}))
    hook = HOOKS.build(dict(type='CompileNetworksHook', mode='max-autotune'))
    assert isinstance(hook, CompileNetworksHook)
    hook.before_train(SimpleNamespace(model=model))
    assert compiled == {
        name: dict(backend='inductor', mode='max-autotune', dynamic=None)
        for name in networks
    }
