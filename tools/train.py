"""Train a CycleGAN from a config: ``python tools/train.py CONFIG``."""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from cyclegan_plugin.cli import (CfgOptionsAction, add_tensorboard,
                                 build_runner, check_paths, exit_on_user_error,
                                 load_config, removing_unused_log_dirs)
from cyclegan_plugin.engine import enable_amp, shutdown_process_group


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a CycleGAN model.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, e.g. '
        'train_dataloader.dataset.data_root=data/my_set')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed training')
    parser.add_argument(
        '--amp',
        nargs='?',
        const='bf16',
        choices=['bf16', 'fp16'],
        help='mixed precision for both optimizers: bf16 (the default; CPUs '
        'with AVX512-BF16/AMX, Ampere+ GPUs) or fp16 with loss scaling')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log losses, metrics and sample grids to TensorBoard, in '
        '<work_dir>/<timestamp>/vis_data/')
    # torchrun passes --local-rank (torch >= 2.0); accept and ignore it, the
    # rank comes from the environment.
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with exit_on_user_error('train.py'):
        cfg = configure(args)
        with removing_unused_log_dirs(cfg):
            train(cfg)
    shutdown_process_group()


def train(cfg: Config) -> None:
    """Trains; the runner, and with it every DDP wrapper, is released on
    return, before the process group is shut down."""
    build_runner(cfg).train()


def configure(args: argparse.Namespace) -> Config:
    """The config of the command line, with its paths checked."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.amp is not None:
        cfg.optim_wrapper = enable_amp(cfg.optim_wrapper, args.amp)
    if args.tensorboard:
        add_tensorboard(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    check_paths(cfg)
    return cfg


if __name__ == '__main__':
    main()
