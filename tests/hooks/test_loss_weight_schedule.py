"""LossWeightScheduleHook: the weight each iteration trains with, exact
resume, and clear errors."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from tiny_training import assert_states_equal, model_state

from cyclegan_plugin.hooks import LossWeightScheduleHook


def schedule() -> list:
    """Identity weight 5 (the tiny model's) held to iteration 2, then
    linearly to 1 at iteration 4; a fresh config each time."""
    return [dict(type='LossWeightScheduleHook', loss='identity_loss',
                 end_weight=1.0, begin=2, end=4)]


class RecordIdentityWeight(Hook):
    """Runs after the schedule: the weight each train_step is given."""

    priority = 'LOW'

    def __init__(self):
        self.weights = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.weights.append(runner.model.identity_loss.loss_weight)


def test_each_iteration_trains_with_the_scheduled_weight(make_runner):
    runner = make_runner(6, custom_hooks=schedule())
    record = RecordIdentityWeight()
    runner.register_hook(record)
    runner.train()
    assert record.weights == pytest.approx([5.0, 5.0, 5.0, 3.0, 1.0, 1.0])


def test_the_weight_reaches_the_loss(make_runner):
    """The logged identity term scales with the weight: the same batch and
    networks at weight 5 and at weight 1 give terms 5:1."""
    runner = make_runner(1, custom_hooks=schedule())
    model = runner.model
    batch = next(iter(runner.train_dataloader))
    data = model.data_preprocessor(batch, True)['inputs']
    terms = []
    for weight in (5.0, 1.0):
        model.identity_loss.loss_weight = weight
        with torch.no_grad():
            terms.append(float(model._generator_step(dict(data))['idt_a']))
    assert terms[0] == pytest.approx(5 * terms[1], rel=1e-5)


def test_resume_continues_the_schedule_bitwise(make_runner):
    one_go = make_runner(6, work='one_go', custom_hooks=schedule())
    one_go.train()
    # Stopped inside the change (the weight 3 iteration is the next one).
    make_runner(3, custom_hooks=schedule()).train()
    resumed = make_runner(6, resume=True, custom_hooks=schedule())
    record = RecordIdentityWeight()
    resumed.register_hook(record)
    resumed.train()
    assert record.weights == pytest.approx([3.0, 1.0, 1.0])
    assert_states_equal(model_state(one_go), model_state(resumed))


def test_a_missing_loss_is_named():
    hook = LossWeightScheduleHook('identity_loss', 1.0, begin=0, end=10)
    runner = SimpleNamespace(model=SimpleNamespace(identity_loss=None))
    with pytest.raises(ValueError, match="'identity_loss'.*configured off"):
        hook.before_train(runner)


def test_an_empty_range_is_refused():
    with pytest.raises(ValueError, match='begin=5, end=5'):
        LossWeightScheduleHook('identity_loss', 1.0, begin=5, end=5)
