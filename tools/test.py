"""Test a CycleGAN checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

Computes the config's test metrics and writes, under ``--out`` (default
``<work_dir>/test_results``), every translated test image at its original
size, a real|fake|rec gallery (grid PNGs and ``index.html``) and
``metrics.json``; see :class:`cyclegan_plugin.engine.TranslationWriterHook`.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.runner import Runner

from cyclegan_plugin.engine import (CfgOptionsAction, CheckpointError,
                                    ConfigError, load_config,
                                    shutdown_process_group)
from cyclegan_plugin.registry import RUNNERS

WRITER = 'TranslationWriterHook'


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
    try:
        test(configure(args))
    except (ConfigError, CheckpointError) as err:
        # One line naming the problem and the fix, not a traceback.
        raise SystemExit(f'test.py: error: {err}') from None
    shutdown_process_group()


def test(cfg: Config) -> None:
    """Tests; the runner is released on return, before the process group
    is shut down."""
    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.test()


def configure(args: argparse.Namespace) -> Config:
    """The config of the command line, testing ``args.checkpoint`` and
    writing its outputs with one TranslationWriterHook."""
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint {args.checkpoint!r} does not '
                              f'exist')
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.custom_hooks = [
        hook for hook in cfg.get('custom_hooks', [])
        if hook['type'] not in (WRITER, f'cyclegan_plugin.{WRITER}')
    ] + [dict(type=f'cyclegan_plugin.{WRITER}', out_dir=args.out)]
    return cfg


if __name__ == '__main__':
    main()
