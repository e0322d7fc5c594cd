"""Shared machinery of the distribution metrics (KID, FID).

A distribution metric compares, per direction, the features of the
translations with those of real images of the target domain: ``a2b`` takes
``fake_img`` of every domain-``a`` sample against ``real_img`` of every
domain-``b`` sample, ``b2a`` the reverse. Both directions come from one pass
over the test set, which visits every image of testA and testB once.

Under DDP each rank extracts the features of its own samples in
``process()`` and keeps one result per sample (features only, never the
images), so mmengine's ``collect_results`` can drop the sampler's padding by
count. ``compute_metrics`` then runs on rank 0 over all samples, sorted by
image path so that the value does not depend on how samples were sharded.
"""
import logging
from abc import abstractmethod
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from torch import nn

from cyclegan_plugin.registry import MODELS
from .inception import TFInceptionFeatures
from .samples import DIRECTIONS, Sample, get_domain, get_image, get_path


def build_feature_extractor(
        feature_extractor: Union[dict, nn.Module, None],
        inception_weights: Optional[str] = None) -> nn.Module:
    """Build the extractor of a distribution metric.

    Args:
        feature_extractor: None for TF-Inception, a config dict built from
            ``MODELS`` (e.g. ``dict(type='RandomProjectionFeatures')``), or
            a module mapping uint8 ``(N, 3, H, W)`` to ``(N, D)`` features.
        inception_weights: Weights path of the default TF-Inception.

    Returns:
        The extractor, in eval mode and without gradients.
    """
    if feature_extractor is None:
        extractor = TFInceptionFeatures(weights=inception_weights)
    elif inception_weights is not None:
        raise ValueError(
            '`inception_weights` applies only to the default extractor; with '
            '`feature_extractor` set, put the weights path into its config.')
    elif isinstance(feature_extractor, nn.Module):
        extractor = feature_extractor
    else:
        extractor = MODELS.build(feature_extractor)
    return extractor.eval().requires_grad_(False)


class FeatureDistanceMetric(BaseMetric):
    """Base of metrics that compare feature distributions per direction.

    Subclasses implement :meth:`distances`.

    Args:
        feature_extractor: See :func:`build_feature_extractor`.
        inception_weights: See :func:`build_feature_extractor`.
        device: Where features are extracted; None picks ``'cuda'`` (the
            rank's current GPU) when available, else ``'cpu'``.
        collect_device: Passed to mmengine's ``BaseMetric``.
        prefix: Prefix of the metric keys; by default keys are bare
            (``kid_a2b``).
        collect_dir: Passed to mmengine's ``BaseMetric``.
    """

    default_prefix: Optional[str] = ''

    def __init__(self,
                 feature_extractor: Union[dict, nn.Module, None] = None,
                 inception_weights: Optional[str] = None,
                 device: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.extractor = build_feature_extractor(feature_extractor,
                                                 inception_weights)
        self.device = device

    @torch.no_grad()
    def extract(self, imgs: List[torch.Tensor]) -> np.ndarray:
        """Extract features of uint8 images ``(3, H, W)`` of any sizes.

        Returns:
            float32 array ``(len(imgs), D)`` in the order of ``imgs``.
        """
        device = self.device or ('cuda'
                                 if torch.cuda.is_available() else 'cpu')
        self.extractor.to(device)
        by_shape = defaultdict(list)
        for i, img in enumerate(imgs):
            by_shape[tuple(img.shape)].append(i)
        feats: List[Optional[np.ndarray]] = [None] * len(imgs)
        for idx in by_shape.values():
            batch = torch.stack([imgs[i] for i in idx]).to(device)
            out = self.extractor(batch)
            if out.dim() != 2 or out.shape[0] != len(idx):
                raise ValueError(
                    f'{type(self).__name__}: the feature extractor must map '
                    f'(N, 3, H, W) to (N, D), got {tuple(out.shape)} for '
                    f'N={len(idx)}.')
            out = out.float().cpu().numpy()
            for row, i in enumerate(idx):
                feats[i] = out[row]
        return np.stack(feats)

    def process(self, data_batch, data_samples: Sequence[Sample]) -> None:
        """Keep the fake and real features of every sample."""
        name = type(self).__name__
        fakes = [get_image(s, 'fake_img', name) for s in data_samples]
        reals = [get_image(s, 'real_img', name) for s in data_samples]
        fake_feats = self.extract(fakes)
        real_feats = self.extract(reals)
        for i, sample in enumerate(data_samples):
            self.results.append(
                dict(
                    domain=get_domain(sample, name),
                    img_path=get_path(sample),
                    fake_feat=fake_feats[i],
                    real_feat=real_feats[i]))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute :meth:`distances` for each direction with samples."""
        results = sorted(results, key=lambda r: r['img_path'])
        metrics = {}
        for direction, src, dst in DIRECTIONS:
            fake = [r['fake_feat'] for r in results if r['domain'] == src]
            real = [r['real_feat'] for r in results if r['domain'] == dst]
            if not fake or not real:
                print_log(
                    f'{type(self).__name__}: no {direction} value, the '
                    f'evaluated set has {len(fake)} images of domain {src} '
                    f'and {len(real)} of domain {dst}.',
                    logger='current',
                    level=logging.WARNING)
                continue
            metrics.update(
                self.distances(direction,
                               np.stack(fake).astype(np.float64),
                               np.stack(real).astype(np.float64)))
        return metrics

    @abstractmethod
    def distances(self, direction: str, fake: np.ndarray,
                  real: np.ndarray) -> Dict[str, float]:
        """Return the metric values of one direction.

        Args:
            direction: ``'a2b'`` or ``'b2a'``, to name the keys.
            fake: float64 features ``(N, D)`` of the translations.
            real: float64 features ``(M, D)`` of real target-domain images.
        """
