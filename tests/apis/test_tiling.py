"""Tiled translation against whole-image translation.

The generator is the tests' tiny one (8 channels, 1 residual block,
PyTorch's default initialisation); the image a 160 x 128 toy face in 3 x 3
tiles of 64 px overlapping by 16. Random weights make a noise-like output,
which instance norm makes sensitive to its statistics: the tolerances below
were measured on it (and match a briefly trained generator's, see the
README), they are not guesses.
"""
import pytest
import torch
import torch.nn.functional as F

from cyclegan_plugin.apis.tiling import (SharedNormStatistics, blend_tiles,
                                         check_tiling, tile_spans,
                                         translate_tiled)
from cyclegan_plugin.datasets.toy_faces import render_pair
from cyclegan_plugin.registry import MODELS

TILE, OVERLAP = 64, 16


@pytest.fixture(scope='module')
def generator():
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='ResnetGenerator', base_channels=8, num_blocks=1)).eval()


@pytest.fixture(scope='module')
def face():
    image = render_pair([0, 2, 3], 160)[0][:, 16:144]  # 160 x 128
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1


def levels(images):
    """[-1, 1] -> grey levels of 0..255, as float."""
    return (images + 1) * 127.5


def away_from_seams(height, width, rows, cols, margin=4):
    """True where a pixel lies in one tile only, ``margin`` px from any
    overlap."""
    mask = torch.ones(height, width, dtype=torch.bool)
    for spans, axis_mask in ((rows, lambda a, b: mask[a:b]),
                             (cols, lambda a, b: mask[:, a:b])):
        for (_, end), (start, _) in zip(spans, spans[1:]):
            axis_mask(max(start - margin, 0), end + margin)[...] = False
    return mask


@pytest.mark.parametrize('length,tile,overlap', [(160, 64, 16), (128, 64, 16),
                                                 (2000, 512, 32),
                                                 (1500, 512, 32), (64, 64, 8),
                                                 (100, 33, 7)])
def test_tiles_cover_the_side_on_the_grid_and_overlap(length, tile, overlap):
    length -= length % 4
    spans = tile_spans(length, tile, overlap, multiple=4)
    assert spans[0][0] == 0 and spans[-1][1] == length
    for start, end in spans:
        assert start % 4 == 0 and end % 4 == 0 and end - start <= tile
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end - start >= overlap
    if length <= tile:
        assert spans == [(0, length)]


def test_with_whole_image_statistics_tiles_are_exact_away_from_seams(
        generator, face):
    """Layout and blending lose nothing: given the statistics of the whole
    image, every pixel away from the overlaps is the untiled one."""
    rows, cols = tile_spans(160, TILE, OVERLAP, 4), tile_spans(128, TILE,
                                                               OVERLAP, 4)
    statistics = SharedNormStatistics(generator)
    with torch.no_grad():
        with statistics.measuring():
            untiled = generator(face)
        with statistics.applying():
            tiled = blend_tiles(generator, face, rows, cols)
    away = away_from_seams(160, 128, rows, cols)
    diff = (levels(tiled) - levels(untiled)).abs()[0].amax(0)
    assert diff[away].max() <= 0.5  # measured 0.0002
    # Near the seams the tiles lack context (up to 92 levels off here): the
    # blend fades it out rather than making it exact.
    assert diff[~away].max() > 1


def test_shared_statistics_halve_the_difference_from_untiled(generator, face):
    rows, cols = tile_spans(160, TILE, OVERLAP, 4), tile_spans(128, TILE,
                                                               OVERLAP, 4)
    away = away_from_seams(160, 128, rows, cols)
    with torch.no_grad():
        untiled = levels(generator(face))
        shared = levels(translate_tiled(generator, face, TILE, OVERLAP))
        per_tile = levels(blend_tiles(generator, face, rows, cols))
    shared_diff = (shared - untiled).abs()[0].amax(0)[away]
    per_tile_diff = (per_tile - untiled).abs()[0].amax(0)[away]
    # Measured: 15.5 grey levels on average (max 63) with shared
    # statistics, 31.4 (max 166) with each tile's own.
    assert shared_diff.mean() <= 20
    assert shared_diff.mean() <= 0.6 * per_tile_diff.mean()


def seam_steps(difference, spans):
    """Per row boundary: how much the mean of 4 rows below differs from the
    mean of 4 rows above, averaged over 8 px wide column segments and the
    channels; and the boundaries in the middle of each overlap."""
    segments = F.avg_pool2d(difference, (1, 8))
    sums = F.pad(segments.cumsum(2), (0, 0, 1, 0))
    rows = torch.arange(4, difference.shape[2] - 3)
    above = (sums[:, :, rows] - sums[:, :, rows - 4]) / 4
    below = (sums[:, :, rows + 4] - sums[:, :, rows]) / 4
    steps = (below - above).abs().mean(dim=(0, 1, 3))
    overlaps = zip(spans, spans[1:])
    seams = [(start + end) // 2 for (_, end), (start, _) in overlaps]
    return steps, rows, seams


@pytest.mark.parametrize('axis', ['rows', 'columns'])
def test_blending_leaves_no_seam_step(generator, face, axis):
    """The tiled output's difference from the untiled one changes no more
    across a seam than across a typical line of the image (the image's own
    edges cancel in the difference); with tiles that only touch, it
    jumps."""
    with torch.no_grad():
        untiled = generator(face)
        blended = translate_tiled(generator, face, TILE, OVERLAP) - untiled
        touching = translate_tiled(generator, face, TILE, 0) - untiled
    if axis == 'columns':
        blended, touching = blended.transpose(2, 3), touching.transpose(2, 3)
    length = blended.shape[2]
    for difference, overlap, limit in ((blended, OVERLAP, 1.6),
                                       (touching, 0, None)):
        steps, rows, seams = seam_steps(difference,
                                        tile_spans(length, TILE, overlap, 4))
        ratios = [(steps[rows == seam] / steps.median()).item()
                  for seam in seams]
        if limit is None:  # measured 2.8-3.1 without overlap
            assert min(ratios) > 2
        else:  # measured 1.15-1.42; 1.26-1.35 for the 10% largest lines
            assert max(ratios) <= limit


def test_one_tile_is_the_untiled_translation(generator, face):
    with torch.no_grad():
        untiled = generator(face)
        whole = translate_tiled(generator, face, 160, OVERLAP)
    assert torch.equal(whole, untiled)


def test_no_tile_is_larger_than_asked(generator, face):
    shapes = []
    handle = generator.register_forward_pre_hook(
        lambda module, inputs: shapes.append(tuple(inputs[0].shape[-2:])))
    try:
        out = translate_tiled(generator, face[:, :, :150, :113], TILE,
                              OVERLAP)
    finally:
        handle.remove()
    assert out.shape == (1, 3, 150, 113)
    # Two passes (statistics, then the blend) over 3 x 3 tiles.
    assert len(shapes) == 2 * 9
    assert max(max(shape) for shape in shapes) <= TILE


@pytest.mark.parametrize('tile,overlap,message',
                         [(16, 4, 'at least 32'), (64.0, 8, 'integer'),
                          (64, 17, 'from 0 to tile // 4 = 16'),
                          (64, -1, 'from 0')])
def test_bad_tiling_is_refused(tile, overlap, message):
    with pytest.raises(ValueError, match=message):
        check_tiling(tile, overlap)
