"""Does mixed precision train as well as fp32? Paired PSNR on toy faces.

``python benchmarks/quality_parity.py --iters 3000``

Trains the toy-faces config once per precision, with the same seed, data
order and schedule, then evaluates the paired test set (PSNR/SSIM of the
translations against their ground truth, both directions). Everything but
the optimizer wrappers' precision is identical, so the difference of the
rows is the cost of bf16 (target: within 0.5 dB of fp32). Needs the data:
``python tools/make_toy_faces.py data/toy_faces``.
"""
import argparse
import os.path as osp
import sys
import tempfile
from typing import Dict, Optional

from _common import IterationClock, fmt, machine, markdown_row, run_isolated

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
KEYS = ('psnr_a2b', 'psnr_b2a', 'ssim_a2b', 'ssim_b2a')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare fp32 and mixed-precision training quality.')
    parser.add_argument(
        '--config', default=osp.join(REPO, 'configs', 'cyclegan_toyfaces.py'))
    parser.add_argument(
        '--precisions',
        nargs='+',
        choices=['fp32', 'bf16', 'fp16'],
        default=['fp32', 'bf16'])
    parser.add_argument('--iters', type=int, default=3000)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='KEY=VALUE overrides for every run, e.g. '
        'model.generator.base_channels=8')
    parser.add_argument('--threads', type=int)
    parser.add_argument(
        '--timeout',
        type=float,
        default=24 * 3600,
        help='seconds one training run may take')
    return parser.parse_args()


def train_and_evaluate(args, precision: str, queue) -> None:
    """One training run in this process; puts the final test metrics."""
    import torch
    from mmengine.config import DictAction

    from cyclegan_plugin.cli import build_runner, load_config
    from cyclegan_plugin.engine import enable_amp
    if args.threads:
        torch.set_num_threads(args.threads)
    options = {}
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        options = parser.parse_args(['--o', *args.cfg_options]).o
    cfg = load_config(args.config, options)
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir = work_dir
        cfg.log_level = 'WARNING'
        cfg.train_cfg = dict(type='ExactResumeTrainLoop', max_iters=args.iters)
        cfg.default_hooks.checkpoint.update(interval=10**9, save_last=False)
        cfg.custom_hooks = []
        if precision != 'fp32':
            cfg.optim_wrapper = enable_amp(cfg.optim_wrapper, precision)
        runner = build_runner(cfg)
        clock = IterationClock()
        runner.register_hook(clock.hook())
        runner.train()
        metrics = runner.val_loop.run()
    # The first iterations start the data workers: left out.
    queue.put(
        dict(
            seconds_per_iter=clock.median(skip=min(5, args.iters - 1)),
            **{key: metrics.get(key)
               for key in KEYS}))


def main() -> None:
    import torch
    args = parse_args()
    results: Dict[str, Optional[dict]] = {}
    for precision in args.precisions:
        print(f'training {precision} ...', file=sys.stderr, flush=True)
        results[precision] = run_isolated(train_and_evaluate,
                                          (args, precision), args.timeout)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    print(f'\nQuality parity on {osp.basename(args.config)}, {args.iters} '
          f'iterations, options {args.cfg_options or "none"}: '
          f'{machine(device, args.threads)}.\n')
    print(markdown_row(['precision', *KEYS, 'Δ psnr_a2b vs fp32', 's/iter']))
    print('|---|' + '---:|' * (len(KEYS) + 2))
    fp32 = (results.get('fp32') or {}).get('psnr_a2b')
    for precision, result in results.items():
        result = result or {}
        psnr = result.get('psnr_a2b')
        print(
            markdown_row([
                precision + ('' if results[precision] else ' (timeout)'),
                *(fmt(result.get(key), '.3f') for key in KEYS),
                fmt(
                    psnr -
                    fp32 if psnr is not None and fp32 is not None else None,
                    '+.3f'),
                fmt(result.get('seconds_per_iter'), '.3f')
            ]))


if __name__ == '__main__':
    main()
