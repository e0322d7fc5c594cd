"""ExactResumeTrainLoop: length in epochs, graceful stop on a signal."""
import multiprocessing
import os
import signal

import pytest
from mmengine.hooks import Hook

from cyclegan_plugin.engine import ExactResumeTrainLoop, load_checkpoint_file


class SendSignal(Hook):
    """Sends ``signum`` while iteration ``at`` runs to this process and its
    children (data loader workers), as a cluster signals a process group."""

    def __init__(self, signum: int, at: int):
        self.signum = signum
        self.at = at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            for worker in multiprocessing.active_children():
                os.kill(worker.pid, self.signum)
            os.kill(os.getpid(), self.signum)


def test_length_in_epochs_follows_the_dataset(make_runner):
    runner = make_runner(
        1,
        train_cfg=dict(
            _delete_=True, type='ExactResumeTrainLoop', max_epochs=2))
    assert isinstance(runner.train_loop, ExactResumeTrainLoop)
    assert runner.max_iters == 2 * 4  # 4 images per domain, batch 1


@pytest.fixture(params=['SIGTERM', 'SIGINT'])
def signum(request):
    """The signal under test; uncaught by training, it fails the test
    instead of ending the test session."""
    signum = getattr(signal, request.param)

    def not_intercepted(signum, frame):
        raise AssertionError(f'{request.param} reached the default handler')

    previous = signal.signal(signum, not_intercepted)
    yield signum
    signal.signal(signum, previous)


@pytest.mark.parametrize('workers', [0, 2])
def test_signal_stops_after_the_iteration_with_a_checkpoint(
        make_runner, tmp_path, signum, workers):
    previous = signal.getsignal(signum)
    runner = make_runner(100, train_dataloader=dict(num_workers=workers))
    runner.register_hook(SendSignal(signum, at=2))
    runner.train()  # returns normally: the tool then exits with 0

    assert runner.iter == 2
    assert signal.getsignal(signum) is previous
    # The configured interval (1000) would not have saved anything.
    saved = tmp_path / 'run' / 'iter_2.pth'
    assert load_checkpoint_file(str(saved))['meta']['iter'] == 2
    with open(tmp_path / 'run' / 'last_checkpoint') as file:
        assert file.read() == str(saved)
