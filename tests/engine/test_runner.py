"""ExactResumeRunner: safe, strict loading; the loop state in checkpoints."""
import os

import pytest
import torch
from tiny_training import tiny_cfg

from cyclegan_plugin.cli import build_runner
from cyclegan_plugin.engine import (CheckpointMismatchError, ExactResumeRunner,
                                    UnsafeCheckpointError,
                                    load_checkpoint_file)


@pytest.fixture(scope='module')
def checkpoint(toy_root, tmp_path_factory, single_thread) -> str:
    work_dir = str(tmp_path_factory.mktemp('run'))
    build_runner(tiny_cfg(toy_root, work_dir, 2)).train()
    return os.path.join(work_dir, 'iter_2.pth')


def test_checkpoint_holds_everything_an_exact_resume_needs(checkpoint):
    saved = load_checkpoint_file(checkpoint)
    assert saved['meta']['iter'] == 2
    assert set(saved['optimizer']) == {'generators', 'discriminators'}
    assert len(saved['param_schedulers']['generators']) == 1
    history = saved['state_dict']['history_a._extra_state']
    assert history['images'].shape[0] == 2 and 'rng_state' in history
    state = saved['message_hub']['runtime_info']['train_state']
    assert state['samples_seen'] == 2 and state['sampler_seed'] == 0
    # One process: one rank's random state and its own history buffers.
    [rank0] = state['ranks']
    assert set(rank0['rng']) >= {'python', 'numpy', 'torch'}
    assert set(rank0['extra_state']) == {
        'history_a._extra_state', 'history_b._extra_state'
    }
    assert torch.equal(
        rank0['extra_state']['history_a._extra_state']['images'],
        history['images'])


def test_architecture_mismatch_names_the_keys(checkpoint, make_runner):
    runner = make_runner(
        2,
        work='other',
        model=dict(generator=dict(base_channels=4, num_blocks=2)))
    assert isinstance(runner, ExactResumeRunner)
    with pytest.raises(CheckpointMismatchError) as error:
        runner.load_checkpoint(checkpoint)
    message = str(error.value)
    assert 'generator_a.model.0.weight (8, 3, 7, 7) vs (4, 3, 7, 7)' in message
    assert 'missing in the checkpoint: generator_a.model.10.body' in message
    assert 'base_channels' in message


def test_non_strict_load_takes_the_matching_weights(checkpoint, make_runner):
    runner = make_runner(
        2, work='other', model=dict(generator=dict(base_channels=4)))
    runner.load_checkpoint(checkpoint, strict=False)
    saved = load_checkpoint_file(checkpoint)['state_dict']
    weight = 'discriminator_a.model.0.weight'
    assert torch.equal(runner.model.state_dict()[weight], saved[weight])


def test_resume_refuses_an_unsafe_checkpoint(make_runner, tmp_path):
    evil = tmp_path / 'evil.pth'
    marker = tmp_path / 'code_ran'
    torch.save(dict(state_dict={}, meta=Marker(str(marker))), str(evil))
    runner = make_runner(2, resume=True, load_from=str(evil))
    with pytest.raises(UnsafeCheckpointError):
        runner.train()
    assert not marker.exists()


class Marker:
    """Unpickling would create the folder ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def test_resume_logs_the_epochs_completed(make_runner, tmp_path):
    # 4 images per domain: an epoch is 4 iterations.
    make_runner(5, work='epochs').train()
    runner = make_runner(6, work='epochs', resume=True, log_level='INFO')
    runner.train()
    log = (tmp_path / 'epochs' / runner.timestamp /
           f'{runner.timestamp}.log').read_text()
    assert 'resumed epoch: 1, iter: 5' in log
    # mmengine's line, with the loop's constant epoch 0, is not there.
    assert 'resumed epoch: 0' not in log
