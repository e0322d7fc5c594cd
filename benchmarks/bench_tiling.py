"""Peak memory and time of one large image, whole against tiled.

``python benchmarks/bench_tiling.py --height 1500 --width 2000 --tiles 512``

Each case runs in a fresh process that builds the paper generator (random
N(0, 0.02) weights, which cost exactly what trained ones do), loads the
image and translates it once. It reports its resident memory before the
translation and its peak during it (Linux: ``VmRSS`` and ``VmHWM`` of
``/proc/self/status``, the peak reset through ``/proc/self/clear_refs``
first, since importing and building peak higher than a tiled translation;
``ru_maxrss`` cannot be reset and even holds the parent's size at the
spawn) and the translation's time.
``whole`` is what ``Translator`` does without ``tile``
(:class:`AnySizeGenerator`), ``tile N`` what it does with ``tile=N``
(:func:`translate_tiled`); ``baseline`` translates nothing. The image, a
toy face mirrored out to the width, is rendered once by the parent. The
last two columns are the tiled output's difference from the whole one
(mean, 99th percentile) in grey levels (0..255), over the whole image:
in the overlaps the tiles lack context, while away from them the default
measuring passes (one per instance-norm layer) make the tiled output the
untiled one up to the context the owned regions' edges lack (see
``cyclegan_plugin/apis/tiling.py``).
"""
import argparse
import os.path as osp
import tempfile
from typing import Optional

from _common import (add_network_arguments, fmt, machine, markdown_row,
                     random_generator, run_isolated)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Peak memory and time of whole vs tiled translation.')
    parser.add_argument('--height', type=int, default=1500)
    parser.add_argument('--width', type=int, default=2000)
    parser.add_argument(
        '--tiles', nargs='+', type=int, default=[512], help='tile sides')
    parser.add_argument('--overlap', type=int, default=32)
    add_network_arguments(parser)
    return parser.parse_args()


def run_case(args, image_file: str, tile: Optional[int],
             out_file: Optional[str], queue) -> None:
    """Translates the image whole (``tile=None``) or tiled and reports peak
    memory and time; ``out_file=None`` translates nothing."""
    import time
    import warnings

    import numpy as np
    import torch
    from mmengine.logging import MMLogger

    from cyclegan_plugin.apis import AnySizeGenerator, translate_tiled
    warnings.filterwarnings('ignore')
    MMLogger.get_instance('bench_tiling', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    generator = random_generator(args)
    pixels = torch.from_numpy(np.load(image_file))
    image = pixels.permute(2, 0, 1)[None].float() / 127.5 - 1
    seconds = None
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM to VmRSS
    start_mib = _memory_mib('VmRSS')
    if out_file is not None:
        start = time.perf_counter()
        with torch.no_grad():
            out = (AnySizeGenerator(generator)(image) if tile is None else
                   translate_tiled(generator, image, tile, args.overlap))
        seconds = time.perf_counter() - start
        np.save(out_file, ((out[0] + 1) * 127.5).clamp(0, 255).numpy())
    queue.put(
        dict(
            start_mib=start_mib,
            peak_mib=_memory_mib('VmHWM'),
            seconds=seconds))


def _memory_mib(field: str) -> float:
    """A memory field of ``/proc/self/status`` (given in kB) in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(f'{field}:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'/proc/self/status has no {field}; this benchmark '
                       f'needs Linux.')


def main() -> None:
    import sys

    import numpy as np

    from cyclegan_plugin.datasets.toy_faces import render_pair
    args = parse_args()
    folder = tempfile.mkdtemp()
    side = min(args.height, args.width)
    image_file = osp.join(folder, 'image.npy')
    np.save(
        image_file,
        np.pad(
            render_pair([0, 2, 0], side)[0],
            ((0, args.height - side), (0, args.width - side), (0, 0)),
            mode='reflect'))
    cases = [('baseline', None, None),
             ('whole', None, osp.join(folder, 'whole.npy'))]
    cases += [(f'tile {tile}, overlap {args.overlap}', tile,
               osp.join(folder, f'tile_{tile}.npy')) for tile in args.tiles]
    rows = []
    for name, tile, out_file in cases:
        print(f'running {name} ...', file=sys.stderr, flush=True)
        result = run_isolated(run_case, (args, image_file, tile, out_file),
                              args.timeout) or {}
        diff = None
        if tile is not None and result and osp.exists(cases[1][2]):
            diff = np.abs(np.load(out_file) - np.load(cases[1][2]))
        rows.append(
            markdown_row([
                name + ('' if result else ' (timeout)'),
                fmt(result.get('start_mib'), '.0f'),
                fmt(result.get('peak_mib'), '.0f'),
                fmt(result.get('seconds'), '.1f'),
                fmt(None if diff is None else float(diff.mean()), '.1f'),
                fmt(None if diff is None else float(np.percentile(diff, 99)),
                    '.0f'),
            ]))
    print(f'\nOne {args.width}x{args.height} image, cpu: '
          f'{machine("cpu", args.threads)}; generator base '
          f'{args.base_channels}, {args.num_blocks} blocks.\n')
    print('| case | RSS before MiB | peak RSS MiB | seconds | mean abs diff '
          'vs whole (levels) | p99 abs diff |')
    print('|---|---:|---:|---:|---:|---:|')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
