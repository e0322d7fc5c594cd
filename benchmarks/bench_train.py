"""Times CycleGAN's training step through the framework and in plain PyTorch.

``python benchmarks/bench_train.py --sizes 256 --batch-sizes 1``

For every resolution, batch size and mode the step runs twice, each time
in a fresh process. Modes: ``fp32``; ``bf16`` and ``fp16`` (autocast, as
``tools/train.py --amp``; fp16 is meant for CUDA); ``compile``: fp32 with
the four networks compiled by inductor (``CompileNetworksHook``);
``channels_last``: fp32 with channels-last networks, a layout the package
does not use (it measured slower than fp32 for the training step on an
AVX2 CPU), kept to re-check that on other hardware. The two runs:

* framework: ``ExactResumeRunner.train()`` on the repository's paper config
  (ResNet-9 generators, 70x70 PatchGANs, LSGAN, lambda 10, identity 5,
  buffer 50, Adam), with its default hooks, logger and guard, timed from
  one iteration's start to the next (data, hooks and step);
* plain: the same step hand-written with ``torch.optim.Adam``,
  ``torch.autocast`` and a list as history buffer, on the same networks
  and the same in-memory batches.

Each process runs ``--warmup`` untimed iterations, then ``--steps`` timed
ones, and reports the median and its peak memory: CUDA's peak allocation,
or on CPU the peak resident set size above the idle process. The table
gives the framework's overhead (framework / plain) and every mode's speed-up
over fp32. A case that runs past ``--timeout`` seconds is shown as such.
"""
import argparse
import copy
import os.path as osp
import resource
import sys
import tempfile
from typing import Dict, List, Optional

from _common import (IterationClock, add_network_arguments, fmt, machine,
                     markdown_row, run_isolated)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASES = ('models/cyclegan_resnet9.py', 'schedules/cyclegan_200e.py',
         'default_runtime.py')
MODES = ('fp32', 'bf16', 'fp16', 'compile', 'channels_last')
NUM_BATCHES = 4  # distinct in-memory batches, used in turn


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time the CycleGAN training step.')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument(
        '--modes', nargs='+', choices=MODES, default=['fp32', 'bf16'])
    parser.add_argument(
        '--sizes', nargs='+', type=int, default=[128, 256, 512])
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 4])
    parser.add_argument('--steps', type=int, default=10, help='timed steps')
    parser.add_argument(
        '--warmup',
        type=int,
        default=3,
        help='untimed steps first (compile happens here)')
    parser.add_argument(
        '--impls',
        nargs='+',
        choices=['framework', 'plain'],
        default=['framework', 'plain'])
    add_network_arguments(parser)
    return parser.parse_args()


def network_cfgs(args) -> dict:
    return dict(
        generator=dict(
            type='ResnetGenerator',
            base_channels=args.base_channels,
            num_blocks=args.num_blocks),
        discriminator=dict(
            type='PatchDiscriminator', base_channels=args.base_channels))


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


def run_framework(args, case: dict, clock: IterationClock) -> None:
    """``ExactResumeRunner.train()`` with a hook marking each iteration."""
    import torch
    from mmengine.config import Config
    from torch.utils.data import Dataset

    from cyclegan_plugin.engine import ExactResumeRunner, enable_amp
    from cyclegan_plugin.registry import DATASETS

    class BenchBatches(Dataset):
        # Pre-made images, so both implementations do the same work.
        def __init__(self, size: int, batch: int):
            self.items = [
                dict(inputs=dict(img_a=b['img_a'][i], img_b=b['img_b'][i]))
                for b in random_batches(size, batch) for i in range(batch)
            ]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, index):
            return self.items[index]

    DATASETS.register_module(module=BenchBatches, force=True)
    with tempfile.TemporaryDirectory() as work_dir:
        leaf = osp.join(work_dir, 'bench.py')
        bases = [osp.join(REPO, 'configs', '_base_', b) for b in BASES]
        with open(leaf, 'w') as f:
            f.write(f'_base_ = {bases!r}\n')
        cfg = Config.fromfile(leaf)
        cfg.model.update(network_cfgs(args))
        cfg.work_dir = work_dir
        cfg.log_level = 'WARNING'
        cfg.train_dataloader = dict(
            dataset=dict(
                type='BenchBatches', size=case['size'], batch=case['batch']),
            batch_size=case['batch'],
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False))
        cfg.train_cfg = dict(
            type='ExactResumeTrainLoop', max_iters=args.warmup + args.steps)
        cfg.val_cfg = cfg.test_cfg = None
        cfg.default_hooks.checkpoint.update(interval=10**9, save_last=False)
        if case['mode'] in ('bf16', 'fp16'):
            cfg.optim_wrapper = enable_amp(cfg.optim_wrapper, case['mode'])
        cfg.custom_hooks = []
        if case['mode'] == 'compile':
            cfg.custom_hooks.append(dict(type='CompileNetworksHook'))
        runner = ExactResumeRunner.from_cfg(cfg)
        runner.register_hook(clock.hook())
        if case['mode'] == 'channels_last':
            runner.model.to(memory_format=torch.channels_last)
        runner.train()


def run_plain(args, case: dict, clock: IterationClock) -> None:
    """The same step in plain PyTorch: no runner, hooks or wrappers."""
    import torch
    from torch.nn import functional as F

    from cyclegan_plugin.registry import MODELS

    device = torch.device(args.device)
    # As the framework's env_cfg does.
    torch.backends.cudnn.benchmark = True
    cfgs = network_cfgs(args)
    nets = {}
    for name, kind in (('g_a', 'generator'), ('g_b', 'generator'),
                       ('d_a', 'discriminator'), ('d_b', 'discriminator')):
        net = MODELS.build(copy.deepcopy(cfgs[kind]))
        net.init_weights()
        nets[name] = net.to(device)
        if case['mode'] == 'channels_last':
            net.to(memory_format=torch.channels_last)
        if case['mode'] == 'compile':
            net.compile()
    g_params = [*nets['g_a'].parameters(), *nets['g_b'].parameters()]
    d_params = [*nets['d_a'].parameters(), *nets['d_b'].parameters()]
    g_opt = torch.optim.Adam(g_params, lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d_params, lr=2e-4, betas=(0.5, 0.999))
    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16).get(case['mode'])
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


def run_case(args, case: dict, queue) -> None:
    """One implementation, one mode, one shape, in its own process."""
    import warnings

    import torch
    from mmengine.logging import MMLogger
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings('ignore')
    # Quiet the weight-initialisation report of the plain networks.
    MMLogger.get_instance('bench_train', log_level='WARNING')
    idle = peak_rss_mib()
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    clock = IterationClock(args.device)
    run = run_framework if case['impl'] == 'framework' else run_plain
    run(args, case, clock)
    if args.device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = peak_rss_mib() - idle
    queue.put(dict(seconds=clock.median(args.warmup), peak_mib=peak))


def main() -> None:
    args = parse_args()
    if 'fp16' in args.modes and args.device == 'cpu':
        print(
            'note: fp16 autocast on CPU runs reference kernels; it is '
            'measured anyway.',
            file=sys.stderr)
    results: Dict[tuple, Optional[dict]] = {}
    for size in args.sizes:
        for batch in args.batch_sizes:
            for mode in args.modes:
                for impl in args.impls:
                    case = dict(size=size, batch=batch, mode=mode, impl=impl)
                    print(f'running {case} ...', file=sys.stderr, flush=True)
                    results[size, batch, mode,
                            impl] = run_isolated(run_case, (args, case),
                                                 args.timeout)
    print(f'\nTraining step, {args.device}: '
          f'{machine(args.device, args.threads)}; paper networks '
          f'(base {args.base_channels}, {args.num_blocks} blocks); median of '
          f'{args.steps} steps after {args.warmup} warm-up.\n')
    print('| size | batch | mode | framework s/step | plain s/step | '
          'overhead | speed-up vs fp32 | framework peak MiB | '
          'plain peak MiB |')
    print('|---:|---:|---|---:|---:|---:|---:|---:|---:|')
    for size in args.sizes:
        for batch in args.batch_sizes:
            for mode in args.modes:
                print(table_row(args, results, size, batch, mode))


def table_row(args, results: dict, size: int, batch: int, mode: str) -> str:
    """One Markdown row; '-' where a case was not run or timed out."""
    runs = {
        impl: results.get((size, batch, mode, impl)) or {}
        for impl in ('framework', 'plain')
    }
    fw = runs['framework'].get('seconds')
    plain = runs['plain'].get('seconds')
    base = (results.get((size, batch, 'fp32', 'framework'))
            or {}).get('seconds')
    timed_out = [
        impl for impl in args.impls if results[size, batch, mode, impl] is None
    ]
    note = f' (timeout: {", ".join(timed_out)})' if timed_out else ''
    cells = [
        str(size),
        str(batch), mode + note,
        fmt(fw, '.3f'),
        fmt(plain, '.3f'),
        fmt(fw / plain if fw and plain else None, '.3f'),
        fmt(base / fw if base and fw else None, '.2f'),
        fmt(runs['framework'].get('peak_mib'), '.0f'),
        fmt(runs['plain'].get('peak_mib'), '.0f')
    ]
    return markdown_row(cells)


if __name__ == '__main__':
    main()
