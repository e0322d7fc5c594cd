"""StopSignals: the first signal is a request, the second acts as before.
WorkerShield: data loader workers survive them while training runs."""
import multiprocessing
import os
import signal

import pytest

from cyclegan_plugin.engine.stop_signals import StopSignals, WorkerShield


def test_first_signal_is_recorded_second_acts_as_before():
    # A shell starts background jobs with SIGINT ignored; install Python's
    # usual handler so "as before" means raising KeyboardInterrupt.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with StopSignals(['SIGINT']) as stop:
            assert stop.received is None
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.received == 'SIGINT'
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_handlers_restored_when_the_block_raises():
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError):
        with StopSignals(['SIGTERM']):
            assert signal.getsignal(signal.SIGTERM) is not previous
            raise RuntimeError('training failed')
    assert signal.getsignal(signal.SIGTERM) is previous


def test_unknown_signal_name():
    with pytest.raises(ValueError, match='SIGTREM'):
        StopSignals(['SIGTREM'])


def shielded_worker(shield, ready):
    shield(worker_id=0)
    ready.set()
    while True:
        signal.pause()


def test_worker_shield_holds_until_released():
    context = multiprocessing.get_context('fork')
    shield = WorkerShield(None, ['SIGTERM', 'SIGINT'])
    ready = context.Event()
    worker = context.Process(
        target=shielded_worker, args=(shield, ready), daemon=True)
    worker.start()
    try:
        assert ready.wait(timeout=60)
        worker.terminate()  # SIGTERM, as torch and multiprocessing send
        os.kill(worker.pid, signal.SIGINT)
        worker.join(timeout=0.5)
        assert worker.is_alive()

        shield.release()
        worker.terminate()
        worker.join(timeout=60)
        assert worker.exitcode == -signal.SIGTERM
    finally:
        worker.kill()
