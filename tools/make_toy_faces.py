"""Render the toy faces benchmark: a synthetic, paired photo/anime dataset.

Writes ``OUT/trainA``, ``OUT/trainB`` (independent, unpaired draws) and
``OUT/testA``, ``OUT/testB`` (the same draws in both styles, ground-truth
pairs under the same file names). See
:mod:`cyclegan_plugin.datasets.toy_faces`.

Example::

    python tools/make_toy_faces.py data/toy_faces --size 64
"""
import argparse
import time

from cyclegan_plugin.datasets.toy_faces import make_toy_faces


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Render the toy faces benchmark (photo A, anime B).')
    parser.add_argument('out', help='dataset root to create')
    parser.add_argument(
        '--size', type=int, default=64, help='image side in pixels')
    parser.add_argument(
        '--n-train', type=int, default=1000, help='training images per domain')
    parser.add_argument(
        '--n-test', type=int, default=100, help='paired test images')
    parser.add_argument('--seed', type=int, default=0, help='dataset seed')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    counts = make_toy_faces(args.out, args.size, args.n_train, args.n_test,
                            args.seed)
    folders = ', '.join(f'{name} {n}' for name, n in counts.items())
    print(f'toy faces: {folders} images of {args.size}x{args.size} px, '
          f'seed {args.seed}, in {args.out} '
          f'({time.perf_counter() - start:.1f} s)')


if __name__ == '__main__':
    main()
