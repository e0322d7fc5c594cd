"""What both benchmarks share: isolated cases in alternating order, the
machine and its convolution throughput, FLOP counts, the table."""
import argparse
import multiprocessing
import os
import os.path as osp
import signal
import statistics
import sys
import time
from queue import Empty
from typing import Callable, Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The reference's networks in plain PyTorch (tests/reference_cyclegan.py).
sys.path.insert(0, osp.join(REPO, 'tests'))

#: The generator's dominant convolution: its residual blocks' 3x3 convs,
#: 256 channels at 64 x 64 for a 256 px image.
LIMIT_CONV = dict(channels=256, size=64, kernel=3)
LAYOUTS = ('contiguous', 'channels_last')


def dtype_of(precision: str):
    """The torch dtype of ``'fp32'``, ``'bf16'`` or ``'fp16'``."""
    import torch
    return dict(
        fp32=torch.float32, bf16=torch.bfloat16,
        fp16=torch.float16)[precision]


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


def random_generator(args: argparse.Namespace):
    """The paper's ResnetGenerator at ``args``' width and depth, seeded and
    initialised, in eval mode: the benchmarks time shapes, not weights."""
    import torch

    from cyclegan_plugin.registry import MODELS
    torch.manual_seed(0)
    generator = MODELS.build(
        dict(
            type='ResnetGenerator',
            base_channels=args.base_channels,
            num_blocks=args.num_blocks))
    generator.init_weights()
    return generator.eval()


def add_rounds_argument(parser: argparse.ArgumentParser) -> None:
    """``--rounds`` of :func:`alternating_rounds`."""
    parser.add_argument(
        '--rounds',
        type=int,
        default=2,
        help='runs of every case; every second one in reverse order')


def alternating_rounds(cases: Sequence, rounds: int) -> List[list]:
    """The order of the cases in each round: as given, then reversed, and
    so on (A B C, C B A, A B C ...), so that over an even number of rounds
    every case has the same mean position; the first case of a run, which
    an order effect can penalise, is not always the same one."""
    return [list(cases) if r % 2 == 0 else list(cases)[::-1]
            for r in range(rounds)]


def median_over_rounds(values: Sequence[Optional[float]]) -> Optional[float]:
    """The median of the rounds that finished; ``None`` if none did."""
    done = [v for v in values if v is not None]
    return statistics.median(done) if done else None


def set_threads(threads: Optional[int]) -> None:
    """``torch.set_num_threads`` in a case's process, when given."""
    if threads:
        import torch
        torch.set_num_threads(threads)


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of ``fn()``: convolutions and matrix
    products, forward and backward, as ``torch.utils.flop_counter`` counts
    them (one multiply-add is 2); elementwise work is not counted."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def seconds_per_call(fn: Callable[[], object], device: str,
                     min_seconds: float = 0.5, min_calls: int = 3) -> float:
    """Median time of ``fn()`` after one untimed call, over at least
    ``min_calls`` calls and ``min_seconds`` seconds."""
    import torch

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    fn()
    sync()
    times: List[float] = []
    while len(times) < min_calls or sum(times) < min_seconds:
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_conv_limit(device: str, threads: Optional[int], batch: int,
                       precisions: Sequence[str], queue) -> None:
    """GFLOP/s of :data:`LIMIT_CONV` (zero padding, no bias) in each
    precision and layout, forward and forward + backward (input and weight
    gradients: 3x the forward's FLOPs). A case of its own: run it with
    :func:`run_isolated`.

    Puts ``{(precision, layout, 'forward' | 'training'): GFLOP/s}``.
    """
    import torch
    from torch import nn
    set_threads(threads)
    channels, size, kernel = (LIMIT_CONV[k]
                              for k in ('channels', 'size', 'kernel'))
    flops = 2 * batch * channels**2 * kernel**2 * size**2
    results: Dict[tuple, float] = {}
    for precision in precisions:
        dtype = dtype_of(precision)
        for layout in LAYOUTS:
            memory_format = (torch.channels_last if layout == 'channels_last'
                             else torch.contiguous_format)
            conv = nn.Conv2d(
                channels, channels, kernel, padding=kernel // 2,
                bias=False).to(device, dtype, memory_format=memory_format)
            x = torch.randn(
                batch, channels, size, size, device=device,
                dtype=dtype).contiguous(memory_format=memory_format)
            with torch.no_grad():
                forward = seconds_per_call(lambda: conv(x), device)
            x.requires_grad_(True)
            grad = torch.randn_like(x)

            def train():
                x.grad = None
                conv.weight.grad = None
                conv(x).backward(grad)

            training = seconds_per_call(train, device)
            results[precision, layout, 'forward'] = flops / forward / 1e9
            results[precision, layout, 'training'] = (
                3 * flops / training / 1e9)
    queue.put(results)


def limits_over_rounds(runs: Sequence[dict]) -> Dict[tuple, float]:
    """The median over rounds of each :func:`measure_conv_limit` figure."""
    return {
        key: median_over_rounds([run.get(key) for run in runs])
        for key in {k for run in runs for k in run}
    }


def limit_table(limits: Dict[tuple, Optional[float]], batch: int,
                precisions: Sequence[str]) -> List[str]:
    """Markdown lines of the conv throughputs, best layout in bold."""
    lines = [
        f'Limit: 3x3 conv, {LIMIT_CONV["channels"]} -> '
        f'{LIMIT_CONV["channels"]} channels at {LIMIT_CONV["size"]} x '
        f'{LIMIT_CONV["size"]}, batch {batch}, GFLOP/s (median over '
        f'rounds); a row\'s "of limit" divides by the best forward figure '
        f'of its precision.', '',
        markdown_row(['pass'] + [f'{p} {layout}' for p in precisions
                                 for layout in LAYOUTS]),
        '|---|' + '---:|' * (len(precisions) * len(LAYOUTS))
    ]
    for kind, label in (('forward', 'forward'),
                        ('training', 'forward + backward')):
        lines.append(
            markdown_row([label] + [
                fmt(limits.get((p, layout, kind)), '.1f')
                for p in precisions for layout in LAYOUTS
            ]))
    return lines


def best_forward(limits: Dict[tuple, Optional[float]],
                 precision: str) -> Optional[float]:
    """The limit of a precision: its best forward layout."""
    found = [
        limits.get((precision, layout, 'forward')) for layout in LAYOUTS
    ]
    found = [value for value in found if value]
    return max(found) if found else None


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
