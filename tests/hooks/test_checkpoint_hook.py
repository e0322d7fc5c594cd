"""AtomicCheckpointHook: the pointer always names a complete checkpoint."""
import os

import pytest

from cyclegan_plugin.engine import load_checkpoint_file
from cyclegan_plugin.engine.checkpoint_io import TEMP_PREFIX
from cyclegan_plugin.hooks import AtomicCheckpointHook, checkpoint_hook


def checkpoints(work_dir) -> list:
    return sorted(
        name for name in os.listdir(work_dir) if name.startswith('iter_'))


def pointer(work_dir) -> str:
    with open(os.path.join(work_dir, 'last_checkpoint')) as file:
        return os.path.basename(file.read())


def test_crash_while_writing_keeps_the_previous_checkpoint(
        make_runner, monkeypatch, tmp_path):
    work_dir = tmp_path / 'run'
    publish = checkpoint_hook.publish_file
    calls = []

    def crash_on_third(temp_path, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError('simulated crash before the rename')
        publish(temp_path, path)

    monkeypatch.setattr(checkpoint_hook, 'publish_file', crash_on_third)
    # max_keep_ckpts=1: mmengine deletes the only good checkpoint before
    # writing the next one.
    keep_one = dict(
        default_hooks=dict(checkpoint=dict(interval=1, max_keep_ckpts=1)))
    with pytest.raises(OSError, match='simulated crash'):
        make_runner(3, **keep_one).train()

    assert pointer(work_dir) == 'iter_2.pth'
    assert checkpoints(work_dir) == ['iter_2.pth']
    assert load_checkpoint_file(str(work_dir /
                                    'iter_2.pth'))['meta']['iter'] == 2
    assert os.path.isfile(work_dir / f'{TEMP_PREFIX}iter_3.pth')

    monkeypatch.setattr(checkpoint_hook, 'publish_file', publish)
    runner = make_runner(3, resume=True, **keep_one)
    runner.train()
    assert runner.iter == 3
    assert pointer(work_dir) == 'iter_3.pth'
    assert checkpoints(work_dir) == ['iter_3.pth']
    assert not [n for n in os.listdir(work_dir) if n.startswith(TEMP_PREFIX)]


def test_old_checkpoints_go_only_after_the_pointer_moved(
        make_runner, monkeypatch, tmp_path):
    work_dir = tmp_path / 'run'
    write_text = checkpoint_hook.write_text_atomically
    pointers = []

    def crash_on_third(path, text):
        pointers.append(text)
        if len(pointers) == 3:
            raise OSError('simulated crash before the pointer update')
        write_text(path, text)

    monkeypatch.setattr(checkpoint_hook, 'write_text_atomically',
                        crash_on_third)
    keep_two = dict(
        default_hooks=dict(checkpoint=dict(interval=1, max_keep_ckpts=2)))
    with pytest.raises(OSError, match='pointer update'):
        make_runner(3, **keep_two).train()
    assert pointer(work_dir) == 'iter_2.pth'
    # iter_1 is outdated by the complete iter_3 but still kept.
    assert checkpoints(work_dir) == ['iter_1.pth', 'iter_2.pth', 'iter_3.pth']

    monkeypatch.setattr(checkpoint_hook, 'write_text_atomically', write_text)
    make_runner(4, resume=True, **keep_two).train()
    assert pointer(work_dir) == 'iter_4.pth'
    assert checkpoints(work_dir) == ['iter_3.pth', 'iter_4.pth']


def test_only_iteration_based_saving():
    with pytest.raises(ValueError, match='by_epoch=False'):
        AtomicCheckpointHook(by_epoch=True)
