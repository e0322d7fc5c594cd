"""Non-finite guard: NaN/Inf updates are skipped, counted, and stop."""
import copy
import os

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from torch import nn
from torch_features import needs_cpu_fp16

from cyclegan_plugin.engine import load_checkpoint_file
from cyclegan_plugin.engine.amp import AutocastOptimWrapper
from cyclegan_plugin.hooks import (NonFiniteTrainingError,
                                   enable_nonfinite_guard)


def linear_and_wrapper(wrapper_type=OptimWrapper, **kwargs):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    wrapper = enable_nonfinite_guard(
        wrapper_type(optimizer=optimizer, **kwargs))
    return model, wrapper


def states(model, wrapper):
    return copy.deepcopy((model.state_dict(), wrapper.state_dict()))


def assert_same(before, after):
    for old, new in zip(
            torch.utils._pytree.tree_flatten(before)[0],
            torch.utils._pytree.tree_flatten(after)[0]):
        assert torch.equal(old, new) if isinstance(old, torch.Tensor) \
            else old == new


def poison_gradient(model):
    return model.weight.register_hook(lambda grad: grad * float('nan'))


def test_finite_update_is_applied():
    model, wrapper = linear_and_wrapper()
    before = states(model, wrapper)
    wrapper.update_params(model(torch.ones(2, 4)).sum())
    assert wrapper.last_skip is None
    assert not torch.equal(before[0]['weight'], model.weight)


@pytest.mark.parametrize('reason', ['loss', 'gradient'])
def test_nonfinite_update_leaves_weights_and_optimizer_untouched(reason):
    model, wrapper = linear_and_wrapper()
    wrapper.update_params(model(torch.ones(2, 4)).sum())  # Adam has state
    before = states(model, wrapper)
    loss = model(torch.ones(2, 4)).sum()
    if reason == 'loss':
        loss = loss * float('inf')
    else:
        poison_gradient(model)
    wrapper.update_params(loss)
    assert wrapper.last_skip == reason
    assert_same(before, states(model, wrapper))
    assert model.weight.grad is None or not model.weight.grad.any()


@needs_cpu_fp16
def test_composes_with_fp16_autocast_and_its_loss_scaler():
    model, wrapper = linear_and_wrapper(AutocastOptimWrapper, dtype='float16')
    assert type(wrapper).__name__ == 'NonFiniteGuardedAutocastOptimWrapper'
    # An overflow of the scaled gradients is the scaler's business: it
    # skips the step and lowers the scale; the guard counts nothing.
    scale = wrapper.loss_scaler.get_scale()
    with wrapper.optim_context(model):
        loss = model(torch.ones(2, 4)).float().sum() * 1e30
    wrapper.update_params(loss)
    assert wrapper.last_skip is None
    assert wrapper.loss_scaler.get_scale() < scale
    # A non-finite loss is still caught before the scaler sees it.
    before = states(model, wrapper)
    with wrapper.optim_context(model):
        loss = model(torch.ones(2, 4)).float().sum() * float('nan')
    wrapper.update_params(loss)
    assert wrapper.last_skip == 'loss'
    assert_same(before, states(model, wrapper))


def test_composes_with_bf16_autocast_without_scaler():
    model, wrapper = linear_and_wrapper(AutocastOptimWrapper, dtype='bfloat16')
    before = states(model, wrapper)
    poison_gradient(model)
    with wrapper.optim_context(model):
        loss = model(torch.ones(2, 4)).float().sum()
    wrapper.update_params(loss)
    assert wrapper.last_skip == 'gradient'
    assert_same(before, states(model, wrapper))


class PoisonCycleLoss(Hook):
    """Makes the generators' loss NaN in the given (1-based) iterations and
    records the weights before and after each iteration."""

    def __init__(self, iterations):
        self.iterations = iterations
        self.weights = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        model.cycle_loss.loss_weight = (
            float('nan') if runner.iter + 1 in self.iterations else 10.0)
        self.weights[runner.iter] = copy.deepcopy(model.state_dict())


def test_bad_iterations_are_skipped_counted_and_stop_training(
        make_runner, tmp_path):
    runner = make_runner(
        20,
        default_hooks=dict(
            nonfinite_guard=dict(type='NonFiniteGuardHook',
                                 max_consecutive=2)))
    poison = PoisonCycleLoss(iterations={2, 4, 5})
    runner.register_hook(poison)
    with pytest.raises(NonFiniteTrainingError) as error:
        runner.train()

    # Iteration 2: the generators' update was skipped, the discriminators'
    # (finite loss) applied; training went on.
    before, after = poison.weights[1], poison.weights[2]
    for key in before:
        if key.startswith('generator'):
            assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before['discriminator_a.model.0.weight'],
                           after['discriminator_a.model.0.weight'])
    # Iterations 4 and 5: two bad ones in a row stop training.
    assert runner.iter == 5
    skips = runner.message_hub.get_scalar('train/nonfinite_skips')
    assert skips.current() == 3
    saved = str(tmp_path / 'run' / 'iter_5.pth')
    assert '2 iterations in a row' in str(error.value)
    assert saved in str(error.value)
    state = load_checkpoint_file(saved)['state_dict']
    assert all(value.isfinite().all() for key, value in state.items()
               if isinstance(value, torch.Tensor))
    for key, value in runner.model.state_dict().items():
        if key.startswith('generator'):
            assert torch.equal(value, state[key])
            assert torch.equal(value, poison.weights[3][key])
    with open(os.path.join(tmp_path, 'run', 'last_checkpoint')) as file:
        assert file.read() == saved
