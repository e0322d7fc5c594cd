"""Translate images with a trained CycleGAN.

``python tools/translate.py CONFIG CHECKPOINT INPUT [--direction a2b]``

INPUT is an image or a folder (searched recursively for image files;
other files are ignored). Each image is translated at its own size
(reflection-padded to a multiple of 4, then cropped back) and written under
``--out`` with its relative path and name, as PNG unless ``--ext`` says
otherwise. Image files that do not decode are skipped with a warning and
listed at the end; the exit status is 1 when nothing was translated.
``--tile 512 --overlap 32`` bounds the memory of large images: they go
through the generator in overlapping tiles, blended without seams
(:mod:`cyclegan_plugin.apis.tiling`).
"""
import argparse
import os.path as osp
import warnings
from typing import List, Optional

from cyclegan_plugin.apis import Translator, translate_files
from cyclegan_plugin.cli import (check_device, check_writable,
                                 exit_on_user_error)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Translate an image or a folder of images.')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='an image file or a folder')
    parser.add_argument(
        '--direction',
        choices=['a2b', 'b2a'],
        default='a2b',
        help='a2b translates domain A into B (G_A), b2a the reverse')
    parser.add_argument(
        '--out',
        help='output folder (default: INPUT without extension + '
        '"_<direction>")')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images translated together (same-sized ones only)')
    parser.add_argument(
        '--ext',
        default='png',
        help='format of the outputs (png, jpg, webp, ...; default png, '
        'which adds no compression loss)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--bf16',
        action='store_true',
        help='bfloat16 autocast (GPUs, CPUs with AVX512-BF16/AMX; elsewhere '
        'fp32 with a warning)')
    parser.add_argument(
        '--channels-last',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='channels-last memory format of the generator (default: on '
        'for --device cpu, where with --winograd it translated fastest)')
    parser.add_argument(
        '--winograd',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='Winograd F(4x4, 3x3) for the 256-channel residual convs in '
        'fp32 on the CPU (same output within ~5e-5; default: on for '
        '--device cpu)')
    parser.add_argument(
        '--tile',
        type=int,
        help='translate large images in tiles of at most TILE x TILE px '
        '(at least 32), which bounds memory; default: whole images')
    parser.add_argument(
        '--overlap',
        type=int,
        default=32,
        help='least overlap of neighbouring tiles in px (0 to TILE / 4), '
        'blended across')
    parser.add_argument(
        '--stat-passes',
        type=int,
        help='passes over the tiles that measure the instance-norm '
        'statistics (default: one per instance-norm layer, which matches '
        'the untiled translation away from seams; fewer are faster)')
    return parser.parse_args(argv)


def _short_warning(message, category, *args, **kwargs) -> str:
    return f'{category.__name__}: {message}\n'


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    warnings.formatwarning = _short_warning
    stem = osp.normpath(args.input)
    if osp.isfile(stem):
        stem = osp.splitext(stem)[0]
    out_dir = args.out or f'{stem}_{args.direction}'
    # Problems a user can fix end with one line naming the fix.
    with exit_on_user_error('translate.py', FileNotFoundError, ValueError):
        check_device(args.device)
        check_writable(out_dir, 'output folder', '--out')
        translator = Translator(
            args.config, args.checkpoint, device=args.device, bf16=args.bf16,
            channels_last=args.channels_last, winograd=args.winograd,
            tile=args.tile,
            overlap=args.overlap, stat_passes=args.stat_passes)
        report = translate_files(translator, args.input, out_dir,
                                 args.direction, args.batch_size,
                                 ext=args.ext)
    print(f'Translated {len(report.written)} image(s) into {out_dir}.')
    if report.skipped:
        print(f'Skipped {len(report.skipped)} unreadable file(s):')
        for error in report.skipped:
            print(f'  {error.path}: {error.reason}')
    if not report.written:
        raise SystemExit('translate.py: error: no image was translated.')


if __name__ == '__main__':
    main()
