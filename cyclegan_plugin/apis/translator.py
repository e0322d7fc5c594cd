"""Translate images of any size with a trained CycleGAN."""
import warnings
from contextlib import nullcontext
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from cyclegan_plugin.cli.config_checks import (ConfigError, check_arguments,
                                               error_line)
from cyclegan_plugin.cli.config_overrides import load_config
from cyclegan_plugin.engine.amp import SlowBF16Warning, cpu_has_fast_bf16
from cyclegan_plugin.engine.checkpoint_io import (load_model_weights,
                                                  model_weights,
                                                  read_checkpoint)
from cyclegan_plugin.engine.memory_format import to_channels_last
from cyclegan_plugin.models.data_preprocessor import CycleGANDataPreprocessor
from cyclegan_plugin.models.winograd import use_winograd
from cyclegan_plugin.registry import MODELS
from .any_size import AnySizeGenerator
from .inputs import ImageInput, to_rgb_array
from .tiling import check_tiling, translate_tiled


def load_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The model weights of a training checkpoint (or of a bare state dict),
    read with ``weights_only=True`` and the engine's allow-list.

    Raises:
        CheckpointError: The file is missing, torn, unsafe or holds no
            weights.
    """
    return model_weights(read_checkpoint(checkpoint), checkpoint)


def build_model(config: Union[str, Config],
                checkpoint: str) -> torch.nn.Module:
    """Builds the config's model on the CPU, loads the checkpoint's weights
    and returns it in eval mode.

    Config and checkpoint are read, checked and loaded as the training and
    test runner does (:func:`load_config`, :func:`check_arguments`,
    :func:`load_model_weights`), so every problem is reported in the same
    words.

    Raises:
        ConfigError: The config cannot be read, or its model not built.
        CheckpointError: The checkpoint is missing, torn or unsafe.
        CheckpointMismatchError: The weights do not fit the config's model.
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    check_arguments(cfg, ['model'])
    try:
        model = MODELS.build(cfg.model)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f'{cfg.filename}: {error_line(err)}') from err
    load_model_weights(model, load_state_dict(checkpoint), checkpoint)
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
    does with ``--preprocess none``. Images smaller than the generator's
    minimum (5 px for a multiple of 4, see :class:`AnySizeGenerator`) are
    first extended to it by repeating their last row and column.

    With ``tile``, large images go through the generator in overlapping
    tiles of at most ``tile`` x ``tile`` px, which bounds the memory a
    translation takes whatever the image size; see
    :mod:`cyclegan_plugin.apis.tiling` for how the tiles are blended and
    how instance norm is kept consistent across them.

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
        channels_last: Put the generators in channels-last memory format
            (see :mod:`cyclegan_plugin.engine.memory_format`). ``None``: on
            for the CPU, where with ``winograd`` it was the fastest fp32
            translation on each of three CPUs measured (AVX2 and AVX-512
            AMD EPYCs, an AMX Xeon: 1.31-1.72x the plain generator's
            images/s, and Winograd alone lost on the Xeon; README,
            "Performance") and bf16's fastest layout too.
        winograd: Run the 256-channel residual convolutions as Winograd
            F(4x4, 3x3) convolutions in fp32 on the CPU (a quarter of their
            FLOPs, the same output within about 5e-5; see
            :mod:`cyclegan_plugin.models.winograd`). ``None``: on for the
            CPU. Under ``bf16`` and on GPUs they run as before.
        tile: Largest tile side in px (at least 32, rounded down to the
            size multiple); ``None`` translates every image whole.
        overlap: Least overlap of neighbouring tiles in px, from 0 to
            ``tile // 4``; the blend fades across it.
        stat_passes: Passes over the tiles that measure the instance-norm
            statistics; by default one per instance-norm layer, which
            matches the untiled translation away from seams, fewer are
            faster (see :func:`~cyclegan_plugin.apis.translate_tiled`).
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: str = 'cpu',
                 bf16: bool = False,
                 channels_last: Optional[bool] = None,
                 winograd: Optional[bool] = None,
                 tile: Optional[int] = None,
                 overlap: int = 32,
                 stat_passes: Optional[int] = None):
        check_tiling(tile, overlap, stat_passes)
        self.tile = tile
        self.overlap = overlap
        self.stat_passes = stat_passes
        self.device = torch.device(device)
        if self.device.type == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError(f'device {device!r} requested but CUDA is not '
                               f'available; use device="cpu".')
        self.model = build_model(config, checkpoint).to(self.device)
        if channels_last is None:
            channels_last = self.device.type == 'cpu'
        if channels_last:
            to_channels_last(self.model)
        if winograd is None:
            winograd = self.device.type == 'cpu'
        if winograd:
            use_winograd(self.model)
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
        generator = AnySizeGenerator(self.model.generator_for(direction))
        batch = _repeat_edges_up_to(batch, generator.min_side)
        autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.bf16 else nullcontext())
        with autocast:
            if self.tile is None:
                fake = generator(batch)
            else:
                fake = translate_tiled(generator.generator, batch, self.tile,
                                       self.overlap, self.stat_passes)
        fake = CycleGANDataPreprocessor.to_uint8(fake[:, :, :height, :width])
        return list(fake.permute(0, 2, 3, 1).cpu().numpy())


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


def _repeat_edges_up_to(batch: torch.Tensor, smallest: int) -> torch.Tensor:
    """Extends (N, C, H, W) to at least ``smallest`` px per side by
    repeating the last row and column; larger images are returned as they
    are. Too few pixels to pad by reflection, a few-pixel image is
    translated as a slightly larger one and cropped back."""
    pad_h = max(smallest - batch.shape[-2], 0)
    pad_w = max(smallest - batch.shape[-1], 0)
    if not pad_h and not pad_w:
        return batch
    return F.pad(batch, (0, pad_w, 0, pad_h), mode='replicate')
