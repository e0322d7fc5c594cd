"""Safe checkpoint loading and atomic file replacement."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from cyclegan_plugin.engine import (CheckpointError, UnsafeCheckpointError,
                                    load_checkpoint_file)
from cyclegan_plugin.engine.checkpoint_io import (TEMP_PREFIX,
                                                  remove_temp_files,
                                                  write_text_atomically)


def mmengine_like_checkpoint() -> dict:
    """What mmengine's Runner.save_checkpoint writes besides tensors: a
    message hub of HistoryBuffers (numpy arrays, statistics methods) and
    a numpy scalar."""
    hub = MessageHub(f'hub-{os.getpid()}-{id(object())}')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', 0.25)
    hub.update_info('eta', np.float64(12.5))
    return dict(
        meta=dict(iter=3, cfg='model = dict()'),
        state_dict=dict(weight=torch.ones(2, 2)),
        message_hub=hub.state_dict())


@pytest.fixture(params=['torch allow-list', 'own unpickler'])
def loader(request, monkeypatch):
    """Runs a test through both loading paths: torch's extensible
    weights-only list (torch >= 2.5) and the restricted unpickler used on
    older torch, which this stack reaches once ``safe_globals`` is gone."""
    if request.param == 'own unpickler':
        monkeypatch.delattr(torch.serialization, 'safe_globals', raising=False)
    return request.param


def test_loads_mmengine_checkpoints_that_plain_weights_only_refuses(
        tmp_path, loader):
    path = str(tmp_path / 'iter_3.pth')
    torch.save(mmengine_like_checkpoint(), path)
    # torch >= 2.6 defaults to weights_only=True: mmengine 0.10.7's loader
    # fails on its own checkpoints.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)

    checkpoint = load_checkpoint_file(path)
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.mean() == pytest.approx(0.375)
    assert checkpoint['message_hub']['runtime_info']['eta'] == 12.5
    assert torch.equal(checkpoint['state_dict']['weight'], torch.ones(2, 2))


class Payload:
    """Unpickling calls ``os.mkdir(marker)``: stands for any code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker, )


class GetattrGadget:
    """Reaches past HistoryBuffer's statistics methods with getattr."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, 'register_statistics')


@pytest.mark.parametrize('writer', ['torch.save', 'pickle.dump'])
def test_malicious_checkpoint_is_refused_and_runs_nothing(
        tmp_path, writer, loader):
    marker = tmp_path / 'code_ran'
    checkpoint = dict(state_dict={}, meta=Payload(str(marker)))
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as file:
        if writer == 'torch.save':
            torch.save(checkpoint, file)
        else:
            pickle.dump(checkpoint, file, protocol=2)

    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint_file(str(path))
    assert 'refused' in str(error.value) and 'mkdir' in str(error.value)
    assert not marker.exists()


def test_getattr_serves_only_history_buffer_statistics(tmp_path, loader):
    path = str(tmp_path / 'gadget.pth')
    torch.save(dict(meta=GetattrGadget()), path)
    with pytest.raises(UnsafeCheckpointError, match='register_statistics'):
        load_checkpoint_file(path)


def test_torn_and_missing_files_are_reported(tmp_path, loader):
    path = tmp_path / 'iter_3.pth'
    torch.save(mmengine_like_checkpoint(), str(path))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='not a complete checkpoint'):
        load_checkpoint_file(str(path))
    with pytest.raises(CheckpointError, match='does not exist'):
        load_checkpoint_file(str(tmp_path / 'nothing.pth'))


def test_text_replaced_atomically_and_leftovers_removed(tmp_path):
    pointer = tmp_path / 'last_checkpoint'
    write_text_atomically(str(pointer), 'iter_1.pth')
    write_text_atomically(str(pointer), 'iter_2.pth')
    assert pointer.read_text() == 'iter_2.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']

    leftover = tmp_path / f'{TEMP_PREFIX}iter_3.pth'
    leftover.write_bytes(b'half a checkpoint')
    remove_temp_files(str(tmp_path))
    assert os.listdir(tmp_path) == ['last_checkpoint']
