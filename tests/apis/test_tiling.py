"""Tiled translation against whole-image translation.

The generator is a tiny one (8 channels, 2 residual blocks, so 9
instance-norm layers; PyTorch's default initialisation); the image a
160 x 128 toy face in 2 x 2 tiles of 96 px overlapping by 24. Random
weights make a noise-like output, which instance norm makes sensitive to
its statistics: the tolerances below were measured on it, they are not
guesses.
"""
import pytest
import torch
import torch.nn.functional as F

from cyclegan_plugin.apis.tiling import (SharedNormStatistics, blend_tiles,
                                         check_tiling, owned_spans, tile_spans,
                                         translate_tiled)
from cyclegan_plugin.datasets.toy_faces import render_pair
from cyclegan_plugin.registry import MODELS

TILE, OVERLAP = 96, 24


@pytest.fixture(scope='module')
def generator():
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='ResnetGenerator', base_channels=8, num_blocks=2)).eval()


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


@pytest.mark.parametrize('length,tile,overlap', [(160, 64, 16), (160, 96, 24),
                                                 (2000, 512, 32),
                                                 (1500, 512, 32), (64, 64, 8),
                                                 (100, 33, 7), (128, 64, 0)])
def test_owned_spans_cover_the_side_once_from_the_middle_of_overlaps(
        length, tile, overlap):
    length -= length % 4
    spans = tile_spans(length, tile, overlap, multiple=4)
    owned = owned_spans(spans, multiple=4)
    counts = torch.zeros(length, dtype=torch.int)
    for (start, end), (own_start, own_end) in zip(spans, owned):
        assert start <= own_start < own_end <= end
        assert own_start % 4 == 0 and own_end % 4 == 0
        counts[own_start:own_end] += 1
    assert torch.all(counts == 1)
    for (_, end), (start, _), (_, cut) in zip(spans, spans[1:], owned):
        assert abs(cut - (start + end) / 2) <= 2


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
    assert diff[away].max() <= 0.5  # measured 0.0003
    # Near the seams the tiles lack context (up to 53 levels off here): the
    # blend fades it out rather than making it exact.
    assert diff[~away].max() > 1


def statistics_error(tiled, untiled):
    """Per norm layer: the largest difference over channels of the tiled
    mean from the untiled one, in untiled standard deviations, or of the
    log of their variances."""
    errors = []
    for module in untiled.norms:
        (mean, variance), (reference_mean, reference_variance) = (
            tiled.statistics[module], untiled.statistics[module])
        scale = (reference_variance + module.eps).sqrt()
        ratio = (variance + module.eps) / (reference_variance + module.eps)
        errors.append(max(((mean - reference_mean).abs() / scale).max(),
                          ratio.log().abs().max()).item())
    return errors


@pytest.fixture(scope='module')
def passes(generator, face):
    """The untiled translation, and per number of measuring passes (1 to
    the number of norm layers) the statistics' error per layer and the
    blended translation."""
    rows, cols = tile_spans(160, TILE, OVERLAP, 4), tile_spans(128, TILE,
                                                               OVERLAP, 4)
    untiled = SharedNormStatistics(generator)
    results = []
    with torch.no_grad():
        with untiled.measuring():
            reference = generator(face)
        for count in range(1, len(untiled.norms) + 1):
            tiled = SharedNormStatistics(generator)
            tiled.measure_tiles(generator, face, rows, cols, 4, count)
            with tiled.applying():
                out = blend_tiles(generator, face, rows, cols)
            results.append((statistics_error(tiled, untiled), out))
    return reference, results


def difference_away_from_seams(tiled, untiled):
    """Grey levels, the largest over channels, of the pixels that
    :func:`away_from_seams` keeps."""
    rows, cols = tile_spans(160, TILE, OVERLAP, 4), tile_spans(128, TILE,
                                                               OVERLAP, 4)
    diff = (levels(tiled) - levels(untiled)).abs()[0].amax(0)
    return diff[away_from_seams(160, 128, rows, cols)]


def test_each_pass_makes_one_more_layer_the_whole_images(passes):
    """After ``n`` passes the first ``n`` norm layers' statistics are the
    untiled ones, up to the context the owned regions lack (all 9 layers:
    measured at most 0.016 std; tiles pooled as wholes, each normalising
    itself, were 0.17-0.27 off)."""
    _, results = passes
    assert len(results) == 9  # 1 + 2 downsampling + 2 x 2 blocks + 2 up
    for count, (errors, _) in enumerate(results, 1):
        assert max(errors[:count]) <= 0.05, (count, errors)
    # One pass settles only the first layer, which no norm precedes; the
    # second is then off by 0.23.
    assert results[0][0][1] > 0.1


def test_enough_passes_match_the_untiled_translation(generator, face,
                                                     passes):
    """With a pass per norm layer (translate_tiled's default), the tiled
    translation is the untiled one away from seams, and more passes make
    it closer. Measured mean (max) grey levels over 1..9 passes: 8.9
    (52), 7.4, 5.6, 4.3, 3.3, 2.1, 1.5, 0.61, 0.30 (1.3); statistics
    pooled over whole tiles in one pass left 10.8 (63)."""
    reference, results = passes
    means = [difference_away_from_seams(out, reference).mean().item()
             for _, out in results]
    assert all(later < earlier for earlier, later in zip(means, means[1:]))
    assert means[-1] <= means[0] / 10
    with torch.no_grad():
        tiled = translate_tiled(generator, face, TILE, OVERLAP)
    assert torch.equal(tiled, results[-1][1])
    diff = difference_away_from_seams(tiled, reference)
    assert diff.mean() <= 1 and diff.max() <= 4


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


def test_blending_leaves_a_small_seam_step(generator, face, passes):
    """Across each seam, the tiled output's difference from the untiled one
    (the image's own edges cancel in it) steps by a fraction of what tiles
    that only touch leave, at the same line. What remains is the tiles'
    disagreement where the overlap's middle lacks context: away from
    seams the difference is near 0 (see above)."""
    untiled, results = passes
    blended = results[-1][1] - untiled
    with torch.no_grad():
        touching = translate_tiled(generator, face, TILE, 0) - untiled
    for axis in ('rows', 'columns'):
        if axis == 'columns':
            blended = blended.transpose(2, 3)
            touching = touching.transpose(2, 3)
        length = blended.shape[2]
        steps, rows, seams = seam_steps(blended,
                                        tile_spans(length, TILE, OVERLAP, 4))
        touching_steps, _, touching_seams = seam_steps(
            touching, tile_spans(length, TILE, 0, 4))
        assert seams == touching_seams
        for seam in seams:
            # Measured in grey levels: 1.5 (rows) and 2.2 (columns) against
            # 6.8 and 6.9 for touching tiles.
            assert steps[rows == seam] <= 0.5 * touching_steps[rows == seam]


def test_one_tile_is_the_untiled_translation(generator, face):
    with torch.no_grad():
        untiled = generator(face)
        whole = translate_tiled(generator, face, 160, OVERLAP)
    assert torch.equal(whole, untiled)


@pytest.mark.parametrize('norm,stat_passes,passes', [('instance', None, 10),
                                                     ('instance', 2, 3),
                                                     ('batch', None, 1)])
def test_no_tile_is_larger_than_asked(generator, face, norm, stat_passes,
                                      passes):
    """Each measuring pass (by default one per instance-norm layer, 9
    here; none for batch norm in eval mode) and the blend run every one
    of the 2 x 2 tiles once."""
    if norm == 'batch':
        generator = MODELS.build(
            dict(type='ResnetGenerator', base_channels=8, num_blocks=2,
                 norm='batch')).eval()
    shapes = []
    handle = generator.register_forward_pre_hook(
        lambda module, inputs: shapes.append(tuple(inputs[0].shape[-2:])))
    try:
        out = translate_tiled(generator, face[:, :, :150, :113], TILE,
                              OVERLAP, stat_passes)
    finally:
        handle.remove()
    assert out.shape == (1, 3, 150, 113)
    assert len(shapes) == passes * 4
    assert max(max(shape) for shape in shapes) <= TILE


@pytest.mark.parametrize('stat_passes,reaching',
                         [(None, [10, 9, 8, 7, 6, 5, 4, 3, 2]),
                          (12, [10, 9, 8, 7, 6, 5, 4, 3, 2]),
                          (2, [3, 2, 2, 2, 2, 2, 2, 2, 2])])
def test_measuring_passes_stop_after_the_layers_they_need(
        generator, face, stat_passes, reaching):
    """``reaching``: per norm layer, how many of the measuring passes and
    the blend run it on every tile. Pass ``i`` stops its forward at norm
    layer ``i``, the last pass at the last norm layer, so only the blend
    runs the whole network; passes beyond the 9 layers are not run."""
    norms = SharedNormStatistics(generator).norms
    last_layer = generator.model[-1]
    counts = dict.fromkeys(norms + [last_layer], 0)

    def count(module, inputs):
        counts[module] += 1

    handles = [module.register_forward_pre_hook(count) for module in counts]
    try:
        with torch.no_grad():
            translate_tiled(generator, face, TILE, OVERLAP, stat_passes)
    finally:
        for handle in handles:
            handle.remove()
    assert [counts[module] for module in norms] == [4 * n for n in reaching]
    assert counts[last_layer] == 4


@pytest.mark.parametrize('tile,overlap,stat_passes,message',
                         [(16, 4, None, 'at least 32'),
                          (64.0, 8, None, 'integer'),
                          (64, 17, None, 'from 0 to tile // 4 = 16'),
                          (64, -1, None, 'from 0'),
                          (64, 8, 0, 'stat_passes must be a positive'),
                          (64, 8, 2.0, 'stat_passes must be a positive')])
def test_bad_tiling_is_refused(tile, overlap, stat_passes, message):
    with pytest.raises(ValueError, match=message):
        check_tiling(tile, overlap, stat_passes)
