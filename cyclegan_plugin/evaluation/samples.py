"""Reading the model's val/test outputs inside a metric.

``CycleGAN.val_step`` / ``test_step`` return one ``BaseDataElement`` per
input image with ``domain`` (``'a'`` or ``'b'``), ``img_path`` and the uint8
RGB images ``real_img``, ``fake_img``, ``rec_img`` (and ``gt_img`` on a
paired test set), each of shape ``(3, H, W)``. mmengine's ``Evaluator``
hands metrics these samples converted to dicts; a metric called directly may
get the elements themselves, so both are accepted here.
"""
import logging
from typing import Any, List, Mapping, Union

import torch
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

Sample = Union[BaseDataElement, Mapping[str, Any]]

# (direction, domain of the translated inputs, domain of the outputs)
DIRECTIONS = (('a2b', 'a', 'b'), ('b2a', 'b', 'a'))


def get_field(sample: Sample, key: str, metric: str) -> Any:
    """Return ``sample[key]`` or raise a ``KeyError`` that names the fix.

    Args:
        sample: One model output, a ``BaseDataElement`` or its dict.
        key: The field to read, e.g. ``'fake_img'``.
        metric: Name of the calling metric, for the error message.
    """
    if isinstance(sample, BaseDataElement):
        found = key in sample
        value = sample.get(key) if found else None
    elif isinstance(sample, Mapping):
        found = key in sample
        value = sample.get(key)
    else:
        raise TypeError(f'{metric} expects data samples as BaseDataElement '
                        f'or dict, got {type(sample).__name__}.')
    if not found:
        hint = (' gt_img exists only on a paired test set (images with the '
                'same file stem in testA and testB).'
                if key == 'gt_img' else '')
        raise KeyError(f'{metric} needs `{key}` in every data sample (the '
                       'output of CycleGAN.val_step/test_step), but a sample '
                       f'has only {sorted(_keys(sample))}.{hint}')
    return value


def get_domain(sample: Sample, metric: str) -> str:
    """Return the sample's source domain, ``'a'`` or ``'b'``."""
    domain = get_field(sample, 'domain', metric)
    if domain not in ('a', 'b'):
        raise ValueError(f"{metric}: `domain` must be 'a' or 'b', "
                         f'got {domain!r}.')
    return domain


def get_image(sample: Sample, key: str, metric: str) -> torch.Tensor:
    """Return a uint8 RGB image ``(3, H, W)`` of the sample on the CPU."""
    img = get_field(sample, key, metric)
    if not (isinstance(img, torch.Tensor) and img.dtype == torch.uint8
            and img.dim() == 3 and img.shape[0] == 3):
        desc = (f'{img.dtype} tensor of shape {tuple(img.shape)}'
                if isinstance(img, torch.Tensor) else type(img).__name__)
        raise ValueError(f'{metric}: `{key}` must be a uint8 RGB tensor of '
                         f'shape (3, H, W) in 0..255, got a {desc}.')
    return img.cpu()


def get_path(sample: Sample) -> str:
    """Return the sample's ``img_path``, or ``''`` when it has none."""
    return sample.get('img_path', '')


def _keys(sample: Sample):
    if isinstance(sample, BaseDataElement):
        return list(sample.all_keys())
    return list(sample.keys())


def results_of_domain(results: list, domain: str, metric: str) -> List[dict]:
    """The per-image results of ``domain``; warns when there are none, so a
    direction missing from the metrics is explained in the log."""
    mine = [r for r in results if r['domain'] == domain]
    if not mine:
        print_log(
            f'{metric}: the evaluated set has no images of domain '
            f'{domain}; its values are left out.',
            logger='current',
            level=logging.WARNING)
    return mine
