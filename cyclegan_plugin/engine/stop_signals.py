"""Turn SIGTERM / SIGINT into a request to stop training gracefully."""
import multiprocessing
import os
import signal
import threading
from typing import Callable, Optional, Sequence


class StopSignals:
    """Within a ``with`` block, the given signals only record a request.

    A cluster preempting a job sends SIGTERM and kills it a while later;
    Ctrl-C sends SIGINT. Inside the block the first such signal sets
    :attr:`received` and nothing else, so the training loop can finish the
    current iteration, save a checkpoint and return. That first signal also
    puts the previous handlers back, so a second one acts as before (Ctrl-C
    twice interrupts at once). Leaving the block, normally or by an
    exception, restores them as well.

    Handlers can only be set from the main thread; elsewhere the block
    changes nothing.

    Args:
        names: Signal names, e.g. ``('SIGTERM', 'SIGINT')``.
    """

    def __init__(self, names: Sequence[str] = ('SIGTERM', 'SIGINT')):
        self.names = tuple(names)
        self.signals = _signal_numbers(self.names)
        self.received: Optional[str] = None
        self._previous = {}

    def __enter__(self) -> 'StopSignals':
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        self._restore()

    def _handle(self, signum: int, frame) -> None:
        self.received = signal.Signals(signum).name
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


class WorkerShield:
    """A data loader ``worker_init_fn`` that runs the loader's own one and
    then shields the worker from the stop signals until :meth:`release`.

    A cluster preempting a job, like Ctrl-C in a terminal, signals every
    process of the job. PyTorch's workers die of SIGTERM and SIGINT, and the
    main process then fails with "DataLoader worker ... is killed" instead
    of stopping gracefully. Shielded workers ignore these signals while
    training runs. Once released, a signal ends them as before: torch and
    multiprocessing terminate leftover workers with SIGTERM, and a worker
    that ignored it would keep its parent from exiting.

    Args:
        init_fn: The loader's own ``worker_init_fn`` (seeding), or ``None``.
        names: Signal names to shield from.
    """

    def __init__(self, init_fn: Optional[Callable[[int], None]],
                 names: Sequence[str]):
        self.init_fn = init_fn
        self.names = tuple(names)
        _signal_numbers(self.names)
        # Shared with the workers, forked or spawned.
        self._released = multiprocessing.RawValue('b', 0)

    def __call__(self, worker_id: int) -> None:
        if self.init_fn is not None:
            self.init_fn(worker_id)
        for signum in _signal_numbers(self.names):
            signal.signal(signum, self._handle)

    def release(self) -> None:
        """From now on a stop signal ends the workers again."""
        self._released.value = 1

    def _handle(self, signum: int, frame) -> None:
        if self._released.value:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


def _signal_numbers(names: Sequence[str]) -> list:
    unknown = [name for name in names if not hasattr(signal, name)]
    if unknown:
        raise ValueError(f'Unknown signal names {unknown}; use names of the '
                         f'signal module such as "SIGTERM".')
    return [getattr(signal, name) for name in names]
