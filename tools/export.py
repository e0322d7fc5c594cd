"""Export one generator of a trained CycleGAN to ONNX or TorchScript.

``python tools/export.py CONFIG CHECKPOINT --direction a2b --format onnx``

The exported model maps input ``image``, float32 (N, 3, H, W) RGB in
[-1, 1] (``x / 127.5 - 1``), to output ``translation`` of the same shape in
[-1, 1]; N, H and W are dynamic, H and W any size of at least 5 px (padded
by reflection inside and cropped back, as translate.py does). The file
states this contract in its metadata. After exporting, the file's contract
is checked and it is run on random inputs, odd sizes included, and compared
with PyTorch (ONNX needs the optional ``onnxruntime`` for that); a larger
difference than ``--atol`` exits with an error.
"""
import argparse
from typing import List, Optional

from cyclegan_plugin.apis import (ExportContractError, check_export,
                                  export_generator, load_generator)
from cyclegan_plugin.cli import check_writable, exit_on_user_error

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
    # Problems a user can fix end with one line naming the fix.
    with exit_on_user_error('export.py', FileNotFoundError):
        check_writable(out_file, 'output file', '--out', is_folder=False)
        generator = load_generator(args.config, args.checkpoint,
                                   args.direction)
    export_generator(generator, out_file, args.format, args.size,
                     args.direction)
    print(f'Exported the {args.direction} generator to {out_file}.')
    try:
        with exit_on_user_error('export.py', ExportContractError):
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
