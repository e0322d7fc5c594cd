import numpy as np
import pytest

from cyclegan_plugin.visualization import resize_rgb, tile
from cyclegan_plugin.visualization.grid import BACKGROUND, GAP, GROUP_GAP


def solid(value, height=8, width=6):
    return np.full((height, width, 3), value, np.uint8)


def test_cells_are_placed_row_by_row_with_gaps():
    grid = tile([[solid(10), solid(20)], [solid(30)]])
    assert grid.shape == (2 * 8 + GAP, 2 * 6 + GAP, 3)
    assert (grid[:8, :6] == 10).all()
    assert (grid[:8, 6 + GAP:] == 20).all()
    assert (grid[8 + GAP:, :6] == 30).all()
    assert (grid[8:8 + GAP] == BACKGROUND).all()
    assert (grid[8 + GAP:, 6:] == BACKGROUND).all()  # the missing cell


def test_groups_get_wider_gaps_and_labels_a_header():
    row = [solid(v) for v in (1, 2, 3, 4, 5, 6)]
    grid = tile([row], labels=['a', 'b', 'c'] * 2, group=3)
    assert grid.shape[1] == 6 * 6 + 4 * GAP + GROUP_GAP
    top = grid.shape[0] - 8
    assert top > 0
    header = grid[:top]
    assert (header < BACKGROUND).any()  # some text was drawn
    fourth = 3 * 6 + 2 * GAP + GROUP_GAP
    assert (grid[top:, fourth:fourth + 6] == 4).all()


def test_smaller_images_sit_top_left_in_their_cell():
    grid = tile([[solid(50, 4, 4), solid(60, 8, 6)]])
    assert (grid[:4, :4] == 50).all()
    assert (grid[4:8, :4] == BACKGROUND).all()


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match='at least one image'):
        tile([[]])


@pytest.mark.parametrize('shape', [(5, 7), (40, 30), (10, 3)])
def test_resize_rgb_reaches_the_shape(shape):
    image = np.random.default_rng(0).integers(0, 256, (16, 12, 3), np.uint8)
    out = resize_rgb(image, shape)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    # A constant image stays constant whichever interpolation is used.
    assert (resize_rgb(solid(77, 16, 12), shape) == 77).all()
