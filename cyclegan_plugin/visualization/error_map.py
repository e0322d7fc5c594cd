"""Per-pixel error heat maps: where a translation misses its ground truth.

PSNR says how far a translation is from its target; the heat map says
where: misplaced or missing outlines show as thin bright curves, a colour
cast as a bright area. The scale is fixed (:data:`FULL_SCALE`), so maps of
different images and runs can be compared by eye.
"""
import cv2
import numpy as np

#: The mean absolute RGB difference (0..255 levels) drawn at the top of the
#: colour map; larger differences saturate.
FULL_SCALE = 96


def error_heat_map(image: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``|image - target|`` averaged over RGB, as an (H, W, 3) uint8 RGB
    heat map (black 0, yellow-white :data:`FULL_SCALE` levels or more).

    Args:
        image, target: (H, W, 3) uint8 RGB of the same shape.
    """
    if image.shape != target.shape:
        raise ValueError(f'error_heat_map: shapes differ, {image.shape} and '
                         f'{target.shape}.')
    error = np.abs(image.astype(np.int16) - target.astype(np.int16)).mean(2)
    level = np.clip(error * (255 / FULL_SCALE), 0, 255).astype(np.uint8)
    heat = cv2.applyColorMap(level, cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
