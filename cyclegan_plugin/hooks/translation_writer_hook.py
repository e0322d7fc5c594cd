"""Writes every test translation, a gallery and the metrics of a test run."""
import json
import math
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.structures import BaseDataElement

from cyclegan_plugin.registry import HOOKS
from cyclegan_plugin.visualization import (PANELS, metrics_table, panel_images,
                                           psnr_curve_path, resize_rgb,
                                           save_rgb, translation_path,
                                           write_gallery, write_panels,
                                           write_psnr_curve)

DIRECTION_OF_DOMAIN = {'a': 'a2b', 'b': 'b2a'}


@HOOKS.register_module()
class TranslationWriterHook(Hook):
    """Saves the outputs of ``runner.test()`` for people to look at.

    For every test image (the outputs of a translation model's
    ``test_step``) it writes the translation resized back to the image's
    ``ori_shape``, and its panels at the test size (real | fake, with gt |
    error on paired test sets and rec where the model reconstructs); after
    the test it writes a grid per direction, an ``index.html`` over all
    images, ``metrics.json``, the plot of the validations' paired PSNR
    against training time where the work dir holds the training logs
    (:mod:`cyclegan_plugin.visualization.psnr_curve`), and logs a metrics
    table. The folder layout is documented in
    :mod:`cyclegan_plugin.visualization.gallery`. Under a distributed
    launcher each rank writes its own images and rank 0 the rest.

    Args:
        out_dir: Output folder; ``<work_dir>/test_results`` if ``None``.
        grid_images: Images per direction in each grid PNG.
        grid_columns: Images (each its panels side by side) per grid row.

    Attributes:
        not_computed: Metrics of the config left out of the test, each with
            why (one line), for ``metrics.json`` to list under
            ``not_computed``; ``tools/test.py`` sets it. Not a constructor
            argument, so that the reasons (long for missing Inception
            weights) stay out of the config the runner logs.
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: Optional[str] = None,
                 grid_images: int = 16,
                 grid_columns: int = 4):
        if grid_images < 1 or grid_columns < 1:
            raise ValueError('TranslationWriterHook: grid_images and '
                             'grid_columns must be positive.')
        self.out_dir = out_dir
        self.grid_images = grid_images
        self.grid_columns = grid_columns
        self.not_computed: Dict[str, str] = {}
        self._entries: List[Tuple[str, str, str]] = []
        self._panels: Tuple[str, ...] = PANELS

    def before_test(self, runner) -> None:
        if self.out_dir is None:
            self.out_dir = osp.join(runner.work_dir, 'test_results')
        os.makedirs(self.out_dir, exist_ok=True)
        self._entries = []

    def after_test_iter(
            self,
            runner,
            batch_idx: int,
            data_batch: Optional[dict] = None,
            outputs: Optional[Sequence[BaseDataElement]] = None) -> None:
        for sample in outputs or ():
            self._write_sample(sample)

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        # A distributed sampler may repeat images to even out the ranks, so
        # entries are unique by (direction, name, source path).
        written = sorted({
            entry
            for part in all_gather_object(self._entries)
            for entry in part
        })
        if not is_main_process():
            return
        entries = sorted({(direction, name) for direction, name, _ in written})
        if len(entries) < len(written):
            warnings.warn(
                f'TranslationWriterHook: {len(written) - len(entries)} test '
                f'image(s) have the file name (without extension) of another '
                f'image of their domain; only one of each is kept in '
                f'{self.out_dir}.')
        write_gallery(self.out_dir, entries, self.grid_images,
                      self.grid_columns, self._panels)
        metrics = dict(metrics or {})
        counts = {
            direction: sum(d == direction for d, _ in entries)
            for direction in DIRECTION_OF_DOMAIN.values()
        }
        with open(osp.join(self.out_dir, 'metrics.json'), 'w') as f:
            json.dump(
                dict(
                    checkpoint=runner.cfg.get('load_from'),
                    num_images=counts,
                    metrics={
                        k: _jsonable(v)
                        for k, v in metrics.items()
                    },
                    not_computed=self.not_computed),
                f,
                indent=2)
        curve = write_psnr_curve(runner.work_dir,
                                 psnr_curve_path(self.out_dir))
        # Names only: the reasons are in metrics.json and the tool prints
        # each once.
        left_out = (f'\nnot computed: {", ".join(self.not_computed)}'
                    if self.not_computed else '')
        files = 'index.html, metrics.json' + (
            ', psnr_curve.png' if curve else '')
        runner.logger.info(
            f'Test results in {self.out_dir} ({files}):\n'
            f'{metrics_table(metrics) if metrics else "no metrics"}'
            f'{left_out}')

    def _write_sample(self, sample: BaseDataElement) -> None:
        direction = DIRECTION_OF_DOMAIN[sample.domain]
        name = osp.splitext(osp.basename(sample.img_path))[0]
        images = panel_images(sample)
        self._panels = tuple(images)
        save_rgb(
            translation_path(self.out_dir, direction, name),
            resize_rgb(images['fake'], sample.ori_shape))
        write_panels(self.out_dir, direction, name, images)
        self._entries.append((direction, name, sample.img_path))


def _jsonable(value):
    """A metric value as a JSON number, or a string for inf/nan."""
    number = float(value)
    return number if math.isfinite(number) else str(number)
