"""Turns collated uint8 RGB images into the [-1, 1] tensors CycleGAN uses."""
from typing import List, Union

import torch
from mmengine.model import BaseDataPreprocessor

from cyclegan_plugin.registry import MODELS


@MODELS.register_module()
class CycleGANDataPreprocessor(BaseDataPreprocessor):
    """Stacks, moves and scales every image of ``data['inputs']``.

    The dataset delivers RGB uint8 tensors (3, H, W) under any key
    (``img_a``/``img_b`` in training, ``img`` in test); each key becomes a
    float tensor (N, 3, H, W) in [-1, 1] on the model's device. Channel
    order is kept as it is: the images are RGB from decoding to saving.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = {
            key: self.normalize(self._stack(key, images))
            for key, images in data['inputs'].items()
        }
        return dict(inputs=inputs, data_samples=data.get('data_samples'))

    @staticmethod
    def _stack(key: str, images: Union[torch.Tensor, List[torch.Tensor]]
               ) -> torch.Tensor:
        batch = torch.stack(images) if isinstance(images, list) else images
        if batch.dtype != torch.uint8 or batch.ndim != 4 or batch.shape[
                1] != 3:
            raise ValueError(
                f'inputs[{key!r}] must be uint8 RGB images of shape '
                f'(N, 3, H, W), got {batch.dtype} {tuple(batch.shape)}; '
                f'end the pipeline with PackCycleGANInputs.')
        return batch

    @staticmethod
    def normalize(images: torch.Tensor) -> torch.Tensor:
        """uint8 [0, 255] -> float32 [-1, 1]."""
        return images.float() / 127.5 - 1

    @staticmethod
    def to_uint8(images: torch.Tensor) -> torch.Tensor:
        """float [-1, 1] (any dtype) -> uint8 [0, 255], rounded."""
        return ((images.float() + 1) * 127.5).round().clamp(0, 255).to(
            torch.uint8)
