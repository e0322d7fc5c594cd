"""Turning the images users pass to the APIs into (H, W, 3) uint8 RGB."""
from os import PathLike
from typing import Union

import numpy as np
from PIL import Image

from cyclegan_plugin.datasets.image_loading import load_rgb_image

ImageInput = Union[np.ndarray, Image.Image, str, PathLike]


def to_rgb_array(image: ImageInput) -> np.ndarray:
    """Returns ``image`` as an (H, W, 3) uint8 RGB array.

    Args:
        image: An (H, W, 3) uint8 RGB or (H, W) uint8 gray array, a PIL
            image of any mode, or the path of an image file. Gray is
            repeated into RGB; files and PIL images with transparency are
            composited on white, as the datasets do.

    Raises:
        UnreadableImageError: A path that does not decode.
        ValueError: An array of another shape or dtype.
        TypeError: Anything else.
    """
    if isinstance(image, np.ndarray):
        if image.dtype == np.uint8 and image.ndim == 2:
            return np.repeat(image[:, :, None], 3, axis=2)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f'image arrays must be (H, W, 3) uint8 RGB or (H, W) uint8 '
                f'gray, got {image.dtype} {image.shape}; convert RGBA arrays '
                f'first, or pass a PIL image.')
        return image
    if isinstance(image, Image.Image):
        if image.mode in ('RGBA', 'LA', 'PA') or 'transparency' in image.info:
            white = Image.new('RGBA', image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, image.convert('RGBA'))
        return np.array(image.convert('RGB'), dtype=np.uint8)
    if isinstance(image, (str, PathLike)):
        return load_rgb_image(image)
    raise TypeError(f'cannot translate a {type(image).__name__}; pass an '
                    f'(H, W, 3) uint8 RGB array, a PIL image or a path.')
