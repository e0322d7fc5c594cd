"""Times the training steps of CycleGAN, CUT and FastCUT against the
reference's CycleGAN step and the machine's convolution throughput.

``python benchmarks/bench_train.py`` (256 px, batch 1, every row below,
2 rounds)

Rows, each case in a fresh process:

* framework: ``ExactResumeRunner.train()`` on the repository's paper config
  of the model (``configs/cyclegan_selfie2anime.py``, ``cut_...``,
  ``fastcut_...``) with its default hooks, logger and guard; in-memory
  batches instead of the dataset, no validation, checkpoints or custom
  hooks. Timed from one iteration's start to the next (data, hooks and
  step). One row per ``--modes`` x ``--layouts``, and for CycleGAN per
  ``--batched`` (the identity passes batched with the first ones, 4
  generator calls; or the reference's 6).
* plain: CycleGAN's step hand-written in plain PyTorch (``torch.optim.Adam``,
  ``torch.autocast``, a list as history buffer) on the reference's networks
  (``tests/reference_cyclegan.py``), contiguous: the reference's speed, and
  the yardstick of the framework's overhead.
* limit: a 3x3 convolution of the generator's dominant shape in every
  precision used and both layouts (:func:`_common.measure_conv_limit`).

Modes: ``fp32``; ``bf16`` and ``fp16`` autocast (as ``tools/train.py
--amp``; fp16 is meant for CUDA); ``compile``: fp32 with the networks
compiled by inductor (``CompileNetworksHook``). Layouts: ``contiguous``,
``channels_last`` (the config's ``channels_last=True``).

Every case runs ``--rounds`` times, in the given order in even rounds and
reversed in odd ones, so that no case always runs first. A round gives the
median of ``--steps`` timed iterations after ``--warmup`` untimed ones; a
row shows the median over rounds and each round's value.

Columns: ``GFLOP/step``, counted by ``torch.utils.flop_counter`` on one fp32
framework step of the model (convolutions and matrix products, forward and
backward; the same for every mode, layout and batching); ``GFLOP/s`` that
over s/step; ``of limit`` that over the best forward conv throughput of the
row's precision; ``÷ plain`` the row's s/step over the plain CycleGAN
step's in the same mode; ``peak MiB``: CUDA's peak allocation, or on CPU
the case process's peak resident set size (``getrusage`` ``ru_maxrss``,
the kernel's high-water mark, which counts all of torch's CPU memory;
``tracemalloc`` would miss it) above its size before the networks were
built, the largest over rounds. A case that runs past ``--timeout`` seconds
shows as such.
"""
import argparse
import os.path as osp
import resource
import sys
import tempfile
from typing import Dict, List, Optional

from _common import (REPO, IterationClock, add_network_arguments,
                     add_rounds_argument, alternating_rounds, best_forward,
                     dtype_of, fmt, limit_table, limits_over_rounds, machine,
                     markdown_row, measure_conv_limit, median_over_rounds,
                     run_isolated, set_threads)

CONFIGS = dict(
    cyclegan='cyclegan_selfie2anime.py',
    cut='cut_selfie2anime.py',
    fastcut='fastcut_selfie2anime.py')
MODES = ('fp32', 'bf16', 'fp16', 'compile')
NUM_BATCHES = 4  # distinct in-memory batches, used in turn
CASE_KEYS = ('size', 'batch', 'model', 'impl', 'mode', 'layout', 'batched')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time the training steps of CycleGAN, CUT and FastCUT.')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument(
        '--models', nargs='+', choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument(
        '--impls',
        nargs='+',
        choices=['framework', 'plain'],
        default=['framework', 'plain'],
        help='plain: CycleGAN only')
    parser.add_argument(
        '--modes', nargs='+', choices=MODES, default=['fp32', 'bf16'])
    parser.add_argument(
        '--layouts',
        nargs='+',
        choices=['contiguous', 'channels_last'],
        default=['contiguous', 'channels_last'],
        help='of the framework rows; plain is contiguous')
    parser.add_argument(
        '--batched',
        nargs='+',
        choices=['on', 'off'],
        default=['on', 'off'],
        help='batched generator calls of the CycleGAN framework rows')
    parser.add_argument('--sizes', nargs='+', type=int, default=[256])
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1])
    parser.add_argument('--steps', type=int, default=4, help='timed steps')
    parser.add_argument(
        '--warmup',
        type=int,
        default=1,
        help='untimed steps first (compile happens here)')
    add_network_arguments(parser)
    add_rounds_argument(parser)
    return parser.parse_args()


def cases(args) -> List[dict]:
    """Every timed case, in the order of the first round."""
    found = []
    for size in args.sizes:
        for batch in args.batch_sizes:
            for model in args.models:
                for mode in args.modes:
                    if model == 'cyclegan' and 'plain' in args.impls:
                        found.append(
                            dict(size=size, batch=batch, model=model,
                                 impl='plain', mode=mode,
                                 layout='contiguous', batched='-'))
                    if 'framework' not in args.impls:
                        continue
                    for layout in args.layouts:
                        for batched in (args.batched
                                        if model == 'cyclegan' else ['-']):
                            found.append(
                                dict(size=size, batch=batch, model=model,
                                     impl='framework', mode=mode,
                                     layout=layout, batched=batched))
    return found


def random_batches(size: int, batch_size: int) -> List[dict]:
    import torch
    gen = torch.Generator().manual_seed(0)
    return [{
        key:
        torch.randint(
            0,
            256, (batch_size, 3, size, size),
            generator=gen,
            dtype=torch.uint8)
        for key in ('img_a', 'img_b')
    } for _ in range(NUM_BATCHES)]


def framework_cfg(args, case: dict, work_dir: str, iterations: int):
    """The model's paper config, set up for benchmarking ``case``."""
    from mmengine.config import Config

    from cyclegan_plugin.engine import enable_amp
    cfg = Config.fromfile(osp.join(REPO, 'configs', CONFIGS[case['model']]))
    cfg.model.generator.update(
        base_channels=args.base_channels, num_blocks=args.num_blocks)
    cfg.model.discriminator.update(base_channels=args.base_channels)
    if case['batched'] != '-':
        cfg.model.batch_generator_calls = case['batched'] == 'on'
    cfg.channels_last = case['layout'] == 'channels_last'
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.train_dataloader = dict(
        dataset=dict(
            type='BenchBatches', size=case['size'], batch=case['batch']),
        batch_size=case['batch'],
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.train_cfg = dict(type='ExactResumeTrainLoop', max_iters=iterations)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint.update(interval=10**9, save_last=False)
    if case['mode'] in ('bf16', 'fp16'):
        cfg.optim_wrapper = enable_amp(cfg.optim_wrapper, case['mode'])
    cfg.custom_hooks = []
    if case['mode'] == 'compile':
        cfg.custom_hooks.append(dict(type='CompileNetworksHook'))
    return cfg


def run_framework(args, case: dict, clock: IterationClock,
                  iterations: int, flops: Optional[list] = None) -> None:
    """``ExactResumeRunner.train()`` with a hook marking each iteration;
    with ``flops``, appends the FLOP count of the first iteration."""
    from mmengine.hooks import Hook
    from torch.utils.data import Dataset
    from torch.utils.flop_counter import FlopCounterMode

    from cyclegan_plugin.engine import ExactResumeRunner
    from cyclegan_plugin.registry import DATASETS

    class BenchBatches(Dataset):
        # Pre-made images, so every case does the same work.
        def __init__(self, size: int, batch: int):
            self.items = [
                dict(inputs=dict(img_a=b['img_a'][i], img_b=b['img_b'][i]))
                for b in random_batches(size, batch) for i in range(batch)
            ]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, index):
            return self.items[index]

    class CountFirstIteration(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 0:
                self.counter = FlopCounterMode(display=False).__enter__()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter == 0:
                self.counter.__exit__(None, None, None)
                flops.append(self.counter.get_total_flops())

    DATASETS.register_module(module=BenchBatches, force=True)
    with tempfile.TemporaryDirectory() as work_dir:
        runner = ExactResumeRunner.from_cfg(
            framework_cfg(args, case, work_dir, iterations))
        runner.register_hook(clock.hook())
        if flops is not None:
            runner.register_hook(CountFirstIteration())
        runner.train()


def run_plain(args, case: dict, clock: IterationClock) -> None:
    """The reference's step in plain PyTorch: no runner, hooks or
    wrappers."""
    import torch
    from reference_cyclegan import reference_discriminator, reference_generator
    from torch import nn
    from torch.nn import functional as F

    device = torch.device(args.device)
    # As the framework's env_cfg does.
    torch.backends.cudnn.benchmark = True
    nets = {}
    for name in ('g_a', 'g_b', 'd_a', 'd_b'):
        net = (reference_generator(args.base_channels, args.num_blocks)
               if name.startswith('g') else reference_discriminator(
                   args.base_channels, 3))
        for module in net.modules():  # the reference's N(0, 0.02) init
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)
        nets[name] = net.to(device)
        if case['mode'] == 'compile':
            net.compile()
    g_params = [*nets['g_a'].parameters(), *nets['g_b'].parameters()]
    d_params = [*nets['d_a'].parameters(), *nets['d_b'].parameters()]
    g_opt = torch.optim.Adam(g_params, lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d_params, lr=2e-4, betas=(0.5, 0.999))
    dtype = (dtype_of(case['mode'])
             if case['mode'] in ('bf16', 'fp16') else None)
    scalers = [
        torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
        for _ in range(2)
    ]
    pools = dict(a=[], b=[])

    def autocast():
        return torch.autocast(
            device.type,
            dtype=dtype or torch.float32,
            enabled=dtype is not None)

    def query(pool: list, images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images.detach():
            if len(pool) < 50:
                pool.append(image)
                out.append(image)
            elif torch.rand(()) < 0.5:
                index = int(torch.randint(50, ()))
                out.append(pool[index])
                pool[index] = image
            else:
                out.append(image)
        return torch.stack(out)

    def lsgan(pred: torch.Tensor, real: bool) -> torch.Tensor:
        pred = pred.float()
        return F.mse_loss(pred, torch.full_like(pred, float(real)))

    def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(x.float(), y)

    def step(batch: dict) -> List[float]:
        a = batch['img_a'].to(device).float() / 127.5 - 1
        b = batch['img_b'].to(device).float() / 127.5 - 1
        for p in d_params:
            p.requires_grad_(False)
        with autocast():
            fake_b = nets['g_a'](a)
            rec_a = nets['g_b'](fake_b)
            fake_a = nets['g_b'](b)
            rec_b = nets['g_a'](fake_a)
            g_losses = [
                lsgan(nets['d_a'](fake_b), True),
                lsgan(nets['d_b'](fake_a),
                      True), 10 * l1(rec_a, a), 10 * l1(rec_b, b),
                5 * l1(nets['g_a'](b), b), 5 * l1(nets['g_b'](a), a)
            ]
        scalers[0].scale(sum(g_losses)).backward()
        scalers[0].step(g_opt)
        scalers[0].update()
        g_opt.zero_grad(set_to_none=True)
        for p in d_params:
            p.requires_grad_(True)
        with autocast():
            d_losses = [
                0.5 * (lsgan(nets['d_a'](b), True) +
                       lsgan(nets['d_a'](query(pools['b'], fake_b)), False)),
                0.5 * (lsgan(nets['d_b'](a), True) +
                       lsgan(nets['d_b'](query(pools['a'], fake_a)), False))
            ]
        scalers[1].scale(sum(d_losses)).backward()
        scalers[1].step(d_opt)
        scalers[1].update()
        d_opt.zero_grad(set_to_none=True)
        # Logged values, one device-to-host copy as in the framework.
        return torch.stack([x.detach() for x in g_losses + d_losses]).tolist()

    batches = random_batches(case['size'], case['batch'])
    for i in range(args.warmup + args.steps):
        clock.mark()
        step(batches[i % NUM_BATCHES])
    clock.mark()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quiet_process(args) -> None:
    """Threads, no warnings, no weight-initialisation report."""
    import warnings

    from mmengine.logging import MMLogger
    set_threads(args.threads)
    warnings.filterwarnings('ignore')
    MMLogger.get_instance('bench_train', log_level='WARNING')


def run_case(args, case: dict, queue) -> None:
    """One timed case in its own process."""
    import torch
    quiet_process(args)
    idle = peak_rss_mib()
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    clock = IterationClock(args.device)
    if case['impl'] == 'framework':
        run_framework(args, case, clock, args.warmup + args.steps)
    else:
        run_plain(args, case, clock)
    if args.device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = peak_rss_mib() - idle
    queue.put(dict(seconds=clock.median(args.warmup), peak_mib=peak))


def count_step_flops(args, case: dict, queue) -> None:
    """FLOPs of one fp32 framework step of ``case``'s model and shape."""
    quiet_process(args)
    flops: List[int] = []
    run_framework(args, case, IterationClock(args.device), 1, flops)
    queue.put(flops[0])


def main() -> None:
    args = parse_args()
    if 'fp16' in args.modes and args.device == 'cpu':
        print(
            'note: fp16 autocast on CPU runs reference kernels; it is '
            'measured anyway.',
            file=sys.stderr)
    todo = cases(args)
    precisions = sorted(
        {'fp32'} | {m
                    for m in args.modes if m in ('bf16', 'fp16')},
        key=['fp32', 'bf16', 'fp16'].index)
    flops: Dict[tuple, Optional[int]] = {}
    for size in args.sizes:
        for batch in args.batch_sizes:
            for model in args.models:
                case = dict(size=size, batch=batch, model=model,
                            impl='framework', mode='fp32',
                            layout='contiguous', batched='-')
                print(f'counting FLOPs of {model} at {size} px, batch '
                      f'{batch} ...', file=sys.stderr, flush=True)
                flops[size, batch, model] = run_isolated(
                    count_step_flops, (args, case), args.timeout)
    limit_runs: Dict[int, List[dict]] = {b: [] for b in args.batch_sizes}
    timed: Dict[tuple, List[Optional[dict]]] = {
        key_of(case): []
        for case in todo
    }
    order = [('limit', batch) for batch in args.batch_sizes] + todo
    for number, cases_in_round in enumerate(
            alternating_rounds(order, args.rounds)):
        for case in cases_in_round:
            print(f'round {number + 1}/{args.rounds}: {case} ...',
                  file=sys.stderr, flush=True)
            if isinstance(case, tuple):
                batch = case[1]
                limit_runs[batch].append(
                    run_isolated(measure_conv_limit,
                                 (args.device, args.threads, batch,
                                  precisions), args.timeout) or {})
            else:
                timed[key_of(case)].append(
                    run_isolated(run_case, (args, case), args.timeout))
    print(f'\nTraining step, {args.device}: '
          f'{machine(args.device, args.threads)}; paper networks (base '
          f'{args.base_channels}, {args.num_blocks} blocks); median of '
          f'{args.steps} steps after {args.warmup} warm-up, median over '
          f'{args.rounds} rounds in alternating order.\n')
    for batch in args.batch_sizes:
        limits = limits_over_rounds(limit_runs[batch])
        print('\n'.join(limit_table(limits, batch, precisions)) + '\n')
        print(
            '| size | batch | model | impl | mode | layout | batched G | '
            's/step | rounds | GFLOP/step | GFLOP/s | of limit | ÷ plain | '
            'peak MiB |')
        print('|---:|---:|---|---|---|---|---|---:|---|---:|---:|---:|---:|'
              '---:|')
        for case in todo:
            if case['batch'] == batch:
                print(table_row(case, timed, flops, limits))


def key_of(case: dict) -> tuple:
    return tuple(case[k] for k in CASE_KEYS)


def table_row(case: dict, timed: dict, flops: dict, limits: dict) -> str:
    """One Markdown row; '-' where a case was not run or timed out."""
    runs = timed[key_of(case)]
    seconds = median_over_rounds([(r or {}).get('seconds') for r in runs])
    plain_key = key_of(
        dict(case, model='cyclegan', impl='plain', layout='contiguous',
             batched='-'))
    plain = median_over_rounds([(r or {}).get('seconds')
                                for r in timed.get(plain_key, [])])
    step_flops = flops.get((case['size'], case['batch'], case['model']))
    rate = step_flops / seconds / 1e9 if step_flops and seconds else None
    precision = case['mode'] if case['mode'] in ('bf16', 'fp16') else 'fp32'
    limit = best_forward(limits, precision)
    peaks = [r['peak_mib'] for r in runs if r]
    timeouts = sum(r is None for r in runs)
    note = f' ({timeouts} timed out)' if timeouts else ''
    return markdown_row([
        str(case['size']),
        str(case['batch']), case['model'], case['impl'], case['mode'] + note,
        case['layout'], case['batched'],
        fmt(seconds, '.3f'), ' / '.join(
            fmt((r or {}).get('seconds'), '.2f') for r in runs),
        fmt(step_flops / 1e9 if step_flops else None, '.4g'),
        fmt(rate, '.1f'),
        fmt(rate / limit if rate and limit else None, '.2f'),
        fmt(seconds / plain if seconds and plain else None, '.3f'),
        fmt(max(peaks) if peaks else None, '.0f')
    ])


if __name__ == '__main__':
    main()
