"""PSNR and SSIM of the translations against ground-truth pairs.

Only for paired test sets, where a sample's ``gt_img`` is the image with the
same file stem in the other domain's test folder. ``psnr_a2b`` averages, over
the domain-``a`` samples, the per-image PSNR of ``fake_img`` (G_A's
translation, in domain B) against ``gt_img``. The identity baseline
``psnr_id_a2b`` scores the untranslated input ``real_img`` against
``gt_img`` the same way: a model that has learnt anything beats it.
"""
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from cyclegan_plugin.registry import METRICS
from .image_quality import psnr, ssim
from .samples import (DIRECTIONS, Sample, get_domain, get_image, get_path,
                      results_of_domain)


class PairedMetric(BaseMetric):
    """Base of per-direction full-reference metrics.

    Subclasses set ``name`` (the key stem) and ``score`` (a function of two
    ``(N, 3, H, W)`` batches in 0..255 returning ``(N,)`` scores).

    Args:
        identity_baseline: Also report ``<name>_id_<direction>``, the score
            of the input itself against the ground truth.
        collect_device: Passed to mmengine's ``BaseMetric``.
        prefix: Prefix of the metric keys; by default keys are bare.
        collect_dir: Passed to mmengine's ``BaseMetric``.
    """

    default_prefix: Optional[str] = ''
    name: str
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self,
                 identity_baseline: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.identity_baseline = identity_baseline

    def _pair_score(self, pred: torch.Tensor, gt: torch.Tensor,
                    sample: Sample) -> float:
        if pred.shape != gt.shape:
            raise ValueError(
                f'{type(self).__name__}: gt_img of '
                f'{get_path(sample) or "a sample"!r} has shape '
                f'{tuple(gt.shape)}, the translation {tuple(pred.shape)}; '
                'resize both alike in the test pipeline.')
        return float(self.score(pred[None], gt[None])[0])

    def process(self, data_batch, data_samples: Sequence[Sample]) -> None:
        """Score every sample's translation (and input) against its gt."""
        metric = type(self).__name__
        for sample in data_samples:
            gt = get_image(sample, 'gt_img', metric)
            result = dict(
                domain=get_domain(sample, metric),
                score=self._pair_score(
                    get_image(sample, 'fake_img', metric), gt, sample))
            if self.identity_baseline:
                result['id_score'] = self._pair_score(
                    get_image(sample, 'real_img', metric), gt, sample)
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Average the per-image scores of each direction."""
        metrics = {}
        for direction, src, _ in DIRECTIONS:
            mine = results_of_domain(results, src, type(self).__name__)
            if not mine:
                continue
            metrics[f'{self.name}_{direction}'] = float(
                np.mean([r['score'] for r in mine]))
            if self.identity_baseline:
                metrics[f'{self.name}_id_{direction}'] = float(
                    np.mean([r['id_score'] for r in mine]))
        return metrics


@METRICS.register_module()
class PairedPSNR(PairedMetric):
    """Mean per-image PSNR (dB, 0..255 RGB): ``psnr_a2b``, ``psnr_b2a``.

    With ``identity_baseline`` also ``psnr_id_a2b`` and ``psnr_id_b2a``. An
    image identical to its gt scores ``inf``, and so does the mean.
    """

    name = 'psnr'
    score = staticmethod(psnr)


@METRICS.register_module()
class PairedSSIM(PairedMetric):
    """Mean per-image SSIM (0..255 RGB, Gaussian window 11, sigma 1.5).

    Keys ``ssim_a2b``, ``ssim_b2a``; with ``identity_baseline`` also
    ``ssim_id_a2b`` and ``ssim_id_b2a``.
    """

    name = 'ssim'
    score = staticmethod(ssim)
