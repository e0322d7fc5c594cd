"""How far does the demo's generator get when it is shown the answer?

``python benchmarks/supervised_bound.py --iters 1000 2000 4000 8000``
(``--cfg-options model.generator.base_channels=32`` for another generator)

Trains the toy config's generator with a paired L1 loss on rendered
ground-truth pairs (draws that are neither training nor test images), once
per direction, with the config's load size, crop size, batch size and
generator optimizer (constant learning rate), and prints the paired PSNR
of the demo's test set after each listed iteration count, next to the
identity baseline. Paired supervision is the strongest signal there is, so
an unpaired model with the same generator and iterations is not expected
to pass these rows: they bound what the demo can reach in its budget.
PSNR is the demo's (mean over images of uint8 RGB PSNR); the test set is
``make_toy_faces``' for ``--data-seed``, rendered here, so no data folder
is needed.
"""
import argparse
import os.path as osp
import time
from typing import List, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from _common import machine, markdown_row, set_threads
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from cyclegan_plugin.cli import CfgOptionsAction, load_config
from cyclegan_plugin.datasets.toy_faces import render_pair
from cyclegan_plugin.evaluation.image_quality import psnr
from cyclegan_plugin.models.data_preprocessor import CycleGANDataPreprocessor
from cyclegan_plugin.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# make_toy_faces draws split 0 (trainA), 1 (trainB) and 2 (test); the
# pairs trained on here come from a split it never draws.
TRAIN_SPLIT, TEST_SPLIT = 3, 2
# Which of the rendered (A, B) images is the input and which the target.
DIRECTIONS = dict(a2b=(0, 1), b2a=(1, 0))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Paired-L1 bound of the toy config generator.')
    parser.add_argument(
        '--config', default=osp.join(REPO, 'configs', 'cyclegan_toyfaces.py'))
    parser.add_argument('--iters', type=int, nargs='+',
                        default=[1000, 2000, 4000, 8000],
                        help='iteration counts at which the test is scored')
    parser.add_argument('--pairs', type=int, default=1000,
                        help='rendered training pairs (the demo has 1,000 '
                        'images per domain)')
    parser.add_argument('--directions', nargs='+', choices=DIRECTIONS,
                        default=list(DIRECTIONS))
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        default={}, help='as for tools/train.py')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args()


def to_tensor(images: List[np.ndarray]) -> torch.Tensor:
    """uint8 HWC RGB images -> (N, 3, H, W) in [-1, 1], as the model's
    preprocessor does."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    return CycleGANDataPreprocessor.normalize(batch)


def render(seed: int, split: int, count: int, image_size: int,
           load_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``count`` pairs as the demo's files would be, resized to
    ``load_size`` (bicubic, as the pipelines do)."""
    a, b = zip(*(render_pair([seed, split, i], image_size)
                 for i in range(count)))
    if load_size != image_size:
        size = (load_size, load_size)
        a = [cv2.resize(x, size, interpolation=cv2.INTER_CUBIC) for x in a]
        b = [cv2.resize(x, size, interpolation=cv2.INTER_CUBIC) for x in b]
    return to_tensor(list(a)), to_tensor(list(b))


def crops(source: torch.Tensor, target: torch.Tensor, batch: int, crop: int,
          rng: np.random.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """A batch of random pairs, each cropped at its own random window and
    flipped with probability 0.5, alike in both images of a pair."""
    inputs, targets = [], []
    for index in rng.integers(0, len(source), batch):
        y, x = rng.integers(0, source.shape[2] - crop + 1, 2)
        a = source[index, :, y:y + crop, x:x + crop]
        b = target[index, :, y:y + crop, x:x + crop]
        if rng.random() < 0.5:
            a, b = a.flip(2), b.flip(2)
        inputs.append(a)
        targets.append(b)
    return torch.stack(inputs), torch.stack(targets)


def mean_psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """As the demo's PairedPSNR: per-image PSNR of uint8 levels, averaged."""
    to_uint8 = CycleGANDataPreprocessor.to_uint8
    return float(psnr(to_uint8(pred), to_uint8(target)).mean())


def main() -> None:
    args = parse_args()
    set_threads(args.threads)
    init_default_scope('cyclegan_plugin')
    # mmengine logs every parameter's initialisation at INFO.
    MMLogger.get_instance('mmengine', log_level='WARNING')
    cfg = load_config(args.config, args.cfg_options)
    optimizer = cfg.optim_wrapper.generators.optimizer
    batch = cfg.train_dataloader.batch_size
    crop, size = cfg.train_crop_size, cfg.image_size
    train = render(args.data_seed, TRAIN_SPLIT, args.pairs, size,
                   cfg.load_size)
    test = render(args.data_seed, TEST_SPLIT, 100, size, size)
    print(f'Machine: {machine("cpu", args.threads)}\n\nGenerator '
          f'{dict(cfg.model.generator)}, paired L1, Adam(lr '
          f'{optimizer.lr}, betas {tuple(optimizer.betas)}), batches of '
          f'{batch} random {crop} px crops of {args.pairs} pairs at '
          f'{cfg.load_size} px, test on the 100 test pairs at {size} px '
          f'(data seed {args.data_seed}).\n')
    print(markdown_row(['direction', 'iterations', 'train s',
                        'paired PSNR', 'identity baseline']))
    print(markdown_row(['---', '---:', '---:', '---:', '---:']))
    for direction in args.directions:
        source, target = DIRECTIONS[direction]
        torch.manual_seed(args.seed)
        rng = np.random.default_rng(args.seed)
        generator = MODELS.build(cfg.model.generator)
        generator.init_weights()
        adam = torch.optim.Adam(generator.parameters(), lr=optimizer.lr,
                                betas=tuple(optimizer.betas))
        baseline = mean_psnr(test[source], test[target])
        seconds = 0.0
        for step in range(1, max(args.iters) + 1):
            start = time.perf_counter()
            inputs, targets = crops(train[source], train[target], batch,
                                    crop, rng)
            loss = F.l1_loss(generator(inputs), targets)
            adam.zero_grad(set_to_none=True)
            loss.backward()
            adam.step()
            seconds += time.perf_counter() - start
            if step in args.iters:
                generator.eval()
                with torch.no_grad():
                    score = mean_psnr(generator(test[source]), test[target])
                generator.train()
                print(markdown_row([
                    direction, f'{step:,}', f'{seconds:.0f}', f'{score:.2f}',
                    f'{baseline:.2f}'
                ]), flush=True)


if __name__ == '__main__':
    main()
