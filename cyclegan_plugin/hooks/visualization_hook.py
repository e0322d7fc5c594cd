"""Sample grids of a fixed set of test images during training."""
import copy
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.structures import BaseDataElement

from cyclegan_plugin.registry import DATASETS, HOOKS
from cyclegan_plugin.visualization import (column_labels, panel_images,
                                           save_rgb, tile)


@HOOKS.register_module()
class SampleGridHook(Hook):
    """Writes ``real A | fake B | rec A`` and ``real B | fake A | rec B``
    rows of fixed test images every ``interval`` iterations (``rec`` only
    for models whose ``test_step`` outputs a ``rec_img``).

    The images are translated with ``test_step`` in eval mode and saved to
    ``<out_dir>/iter_<iteration, 6 digits>.png``, once more at the end of
    training, and passed to ``runner.visualizer.add_image``, so a
    ``TensorboardVisBackend`` in the config's ``visualizer`` shows them too.
    Only rank 0 does the work.

    Args:
        interval: Write a grid every this many training iterations.
        num_samples: Images per domain: the first ``num_samples`` of domain
            A and of domain B in the dataset. Ignored when ``indices`` is
            given.
        indices: Dataset indices of the images to show, in order.
        dataset: Config of a test-mode dataset (one image per item, with a
            ``domain``); by default the ``val_dataloader`` dataset, or else
            the ``test_dataloader`` one, of the runner's config.
        out_dir: Folder of the grids; ``<work_dir>/vis`` if ``None``.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 num_samples: int = 4,
                 indices: Optional[Sequence[int]] = None,
                 dataset: Optional[dict] = None,
                 out_dir: Optional[str] = None):
        if interval < 1 or num_samples < 1:
            raise ValueError('SampleGridHook: interval and '
                             'num_samples must be positive.')
        self.interval = interval
        self.num_samples = num_samples
        self.indices = None if indices is None else list(indices)
        self.dataset_cfg = dataset
        self.out_dir = out_dir
        self._batch: Optional[dict] = None
        self._last_step = -1

    def before_train(self, runner) -> None:
        if self.out_dir is None:
            self.out_dir = osp.join(runner.work_dir, 'vis')
        if is_main_process():
            self._batch = self._load_batch(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        # runner.iter counts the iterations before this one.
        if self.every_n_train_iters(runner, self.interval):
            self.visualize(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if runner.iter != self._last_step:
            self.visualize(runner, runner.iter)

    @torch.no_grad()
    def visualize(self, runner, step: int) -> Optional[str]:
        """Writes the grid after ``step`` iterations; returns its path on
        rank 0, ``None`` elsewhere."""
        self._last_step = step
        if not is_main_process():
            return None
        model = runner.model
        was_training = model.training
        model.eval()
        try:
            outputs = model.test_step(self._batch)
        finally:
            model.train(was_training)
        if not all(isinstance(s, BaseDataElement) for s in outputs):
            raise TypeError(
                f'{type(self).__name__}: model.test_step must return one '
                f'data sample per image (with real_img, fake_img and '
                f'domain), got {type(outputs[0]).__name__}.')
        images = [panel_images(sample) for sample in outputs]
        panels = tuple(images[0])
        rows = [list(sample_images.values()) for sample_images in images]
        # The first num_a rows are domain-A inputs; they and the B rows get
        # their own header.
        num_a = sum(sample.domain == 'a' for sample in outputs)
        blocks = [
            tile(rows[:num_a], column_labels('a2b', panels))
            if num_a else None,
            tile(rows[num_a:], column_labels('b2a', panels))
            if num_a < len(rows) else None
        ]
        grid = tile([[block] for block in blocks if block is not None])
        path = osp.join(self.out_dir, f'iter_{step:06d}.png')
        save_rgb(path, grid)
        runner.visualizer.add_image('cyclegan_samples', grid, step)
        return path

    def _load_batch(self, runner) -> dict:
        dataset = self._dataset(runner)
        indices = self.indices
        if indices is None:
            indices = self._first_of_each_domain(dataset)
        items = sorted((dataset[i] for i in indices),
                       key=lambda item: item['data_samples'].domain)
        return pseudo_collate(items)

    def _dataset(self, runner):
        """The configured dataset, else the runner's val or test one."""
        dataset = self.dataset_cfg
        if dataset is None:
            dataset = self._runner_dataset(runner)
        if isinstance(dataset, dict):
            dataset = DATASETS.build(copy.deepcopy(dataset))
        return dataset

    @staticmethod
    def _runner_dataset(runner):
        for key in ('val_dataloader', 'test_dataloader'):
            # A runner built from keyword arguments has no cfg entry; it
            # keeps the unbuilt dataloader (config or object) privately.
            loader = runner.cfg.get(key) or getattr(runner, f'_{key}', None)
            if loader:
                return (loader['dataset']
                        if isinstance(loader, dict) else loader.dataset)
        raise ValueError(
            'SampleGridHook needs test images: set its `dataset` '
            'or the config\'s val_dataloader or test_dataloader.')

    def _first_of_each_domain(self, dataset) -> List[int]:
        """Indices of the first ``num_samples`` items of each domain."""
        found = {'a': [], 'b': []}
        for i in range(len(dataset)):
            domain = dataset.get_data_info(i).get('domain')
            if domain not in found:
                raise ValueError(
                    'SampleGridHook needs a test-mode dataset '
                    '(items with a `domain`); set test_mode=True in its '
                    '`dataset`.')
            if len(found[domain]) < self.num_samples:
                found[domain].append(i)
            if all(len(v) == self.num_samples for v in found.values()):
                break
        return found['a'] + found['b']
