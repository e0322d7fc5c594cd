"""Convert published CycleGAN weights into a checkpoint of this package.

``python tools/convert_checkpoint.py CONFIG SOURCE --out OUT.pth``

SOURCE is the reference implementation's ``checkpoints/<name>`` folder
(``latest_net_G_A.pth`` ... ``latest_net_D_B.pth``, or the lone
``latest_net_G.pth`` of a pretrained download), one of its files, or an
MMagic CycleGAN checkpoint. CONFIG's model must have the source's
architecture (the reference's and MMagic's defaults are
``configs/_base_/models/cyclegan_resnet9.py``). OUT loads in
``tools/test.py``, ``tools/translate.py`` and ``Translator``; see
:mod:`cyclegan_plugin.apis.convert`.
"""
import argparse
from typing import List, Optional

from cyclegan_plugin.apis.convert import NETWORKS, convert
from cyclegan_plugin.engine import CheckpointError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert reference or MMagic CycleGAN weights.')
    parser.add_argument('config', help='config whose model fits the source')
    parser.add_argument(
        'source',
        help='reference checkpoints/<name> folder or *_net_*.pth file, or '
        'an MMagic CycleGAN checkpoint')
    parser.add_argument('--out', required=True, help='checkpoint to write')
    parser.add_argument(
        '--direction',
        choices=['a2b', 'b2a'],
        default='a2b',
        help='where a lone reference latest_net_G.pth goes (default a2b: '
        'horse2zebra.pth translates A=horse into B=zebra)')
    parser.add_argument(
        '--epoch',
        default='latest',
        help='prefix of the reference files in a folder (latest, 200, ...)')
    parser.add_argument(
        '--domains',
        nargs=2,
        metavar=('A', 'B'),
        help="MMagic's names of domains A and B (default: domain_a and "
        "domain_b of the config stored in the checkpoint)")
    parser.add_argument(
        '--channel-order',
        choices=['bgr', 'rgb'],
        default='bgr',
        help="colour order MMagic's networks were trained on (bgr: "
        "MMagic's CycleGAN configs)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    try:
        converted = convert(args.config, args.source, args.direction,
                            args.epoch, args.domains, args.channel_order)
    except (CheckpointError, FileNotFoundError) as err:
        raise SystemExit(f'convert_checkpoint.py: error: {err}') from None
    converted.save(args.out)
    roles = {name: role for role, name in NETWORKS.items()}
    print(f'Wrote {args.out}:')
    for name, source in converted.sources.items():
        print(f'  {name} ({roles[name]}) <- {source}')
    if converted.untrained:
        print(f'  not in the source, left at the config\'s initial weights: '
              f'{", ".join(converted.untrained)}')
    if converted.directions:
        print(f'Translate with --direction '
              f'{" or ".join(converted.directions)}.')


if __name__ == '__main__':
    main()
