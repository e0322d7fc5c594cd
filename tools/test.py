"""Test a CycleGAN checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

Computes the config's test metrics and writes, under ``--out`` (default
``<work_dir>/test_results``), every translated test image at its original
size, a real|fake|rec gallery (grid PNGs and ``index.html``) and
``metrics.json``; see :class:`cyclegan_plugin.engine.TranslationWriterHook`.
Metrics that cannot be computed here (KID and FID without the Inception
weights) and those named by ``--skip-metrics`` are left out: the rest is
written all the same, ``metrics.json`` says why each is missing and the
reason is printed once, on one line, at the end.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config
from mmengine.dist import is_main_process

from cyclegan_plugin.cli import (CfgOptionsAction, build_runner, check_paths,
                                 check_writable, exit_on_user_error,
                                 leave_out_metrics, load_config,
                                 removing_unused_log_dirs)
from cyclegan_plugin.engine import (check_checkpoint_exists,
                                    shutdown_process_group)
from cyclegan_plugin.hooks import TranslationWriterHook

WRITER = TranslationWriterHook.__name__


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test a CycleGAN model and save its translations.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save logs')
    parser.add_argument(
        '--out',
        help='folder of the translations, gallery and metrics.json '
        '(default: <work_dir>/test_results)')
    parser.add_argument(
        '--skip-metrics',
        nargs='+',
        default=[],
        metavar='METRIC',
        help='metrics of the config to leave out, e.g. kid fid')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, e.g. '
        'test_dataloader.dataset.data_root=data/my_set')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed testing')
    # torchrun passes --local-rank (torch >= 2.0); accept and ignore it, the
    # rank comes from the environment.
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with exit_on_user_error('test.py'):
        cfg, not_computed = configure(args)
        with removing_unused_log_dirs(cfg):
            test(cfg, not_computed)
    if is_main_process():
        report_not_computed(not_computed, args.skip_metrics)
    shutdown_process_group()


def test(cfg: Config, not_computed: Dict[str, str]) -> None:
    """Tests, telling the writer hook which metrics were left out and why;
    the runner is released on return, before the process group is shut
    down."""
    runner = build_runner(cfg, training=False)
    for hook in runner.hooks:
        if isinstance(hook, TranslationWriterHook):
            hook.not_computed = not_computed
    runner.test()


def report_not_computed(not_computed: Dict[str, str],
                        skipped: List[str]) -> None:
    """One line per reason a metric was not computed (KID and FID share
    theirs), leaving out those ``--skip-metrics`` named."""
    skipped = {name.lower() for name in skipped}
    by_reason: Dict[str, List[str]] = {}
    for name, reason in not_computed.items():
        if name.lower() not in skipped:
            by_reason.setdefault(reason, []).append(name)
    for reason, names in by_reason.items():
        print(f'test.py: {", ".join(names)} not computed: {reason}',
              file=sys.stderr)


def configure(args: argparse.Namespace) -> Tuple[Config, Dict[str, str]]:
    """The config of the command line, testing ``args.checkpoint`` and
    writing its outputs with one TranslationWriterHook, and why each
    metric left out of it was left out."""
    check_checkpoint_exists(args.checkpoint)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    check_paths(cfg, ['test_dataloader'])
    if args.out is not None:
        check_writable(args.out, 'output folder', '--out')
    not_computed = leave_out_metrics(cfg, args.skip_metrics)
    cfg.custom_hooks = [
        hook for hook in cfg.get('custom_hooks', [])
        if hook['type'] not in (WRITER, f'cyclegan_plugin.{WRITER}')
    ] + [dict(type=f'cyclegan_plugin.{WRITER}', out_dir=args.out)]
    return cfg, not_computed


if __name__ == '__main__':
    main()
