import cv2
import numpy as np
import pytest

from cyclegan_plugin.visualization import error_heat_map
from cyclegan_plugin.visualization.error_map import FULL_SCALE


def colour_map(level):
    """The RGB colour the heat map uses for ``level`` (0..255)."""
    bgr = cv2.applyColorMap(np.uint8([[level]]), cv2.COLORMAP_INFERNO)
    return bgr[0, 0, ::-1]


def test_error_is_shown_where_it_is_on_a_fixed_scale():
    target = np.full((8, 8, 3), 100, np.uint8)
    image = target.copy()
    image[2, 3] += FULL_SCALE // 2  # half scale in every channel
    image[5, 5, 0] += 3 * FULL_SCALE // 2  # saturates: mean over RGB 0.5
    image[6, 6] = 255  # far beyond the scale
    heat = error_heat_map(image, target)
    assert heat.shape == (8, 8, 3) and heat.dtype == np.uint8
    assert (heat[0, 0] == colour_map(0)).all()
    assert (heat[2, 3] == colour_map(127)).all()
    assert (heat[5, 5] == colour_map(127)).all()
    assert (heat[6, 6] == colour_map(255)).all()
    unchanged = np.ones((8, 8), bool)
    unchanged[[2, 5, 6], [3, 5, 6]] = False
    assert (heat[unchanged] == colour_map(0)).all()


def test_shapes_must_match():
    with pytest.raises(ValueError, match='shapes differ'):
        error_heat_map(np.zeros((4, 4, 3), np.uint8),
                       np.zeros((4, 5, 3), np.uint8))
