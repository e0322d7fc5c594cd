"""The demo: toy faces end to end on a CPU, in one command.

Generates the synthetic toy-faces dataset (unless it is already there),
trains ``configs/cyclegan_toyfaces.py`` (resuming if a previous demo run
was interrupted), fine-tunes the trained generators by back-translation
(``tools/back_translate.py``, about a minute), tests that checkpoint, and
prints the paired PSNR,
SSIM and checkerboard measure of both directions against the identity
baseline, and where every output is (gallery, error heat maps, the plot of
PSNR against training time).
Each step runs the project's own command-line tool, exactly as a user
would.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

from cyclegan_plugin.visualization import psnr_curve_path
from cyclegan_plugin.visualization.psnr_curve import validation_curve

CONFIG = 'configs/cyclegan_toyfaces.py'
TOOLS = osp.dirname(osp.abspath(__file__))


def run(tool: str, *args: str) -> None:
    command = [sys.executable, osp.join(TOOLS, tool), *args]
    print('$', ' '.join(command), flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/toy_faces')
    parser.add_argument(
        '--data-seed',
        default='0',
        help='seed of the toy faces made when --data-root has none yet '
        '(the README reports seeds 0, 4242 and 31337)')
    parser.add_argument('--work-dir', default='work_dirs/toyfaces_demo')
    args = parser.parse_args()
    start = time.time()

    if not osp.isdir(osp.join(args.data_root, 'testB')):
        run('make_toy_faces.py', args.data_root, '--seed', args.data_seed)
    data_root = f'data_root={args.data_root}'
    run('train.py', CONFIG, '--work-dir', args.work_dir, '--resume',
        '--cfg-options', data_root)
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        trained = f.read().strip()
    checkpoint = osp.join(args.work_dir, 'back_translated.pth')
    if not (osp.isfile(checkpoint)
            and osp.getmtime(checkpoint) > osp.getmtime(trained)):
        run('back_translate.py', CONFIG, trained, '--out', checkpoint,
            '--cfg-options', data_root)
    out = osp.join(args.work_dir, 'test_results')
    run('test.py', CONFIG, checkpoint, '--work-dir', args.work_dir, '--out',
        out, '--cfg-options', data_root)

    with open(osp.join(out, 'metrics.json')) as f:
        metrics = json.load(f)['metrics']
    print(f'\nDemo finished in {(time.time() - start) / 60:.1f} min.')
    curve = validation_curve(args.work_dir)
    if curve.get('psnr_a2b') and curve.get('psnr_b2a'):
        print(f'CycleGAN training alone (its last validation): a2b PSNR '
              f'{curve["psnr_a2b"][-1]:.2f} dB, b2a {curve["psnr_b2a"][-1]:.2f}'
              ' dB; after back-translation:')
    print('On the toy-faces test pairs, against the identity baseline (the '
          'input unchanged):')
    for direction in ('a2b', 'b2a'):
        gain = (metrics[f'psnr_{direction}'] -
                metrics[f'psnr_id_{direction}'])
        print(f'  {direction}: PSNR {metrics[f"psnr_{direction}"]:.2f} dB '
              f'({gain:+.2f} dB), SSIM {metrics[f"ssim_{direction}"]:.3f} '
              f'(baseline {metrics[f"ssim_id_{direction}"]:.3f}), '
              f'checkerboard {metrics[f"checkerboard_{direction}"]:+.1f} dB '
              '(0: no more 4 px periodic texture than the ground truth)')
    print(f'Sample grids during training: {osp.join(args.work_dir, "vis")}')
    print(f'Translated test images: {osp.join(out, "a2b")}, '
          f'{osp.join(out, "b2a")}')
    print(f'Gallery (real | fake | gt | error | rec): '
          f'{osp.join(out, "gallery_a2b.png")}, '
          f'{osp.join(out, "gallery_b2a.png")}, all images in '
          f'{osp.join(out, "index.html")}')
    print(f'Error heat maps: {osp.join(out, "gallery", "a2b")}/*_error.png, '
          f'{osp.join(out, "gallery", "b2a")}/*_error.png')
    print(f'PSNR against training time: {psnr_curve_path(out)}')
    print(f'Metrics: {osp.join(out, "metrics.json")}')


if __name__ == '__main__':
    main()
