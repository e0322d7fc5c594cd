"""Exact resume: 2N iterations in one go == N, resume, N more.

CPU, ``randomness=dict(seed=0, deterministic=True)``, ``num_workers=0``: the
comparison is bitwise. It covers models, both Adam optimizers, the LR
schedule (it changes during the run), the history buffers (full after two
iterations, then swapping at random) and the data order and augmentation
across an epoch boundary.
"""
import copy
import itertools
import multiprocessing
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import LOOPS
from mmengine.runner import BaseLoop
from tiny_training import assert_states_equal, model_state, tiny_cfg

from cyclegan_plugin.cli import build_runner
from cyclegan_plugin.datasets import (ResumableInfiniteSampler,
                                      UnpairedImageDataset)

N = 3


def optimizer_state(runner) -> dict:
    return {
        name: wrapper.state_dict()
        for name, wrapper in runner.optim_wrapper.items()
    }


class CountLoads:
    """Counts dataset items prepared, in this and in forked processes."""

    def __init__(self, monkeypatch):
        self.count = multiprocessing.get_context('fork').Value('i', 0)
        prepare = UnpairedImageDataset.prepare_data

        def counted(dataset, index):
            with self.count.get_lock():
                self.count.value += 1
            return prepare(dataset, index)

        monkeypatch.setattr(UnpairedImageDataset, 'prepare_data', counted)


@pytest.fixture(scope='module')
def one_go(toy_root, tmp_path_factory, single_thread):
    """2N iterations without interruption."""
    runner = build_runner(
        tiny_cfg(toy_root, str(tmp_path_factory.mktemp('one_go')), 2 * N))
    runner.train()
    return dict(model=model_state(runner), optim=optimizer_state(runner))


def test_resume_is_bitwise_identical_and_loads_no_seen_data(
        one_go, make_runner, monkeypatch):
    make_runner(N).train()
    loads = CountLoads(monkeypatch)
    runner = make_runner(2 * N, resume=True)
    runner.train()

    assert loads.count.value == N  # mmengine's loop would load 2N
    assert runner.iter == 2 * N
    assert len(runner.model.history_a) == len(runner.model.history_b) == 2
    assert_states_equal(one_go['model'], model_state(runner))
    assert_states_equal(one_go['optim'], optimizer_state(runner))


# FastCUT exercises the patch sampler's random locations and the flip coin
# on top of CUT's D-before-G step and its MLP head.
TINY_FASTCUT = dict(
    model=dict(
        _delete_=True,
        type='CUT',
        generator=dict(
            type='ResnetGenerator', base_channels=8, num_blocks=5),
        discriminator=dict(type='PatchDiscriminator', base_channels=8),
        patch_sampler=dict(
            type='PatchSampleMLP', channels=16, num_patches=16),
        flip_equivariance=True),
    optim_wrapper=dict(
        _delete_=True,
        constructor='PerGroupOptimWrapperConstructor',
        generator=dict(
            optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
        discriminator=dict(
            optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))))


@pytest.mark.parametrize('overrides, built', [
    (TINY_FASTCUT, lambda runner: set(runner.optim_wrapper.keys()) ==
     {'generator', 'discriminator'}),
    # The cycle noise comes from torch's CPU generator, which checkpoints
    # keep.
    (dict(model=dict(cycle_noise_std=0.05)),
     lambda runner: runner.model.cycle_noise_std == 0.05),
], ids=['fastcut', 'cycle_noise'])
def test_model_variants_resume_bitwise(toy_root, tmp_path, make_runner,
                                       overrides, built):
    # Merging a config pops its _delete_ keys: a fresh copy each time.
    one_go = build_runner(
        tiny_cfg(toy_root, str(tmp_path / 'one_go'), 2 * N,
                 **copy.deepcopy(overrides)))
    one_go.train()
    make_runner(N, **copy.deepcopy(overrides)).train()
    resumed = make_runner(2 * N, resume=True, **copy.deepcopy(overrides))
    resumed.train()
    assert built(resumed)
    assert_states_equal(model_state(one_go), model_state(resumed))
    assert_states_equal(optimizer_state(one_go), optimizer_state(resumed))


@LOOPS.register_module()
class RandomDrawingValLoop(BaseLoop):
    """Stands in for a validation that draws random numbers."""

    def __init__(self, runner, dataloader, evaluator=None):
        super().__init__(runner, dataloader)

    def run(self):
        random.random()
        np.random.rand()
        torch.rand(1)


def test_validation_leaves_the_training_run_unchanged(one_go, make_runner,
                                                      toy_root):
    # Validation after every iteration, including the checkpointed ones.
    runner = make_runner(
        2 * N,
        train_cfg=dict(val_interval=1),
        val_cfg=dict(type='RandomDrawingValLoop'),
        val_dataloader=tiny_cfg(toy_root, '', 1).train_dataloader,
        val_evaluator=dict(type='Evaluator', metrics=[]))
    runner.train()
    assert_states_equal(one_go['model'], model_state(runner))


class NoTraining(Hook):
    """Makes iterations free: only the data loading is under test."""

    def before_train(self, runner):
        runner.model.train_step = lambda data, optim_wrapper: {}


def test_resume_with_workers_starts_at_the_saved_position(
        make_runner, monkeypatch, toy_root):
    saved, more = 20, 2
    workers = dict(train_dataloader=dict(num_workers=2))
    runner = make_runner(saved, **workers)
    runner.register_hook(NoTraining())
    runner.train()

    loads = CountLoads(monkeypatch)
    first_batch = []

    class FirstBatch(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            first_batch.extend(data_batch['data_samples'])

    runner = make_runner(saved + more, resume=True, **workers)
    runner.register_hook(NoTraining())
    runner.register_hook(FirstBatch())
    runner.train()

    # Two used plus at most two batches prefetched by each of the two
    # workers; replaying would have loaded the 20 seen ones as well.
    assert more <= loads.count.value <= more + 2 * 2
    sampler = ResumableInfiniteSampler(range(4), seed=0)
    index = next(itertools.islice(iter(sampler), saved, None))
    dataset = runner.train_dataloader.dataset
    assert first_batch[0].path_a == dataset.get_data_info(index)['img_a_path']
    assert osp.isfile(runner.message_hub.get_info('last_ckpt'))
