"""Export one generator of a trained CycleGAN to ONNX or TorchScript.

``python tools/export.py CONFIG CHECKPOINT --direction a2b --format onnx``

The exported model maps float32 (N, 3, H, W) RGB in [-1, 1]
(``x / 127.5 - 1``) to the translation in [-1, 1]; N, H and W are dynamic,
H and W multiples of 4. After exporting, the file is run on random inputs
and compared with PyTorch (ONNX needs the optional ``onnxruntime`` for
that); a larger difference than ``--atol`` exits with an error.
"""
import argparse
from typing import List, Optional

from cyclegan_plugin.apis import check_export, export_generator, load_generator
from cyclegan_plugin.engine import CheckpointError

EXTENSIONS = {'onnx': '.onnx', 'torchscript': '.pt'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a CycleGAN generator and check it.')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--direction',
        choices=['a2b', 'b2a'],
        required=True,
        help='a2b exports G_A (A -> B), b2a exports G_B (B -> A)')
    parser.add_argument('--format', choices=sorted(EXTENSIONS), required=True)
    parser.add_argument(
        '--out',
        help='output file (default: generator_<direction>.onnx or .pt)')
    parser.add_argument(
        '--size',
        type=int,
        default=256,
        help='side of the example input used for tracing and the check')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest allowed difference from PyTorch')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    out_file = args.out or (
        f'generator_{args.direction}{EXTENSIONS[args.format]}')
    try:
        generator = load_generator(args.config, args.checkpoint,
                                   args.direction)
    except (CheckpointError, FileNotFoundError) as err:
        raise SystemExit(f'export.py: error: {err}') from None
    export_generator(generator, out_file, args.format, args.size)
    print(f'Exported the {args.direction} generator to {out_file}.')
    try:
        error = check_export(generator, out_file, args.format, args.size)
    except ImportError as err:
        print(f'Not checked against PyTorch: {err}. Install onnxruntime to '
              f'check ONNX exports.')
        return
    if error > args.atol:
        raise SystemExit(
            f'export.py: error: {out_file} differs from PyTorch by up to '
            f'{error:.3g} (--atol {args.atol:g}); do not use it.')
    print(f'Checked against PyTorch: max abs error {error:.3g} '
          f'(<= {args.atol:g}).')


if __name__ == '__main__':
    main()
