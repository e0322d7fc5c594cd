"""How well each domain survives the round trip: ``rec_img`` vs ``real_img``.

For a domain-``a`` sample ``rec_img`` is F(G(a)) (G_B(G_A(a))), for a
domain-``b`` sample G(F(b)). ``cycle_l1_a`` is the mean absolute error in
the model's [-1, 1] units (pixel difference / 127.5), the scale of the
training cycle loss before its lambda weight; the uint8 round trip of the
outputs adds at most 1/255 to it. ``cycle_psnr_a`` is the mean per-image
PSNR on 0..255 RGB (``inf`` for a perfect reconstruction).
"""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from cyclegan_plugin.registry import METRICS
from .image_quality import psnr
from .samples import Sample, get_domain, get_image, results_of_domain


@METRICS.register_module()
class CycleConsistency(BaseMetric):
    """Cycle reconstruction error per domain.

    Keys: ``cycle_l1_a``, ``cycle_psnr_a``, ``cycle_l1_b``, ``cycle_psnr_b``.

    Args:
        collect_device: Passed to mmengine's ``BaseMetric``.
        prefix: Prefix of the metric keys; by default keys are bare.
        collect_dir: Passed to mmengine's ``BaseMetric``.
    """

    default_prefix: Optional[str] = ''

    def process(self, data_batch, data_samples: Sequence[Sample]) -> None:
        """Score every sample's reconstruction against its input."""
        metric = type(self).__name__
        for sample in data_samples:
            real = get_image(sample, 'real_img', metric)
            rec = get_image(sample, 'rec_img', metric)
            if real.shape != rec.shape:
                raise ValueError(
                    f'{metric}: rec_img has shape {tuple(rec.shape)}, '
                    f'real_img {tuple(real.shape)}.')
            l1 = (rec.double() - real.double()).abs().mean() / 127.5
            self.results.append(
                dict(
                    domain=get_domain(sample, metric),
                    l1=float(l1),
                    psnr=float(psnr(rec[None], real[None])[0])))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Average the per-image errors of each domain."""
        metrics = {}
        for domain in ('a', 'b'):
            mine = results_of_domain(results, domain, 'CycleConsistency')
            if not mine:
                continue
            metrics[f'cycle_l1_{domain}'] = float(
                np.mean([r['l1'] for r in mine]))
            metrics[f'cycle_psnr_{domain}'] = float(
                np.mean([r['psnr'] for r in mine]))
        return metrics
