"""What both benchmarks share: isolated cases, the machine, the table."""
import argparse
import multiprocessing
import os
import signal
import statistics
import time
from queue import Empty
from typing import Callable, List, Optional, Sequence


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """Options both benchmarks share: network size, threads, time limit."""
    parser.add_argument(
        '--base-channels',
        type=int,
        default=64,
        help='64 in the paper; smaller for a quick run')
    parser.add_argument('--num-blocks', type=int, default=9)
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument(
        '--timeout',
        type=float,
        default=3600,
        help='seconds one case (one process) may take')


def run_isolated(target: Callable, args: tuple,
                 timeout: float) -> Optional[dict]:
    """Runs ``target(*args, queue)`` in a fresh process and returns what it
    put in the queue; ``None`` if it ran past ``timeout`` seconds.

    A fresh process per case keeps caches, thread pools, compiled kernels
    and the peak memory of one case out of the next. The result is taken
    as soon as it is there: a process that then hangs on exit (seen with
    persistent dataloader workers) is killed.
    """
    ctx = multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    deadline = time.monotonic() + timeout
    result = None
    while result is None and time.monotonic() < deadline:
        try:
            result = queue.get(timeout=1)
        except Empty:
            if not proc.is_alive():
                break
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if result is None and proc.exitcode not in (0, -signal.SIGKILL):
        raise RuntimeError(f'{target.__name__}{args[1:]} failed with exit '
                           f'code {proc.exitcode}; its traceback is above.')
    return result


def machine(device: str, threads: Optional[int]) -> str:
    """One line naming the hardware and software that ran the benchmark."""
    import torch

    from cyclegan_plugin.engine.amp import cpu_has_fast_bf16
    if device == 'cuda':
        return (f'{torch.cuda.get_device_name()}, torch {torch.__version__}'
                f', CUDA {torch.version.cuda}')
    model = 'unknown CPU'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    return (f'{model}, {os.cpu_count()} logical cores, '
            f'{threads or torch.get_num_threads()} torch threads, '
            f'{torch.backends.cpu.get_cpu_capability()}, native bf16 '
            f'kernels: {cpu_has_fast_bf16()}, torch {torch.__version__}')


def fmt(value: Optional[float], spec: str) -> str:
    """``value`` formatted, or '-' when it was not measured."""
    return '-' if value is None else format(value, spec)


def markdown_row(cells: Sequence[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


class IterationClock:
    """Start times of training iterations (plus the end of the last one).

    Args:
        device: ``'cuda'`` waits for the GPU before each reading.
    """

    def __init__(self, device: str = 'cpu'):
        self.device = device
        self.marks: List[float] = []

    def mark(self) -> None:
        if self.device == 'cuda':
            import torch
            torch.cuda.synchronize()
        self.marks.append(time.perf_counter())

    def median(self, skip: int) -> float:
        """Median iteration time after the first ``skip`` iterations."""
        gaps = [b - a for a, b in zip(self.marks, self.marks[1:])]
        return statistics.median(gaps[skip:])

    def hook(self):
        """An mmengine hook marking every iteration of ``runner.train()``:
        from one iteration's start to the next, so data loading, hooks
        and the step all count."""
        from mmengine.hooks import Hook
        clock = self

        class MarkIterations(Hook):
            priority = 'HIGHEST'

            def before_train_iter(self, runner, batch_idx, data_batch=None):
                clock.mark()

            def after_train(self, runner):
                clock.mark()

        return MarkIterations()
