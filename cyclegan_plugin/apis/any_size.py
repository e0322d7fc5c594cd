"""Run a generator on images of any size: pad by reflection, crop back.

The ResNet generators need sides that are multiples of their size multiple
(4 for two stride-2 convs). Padding the bottom and right by reflection up to
the next multiple, and cropping the output back, keeps every input pixel as
it is (no resampling) and changes only a few pixels near those edges.

Reflection needs the padding to be smaller than the side, and the
generator's own reflection padding in the residual blocks needs a bottleneck
of at least 2 x 2, i.e. a padded side of at least twice the multiple. Sides
of at least :func:`min_side` (5 for a multiple of 4) satisfy both; smaller
images are refused with a clear error.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def min_side(multiple: int) -> int:
    """The smallest height and width :class:`AnySizeGenerator` takes.

    ``multiple + 1`` pads to at least ``2 * multiple`` (a 2 x 2
    bottleneck) with less padding than the side; never below 4, which the
    7 x 7 convs' reflection padding of 3 needs.
    """
    return max(multiple + 1, 4)


def check_min_side(images: torch.Tensor, smallest: int) -> None:
    """Raises ValueError if the sides of (N, C, H, W) ``images`` are below
    ``smallest``."""
    height, width = images.shape[-2], images.shape[-1]
    if height < smallest or width < smallest:
        raise ValueError(f'the image is {height}x{width} px but the '
                         f'generator needs at least {smallest}x{smallest}; '
                         f'upscale it or pad it first (Translator pads '
                         f'smaller images by repeating their edges).')


def pad_to_multiple(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflection-pads (N, C, H, W) ``images`` on the bottom and right up to
    multiples of ``multiple``.

    Written with shape arithmetic only, so a traced graph (ONNX) keeps the
    amounts dynamic and TorchScript can script it.
    """
    height, width = images.shape[-2], images.shape[-1]
    pad_h = (multiple - height % multiple) % multiple
    pad_w = (multiple - width % multiple) % multiple
    return F.pad(images, [0, pad_w, 0, pad_h], mode='reflect')


class AnySizeGenerator(nn.Module):
    """A generator that takes (N, 3, H, W) images of any H, W >= ``min_side``
    and returns (N, 3, H, W): pads by reflection to the generator's size
    multiple, translates, crops back.

    This is the module :func:`~cyclegan_plugin.apis.export_generator`
    exports, and what :class:`~cyclegan_plugin.apis.Translator` runs on
    each image, so both give the same output.

    Args:
        generator: A fully convolutional generator.
        size_multiple: The multiple its sides must have; by default its
            ``size_multiple`` attribute (1 if absent). Pass it for a traced
            generator, which keeps no Python attributes.
    """

    size_multiple: int
    min_side: int

    def __init__(self,
                 generator: nn.Module,
                 size_multiple: Optional[int] = None):
        super().__init__()
        self.generator = generator
        self.size_multiple = int(
            size_multiple or getattr(generator, 'size_multiple', 1))
        self.min_side = min_side(self.size_multiple)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> (N, 3, H, W) in [-1, 1]."""
        # Scripted (TorchScript) the check raises the same message; a trace
        # (ONNX) records none.
        check_min_side(images, self.min_side)
        height, width = images.shape[-2], images.shape[-1]
        translated = self.generator(
            pad_to_multiple(images, self.size_multiple))
        return translated[:, :, :height, :width]
