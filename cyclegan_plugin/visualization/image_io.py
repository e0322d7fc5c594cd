"""Converting, resizing and saving the uint8 RGB images the model outputs."""
import os
import os.path as osp
from typing import Tuple

import cv2
import numpy as np
import torch


def to_hwc(image: torch.Tensor) -> np.ndarray:
    """A (3, H, W) uint8 RGB tensor -> an (H, W, 3) uint8 RGB array."""
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f'expected a (3, H, W) uint8 RGB tensor, got '
                         f'{image.dtype} {tuple(image.shape)}.')
    return np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())


def resize_rgb(image: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Resizes an (H, W, 3) uint8 image to ``shape`` = (height, width).

    Area averaging when shrinking (no aliasing), bicubic when enlarging.
    """
    height, width = int(shape[0]), int(shape[1])
    if image.shape[:2] == (height, width):
        return image
    shrinking = height * width < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interpolation)


def save_rgb(path: str, image: np.ndarray) -> None:
    """Writes an (H, W, 3) uint8 RGB array, creating the parent folder.

    The format follows the extension (OpenCV's encoders).

    Raises:
        OSError: The file could not be written.
    """
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write image {path!r}; check that the '
                      f'folder is writable and the extension is an image '
                      f'format.')
