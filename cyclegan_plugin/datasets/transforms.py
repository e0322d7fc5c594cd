"""Data transforms of the CycleGAN pipelines.

Only what mmcv 2.x lacks lives here; ``Resize``, ``RandomFlip`` and
``TransformBroadcaster`` come from mmcv. A training pipeline in the
paper's form (each domain resized, randomly cropped and randomly flipped
with its own random draws)::

    [dict(type='LoadRGBImage', keys=['img_a', 'img_b']),
     dict(type='TransformBroadcaster',
          mapping={'img': ['img_a', 'img_b']},
          auto_remap=True,
          share_random_params=False,
          transforms=[
              dict(type='Resize', scale=(286, 286), keep_ratio=False,
                   interpolation='bicubic', backend='pillow'),
              dict(type='RandomCrop', crop_size=256),
              dict(type='RandomFlip', prob=0.5, direction='horizontal')]),
     dict(type='PackCycleGANInputs')]

Arrays between the steps are ``(H, W, 3)`` RGB ``uint8``.
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.image import imresize
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmengine.structures import BaseDataElement

from cyclegan_plugin.registry import TRANSFORMS
from .image_loading import load_rgb_image


@TRANSFORMS.register_module()
class LoadRGBImage(BaseTransform):
    """Load images as RGB ``uint8`` (see :mod:`.image_loading`).

    For each ``key`` reads the path ``results[f'{key}_path']`` and adds
    ``results[key]``, an ``(H, W, 3)`` RGB ``uint8`` array, and
    ``results[f'{key}_ori_shape']``, its ``(H, W)``.

    Args:
        keys (Sequence[str]): Image keys, e.g. ``['img_a', 'img_b']`` for
            training items, ``['img']`` for test items and
            ``['img', 'gt_img']`` for paired test items.
            Defaults to ``('img',)``.

    Raises:
        UnreadableImageError: From :func:`load_rgb_image`.
    """

    def __init__(self, keys: Sequence[str] = ('img', )) -> None:
        if isinstance(keys, str):
            keys = [keys]
        if not keys:
            raise ValueError('LoadRGBImage: `keys` must name at least one '
                             "image key, e.g. keys=['img'].")
        self.keys = list(keys)

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            if f'{key}_path' not in results:
                hint = (' A gt_img exists only for a dataset built with '
                        'paired=True.' if key == 'gt_img' else '')
                raise KeyError(
                    f"LoadRGBImage: the data has no '{key}_path' for key "
                    f'{key!r} (it has {sorted(results)}).{hint}')
        for key in self.keys:
            img = load_rgb_image(results[f'{key}_path'])
            results[key] = img
            results[f'{key}_ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys})'


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop ``results['img']`` to ``crop_size`` at a uniformly random place.

    An image smaller than the crop in either side is first upscaled, keeping
    its aspect ratio, until it covers the crop. Wrap it in
    ``TransformBroadcaster`` to crop several keys; the crop position is
    cached with ``cache_randomness``, so ``share_random_params=True`` gives
    every key the same window and ``False`` an independent one.

    Args:
        crop_size (int | tuple[int, int]): ``(height, width)`` of the crop;
            an int means a square.
        interpolation (str): mmcv interpolation for the upscaling.
            Defaults to ``'bicubic'``.
        backend (str): mmcv resize backend for the upscaling, ``'pillow'``
            or ``'cv2'``. Defaults to ``'pillow'``.
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 interpolation: str = 'bicubic',
                 backend: str = 'pillow') -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(crop_size)
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError('RandomCrop: crop_size must be a positive int or '
                             f'(height, width), got {crop_size!r}.')
        self.crop_size = crop_size
        self.interpolation = interpolation
        self.backend = backend

    @cache_randomness
    def _crop_origin(self, height: int, width: int) -> Tuple[int, int]:
        """Random top-left corner of the crop window."""
        crop_h, crop_w = self.crop_size
        top = np.random.randint(0, height - crop_h + 1)
        left = np.random.randint(0, width - crop_w + 1)
        return top, left

    def _cover_crop(self, img: np.ndarray) -> np.ndarray:
        """Upscale ``img`` (aspect ratio kept) until it covers the crop."""
        height, width = img.shape[:2]
        crop_h, crop_w = self.crop_size
        if height >= crop_h and width >= crop_w:
            return img
        scale = max(crop_h / height, crop_w / width)
        new_w = max(crop_w, round(width * scale))
        new_h = max(crop_h, round(height * scale))
        return imresize(
            img, (new_w, new_h),
            interpolation=self.interpolation,
            backend=self.backend)

    def transform(self, results: Dict) -> Dict:
        img = self._cover_crop(results['img'])
        top, left = self._crop_origin(*img.shape[:2])
        crop_h, crop_w = self.crop_size
        results['img'] = img[top:top + crop_h, left:left + crop_w]
        results['img_shape'] = (crop_h, crop_w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class PackCycleGANInputs(BaseTransform):
    """Pack images into ``uint8`` CHW tensors and a data sample.

    A training item (``img_a`` and ``img_b`` present) becomes::

        {'inputs': {'img_a': (3, H, W) uint8, 'img_b': (3, H, W) uint8},
         'data_samples': BaseDataElement(path_a=str, path_b=str)}

    A test item (``img`` present) becomes::

        {'inputs': {'img': (3, H, W) uint8},
         'data_samples': BaseDataElement(domain='a' | 'b', img_path=str,
                                         ori_shape=(h, w),
                                         gt_img=(3, H, W) uint8)}

    where ``gt_img`` is there only for paired datasets and ``ori_shape`` is
    the size of the file before resizing. Channels stay in RGB order.
    """

    def transform(self, results: Dict) -> Dict:
        if 'img_a' in results and 'img_b' in results:
            return self._pack_train(results)
        if 'img' in results:
            return self._pack_test(results)
        raise KeyError(
            'PackCycleGANInputs: expected images under img_a and img_b '
            '(training) or img (test), got keys '
            f'{sorted(results)}. Is LoadRGBImage in the pipeline?')

    @staticmethod
    def _pack_train(results: Dict) -> Dict:
        inputs = {
            'img_a': _to_chw_tensor(results['img_a'], 'img_a'),
            'img_b': _to_chw_tensor(results['img_b'], 'img_b'),
        }
        data_sample = BaseDataElement(
            path_a=results['img_a_path'], path_b=results['img_b_path'])
        return {'inputs': inputs, 'data_samples': data_sample}

    @staticmethod
    def _pack_test(results: Dict) -> Dict:
        height, width = results['img_ori_shape']
        fields = dict(
            domain=results['domain'],
            img_path=results['img_path'],
            ori_shape=(int(height), int(width)))
        if 'gt_img' in results:
            fields['gt_img'] = _to_chw_tensor(results['gt_img'], 'gt_img')
        elif 'gt_img_path' in results:
            raise KeyError(
                'PackCycleGANInputs: the dataset is paired (the data has '
                "gt_img_path) but gt_img was not loaded; use LoadRGBImage("
                "keys=['img', 'gt_img']) and resize gt_img like img.")
        return {
            'inputs': {
                'img': _to_chw_tensor(results['img'], 'img')
            },
            'data_samples': BaseDataElement(**fields)
        }

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


def _to_chw_tensor(img: np.ndarray, key: str) -> torch.Tensor:
    """``(H, W, 3)`` uint8 array -> contiguous ``(3, H, W)`` uint8 tensor."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(
            f'PackCycleGANInputs: {key!r} must be an (H, W, 3) uint8 RGB '
            f'array, got {img.dtype} {img.shape}.')
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
