"""Translate images of any size with a trained CycleGAN."""
import warnings
from contextlib import nullcontext
from typing import Dict, Iterator, List, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from cyclegan_plugin.engine.amp import SlowBF16Warning, cpu_has_fast_bf16
from cyclegan_plugin.engine.checkpoint_io import (CheckpointError,
                                                  CheckpointMismatchError,
                                                  load_checkpoint_file)
from cyclegan_plugin.models.data_preprocessor import CycleGANDataPreprocessor
from cyclegan_plugin.registry import MODELS
from .inputs import ImageInput, to_rgb_array


def load_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The model weights of a training checkpoint (or of a bare state dict),
    read with ``weights_only=True`` and the engine's allow-list.

    Raises:
        CheckpointError: The file is missing, torn, unsafe or holds no
            weights.
    """
    loaded = load_checkpoint_file(checkpoint)
    state_dict = loaded.get('state_dict', loaded)
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f'{checkpoint!r} holds no state dict; pass a '
                              f'checkpoint written by training (iter_*.pth).')
    return state_dict


def build_model(config: Union[str, Config],
                checkpoint: str) -> torch.nn.Module:
    """Builds the config's model on the CPU, loads the checkpoint's weights
    and returns it in eval mode.

    Raises:
        CheckpointMismatchError: The weights do not fit the config's model.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    model = MODELS.build(cfg.model)
    try:
        model.load_state_dict(load_state_dict(checkpoint))
    except RuntimeError as err:
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint!r} does not fit the model of the config '
            f'(was it trained with another config?): {err}') from None
    return model.eval()


class Translator:
    """A trained CycleGAN that translates images of any size.

    Each image is normalised to [-1, 1], padded by reflection on the bottom
    and right to a multiple of the generator's size multiple (4 for two
    down-samplings), translated and cropped back to its own size. Padding
    rather than resizing keeps every input pixel as it is, with no
    resampling blur and no aspect-ratio change; the generator is fully
    convolutional and pads by reflection itself, so the few added rows and
    columns only affect pixels near the bottom and right edges. Images are
    translated at their own resolution, as the reference implementation
    does with ``--preprocess none``.

    Example::

        translator = Translator('configs/cyclegan/...py', 'iter_680000.pth')
        anime = translator.translate('selfie.jpg')  # (H, W, 3) uint8 RGB

    Args:
        config: Config file or object with the ``model`` of the checkpoint.
        checkpoint: Checkpoint written by training; read with
            ``weights_only=True`` (:func:`load_checkpoint_file`).
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        bf16: Run the generator under bfloat16 autocast (fast on GPUs and
            on CPUs with AVX512-BF16 or AMX). On a CPU without native bf16
            kernels, where it would run 10-100x slower than fp32, it falls
            back to fp32 with one :class:`SlowBF16Warning`.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: str = 'cpu',
                 bf16: bool = False):
        self.device = torch.device(device)
        if self.device.type == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError(f'device {device!r} requested but CUDA is not '
                               f'available; use device="cpu".')
        self.model = build_model(config, checkpoint).to(self.device)
        if bf16 and self.device.type == 'cpu' and not cpu_has_fast_bf16():
            warnings.warn(
                'Translator: this CPU has no native bf16 kernels, so bf16 '
                'would be much slower than fp32; translating in fp32.',
                SlowBF16Warning)
            bf16 = False
        self.bf16 = bf16

    def translate(self,
                  images: Union[ImageInput, Sequence[ImageInput]],
                  direction: str = 'a2b',
                  batch_size: int = 1) -> Union[np.ndarray, List[np.ndarray]]:
        """Translates one image or a list of images.

        Args:
            images: An image or a list of images, each an (H, W, 3) uint8
                RGB array, a PIL image or a file path.
            direction: ``'a2b'`` (G_A) or ``'b2a'`` (G_B).
            batch_size: Up to this many consecutive images of the same
                size go through the generator together.

        Returns:
            (H, W, 3) uint8 RGB arrays of the inputs' sizes: one array for
            one image, a list for a list.
        """
        self.model.generator_for(direction)  # refuses an unknown direction
        if batch_size < 1:
            raise ValueError(f'batch_size must be positive, got {batch_size}.')
        single = not isinstance(images, (list, tuple))
        arrays = [
            to_rgb_array(image) for image in ([images] if single else images)
        ]
        outputs: List[np.ndarray] = []
        for batch in _same_size_batches(arrays, batch_size):
            outputs += self._translate_batch(batch, direction)
        return outputs[0] if single else outputs

    @torch.no_grad()
    def _translate_batch(self, arrays: Sequence[np.ndarray],
                         direction: str) -> List[np.ndarray]:
        """Translates same-sized (H, W, 3) uint8 arrays."""
        height, width = arrays[0].shape[:2]
        batch = torch.from_numpy(np.stack(arrays)).to(self.device)
        batch = CycleGANDataPreprocessor.normalize(batch.permute(0, 3, 1, 2))
        batch = _pad_to_multiple(batch, self._size_multiple(direction))
        autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.bf16 else nullcontext())
        with autocast:
            fake = self.model.translate(batch, direction)
        fake = CycleGANDataPreprocessor.to_uint8(fake[:, :, :height, :width])
        return list(fake.permute(0, 2, 3, 1).cpu().numpy())

    def _size_multiple(self, direction: str) -> int:
        return getattr(
            self.model.generator_for(direction), 'size_multiple', 1)


def _same_size_batches(arrays: Sequence[np.ndarray],
                       batch_size: int) -> Iterator[List[np.ndarray]]:
    """Runs of consecutive same-shaped arrays, at most ``batch_size``
    long."""
    batch: List[np.ndarray] = []
    for array in arrays:
        if batch and (len(batch) == batch_size
                      or array.shape != batch[0].shape):
            yield batch
            batch = []
        batch.append(array)
    if batch:
        yield batch


def _pad_to_multiple(batch: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pads (N, C, H, W) on the bottom and right up to multiples of
    ``multiple``, and to at least ``2 * multiple`` so the bottleneck is
    at least 2 x 2, which reflection padding inside the generator needs."""
    height, width = batch.shape[-2:]
    pad_h = _padded(height, multiple) - height
    pad_w = _padded(width, multiple) - width
    if not pad_h and not pad_w:
        return batch
    # Reflection needs padding smaller than the side; only images a few
    # pixels wide fall back to repeating the edge.
    mode = 'reflect' if pad_h < height and pad_w < width else 'replicate'
    return F.pad(batch, (0, pad_w, 0, pad_h), mode=mode)


def _padded(size: int, multiple: int) -> int:
    return max(-(-size // multiple) * multiple, 2 * multiple)
