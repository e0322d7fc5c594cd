"""Translate large images tile by tile, in bounded memory.

A full-resolution activation of the paper generator holds 64 channels per
pixel, so a 2000 x 1500 photo needs gigabytes at once. Here the image goes
through the generator in overlapping tiles of at most ``tile`` x ``tile``
pixels, and the translated tiles are blended into one output:

* Tiles start and end on the generator's size-multiple grid (4 px for two
  stride-2 convs). The network is equivariant only to shifts by that
  multiple; a tile shifted by 2 px is translated differently everywhere.
* In each overlap the two tiles are cross-faded linearly, each tile's
  weight falling to 0 at its own edge, where its pixels lack context. The
  weights of all tiles sum to 1, so no seam step is left.
* Instance norm normalises with the statistics of the whole image; a tile
  alone would use its own (a sky tile and a grass tile get different
  colour shifts). Without extra memory the whole-image statistics can only
  be estimated: a first pass over the tiles measures each instance-norm
  layer's per-channel mean and variance, pooled over all tiles, and the
  second pass normalises every tile with those shared statistics. All tiles
  are then normalised alike, but the pooled values differ from the
  whole-image ones (the first pass itself normalised per tile), so the
  output differs from an untiled translation everywhere, not only at seams;
  see the README for measured differences. Generators without per-image
  norm layers (batch norm in eval mode, no norm) need one pass, and their
  tiled output equals the untiled one away from seams.
"""
import math
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from .any_size import pad_to_multiple

Span = Tuple[int, int]
Statistics = Dict[nn.Module, Tuple[torch.Tensor, torch.Tensor]]

MIN_TILE = 32


def check_tiling(tile: Optional[int], overlap: int) -> None:
    """Raises ValueError unless ``tile`` is None (no tiling) or an integer of
    at least :data:`MIN_TILE` and ``0 <= overlap <= tile // 4``."""
    if tile is None:
        return
    if not isinstance(tile, int) or tile < MIN_TILE:
        raise ValueError(f'tile must be an integer of at least {MIN_TILE} '
                         f'(px), got {tile!r}; e.g. tile=512.')
    if not isinstance(overlap, int) or not 0 <= overlap <= tile // 4:
        raise ValueError(f'overlap must be an integer from 0 to tile // 4 = '
                         f'{tile // 4} (px), got {overlap!r}; e.g. '
                         f'overlap=32.')


def tile_spans(length: int, tile: int, overlap: int,
               multiple: int) -> List[Span]:
    """``(start, end)`` of the tiles along one side of ``length`` px.

    The fewest tiles of at most ``tile`` px (rounded down to ``multiple``)
    that overlap by at least ``overlap`` px (rounded up to ``multiple``),
    all of the same size and spread evenly, with starts and ends on the
    ``multiple`` grid. ``length`` must be a multiple of ``multiple``.
    """
    units, tile_units = length // multiple, tile // multiple
    overlap_units = -(-overlap // multiple)
    if units <= tile_units:
        return [(0, length)]
    count = math.ceil((units - overlap_units) / (tile_units - overlap_units))
    size = math.ceil((units + (count - 1) * overlap_units) / count)
    starts = [round(i * (units - size) / (count - 1)) for i in range(count)]
    return [(multiple * start, multiple * (start + size))
            for start in starts]


def blend_weights(spans: List[Span], index: int) -> torch.Tensor:
    """Weights of the pixels of tile ``index`` along one side: rising
    linearly across its overlap with the previous tile, falling across the
    overlap with the next, 1 elsewhere (and at the image's own borders)."""
    start, end = spans[index]
    centres = torch.arange(start, end, dtype=torch.float32) + 0.5
    weights = torch.ones(end - start)
    if index > 0:
        rise = (centres - start) / (spans[index - 1][1] - start)
        weights = torch.minimum(weights, rise)
    if index < len(spans) - 1:
        fall = (end - centres) / (end - spans[index + 1][0])
        weights = torch.minimum(weights, fall)
    return weights


def _uses_image_statistics(module: nn.Module) -> bool:
    """Whether ``module`` normalises with the statistics of its input."""
    return isinstance(module, nn.InstanceNorm2d) and (
        module.training or not module.track_running_stats)


class SharedNormStatistics:
    """Makes the instance-norm layers of a generator normalise every tile
    with the same statistics, via forward hooks.

    Args:
        generator: The network; its :class:`torch.nn.InstanceNorm2d` layers
            that use per-image statistics are affected.
    """

    def __init__(self, generator: nn.Module):
        self.norms = [m for m in generator.modules()
                      if _uses_image_statistics(m)]
        self.statistics: Statistics = {}

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Within the block, every call of the generator adds its norm
        inputs' per-channel sums to a pool (over tiles; per image of the
        batch); on exit the pool becomes :attr:`statistics`."""
        # Per layer: pixel-weighted sums of the tiles' means and of their
        # second moments, in float64, and the pixel count.
        sums: Dict[nn.Module, List] = {m: [0.0, 0.0, 0] for m in self.norms}

        def accumulate(module, inputs, output):
            variance, mean = torch.var_mean(
                inputs[0].float(), dim=(2, 3), unbiased=False)
            pixels = inputs[0].shape[2] * inputs[0].shape[3]
            pool = sums[module]
            pool[0] = pool[0] + pixels * mean.double()
            pool[1] = pool[1] + pixels * (variance.double() + mean.double()**2)
            pool[2] += pixels

        with _hooks(self.norms, accumulate):
            yield
        self.statistics = {}
        for module, (total, second_moment, count) in sums.items():
            mean = total / count
            variance = (second_moment / count - mean * mean).clamp(min=0)
            self.statistics[module] = (mean.float(), variance.float())

    @contextmanager
    def applying(self) -> Iterator[None]:
        """Within the block, the norm layers normalise with
        :attr:`statistics` instead of their input's own."""

        def normalise(module, inputs, output):
            x = inputs[0]
            mean, variance = self.statistics[module]
            y = (x.float() - mean[:, :, None, None]) * torch.rsqrt(
                variance[:, :, None, None] + module.eps)
            if module.affine:
                y = (y * module.weight[:, None, None] +
                     module.bias[:, None, None])
            return y.to(output.dtype)

        with _hooks(self.norms, normalise):
            yield


@contextmanager
def _hooks(modules: List[nn.Module], hook: Callable) -> Iterator[None]:
    handles = [module.register_forward_hook(hook) for module in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def blend_tiles(generator: Callable[[torch.Tensor], torch.Tensor],
                images: torch.Tensor, rows: List[Span],
                cols: List[Span]) -> torch.Tensor:
    """Runs ``generator`` on every tile of ``images`` and blends the
    translations with :func:`blend_weights`.

    Args:
        generator: Maps (N, 3, h, w) to (N, 3, h, w).
        images: (N, 3, H, W).
        rows, cols: The tiles' spans along H and W (:func:`tile_spans`).

    Returns:
        (N, 3, H, W) float32.
    """
    out = torch.zeros(images.shape, dtype=torch.float32, device=images.device)
    total = torch.zeros(images.shape[-2:], device=images.device)
    for i, (top, bottom) in enumerate(rows):
        row_weights = blend_weights(rows, i).to(images.device)
        for j, (left, right) in enumerate(cols):
            weights = row_weights[:, None] * blend_weights(cols, j).to(
                images.device)[None]
            translated = generator(images[:, :, top:bottom, left:right])
            out[:, :, top:bottom, left:right] += translated.float() * weights
            total[top:bottom, left:right] += weights
    return out / total


@torch.no_grad()
def translate_tiled(generator: nn.Module, images: torch.Tensor, tile: int,
                    overlap: int) -> torch.Tensor:
    """Translates (N, 3, H, W) ``images`` in [-1, 1] tile by tile (see the
    module doc): at most ``tile`` x ``tile`` px go through ``generator`` at
    once, neighbouring tiles overlap by at least ``overlap`` px.

    H and W may be any size the generator takes after padding; the images
    are reflection-padded to its ``size_multiple`` first, as
    :class:`~cyclegan_plugin.apis.any_size.AnySizeGenerator` does, and
    cropped back.

    Returns:
        (N, 3, H, W) float32 in [-1, 1].
    """
    check_tiling(tile, overlap)
    multiple = int(getattr(generator, 'size_multiple', 1))
    height, width = images.shape[-2:]
    padded = pad_to_multiple(images, multiple)
    rows = tile_spans(padded.shape[-2], tile, overlap, multiple)
    cols = tile_spans(padded.shape[-1], tile, overlap, multiple)
    statistics = SharedNormStatistics(generator)
    if len(rows) * len(cols) > 1 and statistics.norms:
        with statistics.measuring():
            for top, bottom in rows:
                for left, right in cols:
                    generator(padded[:, :, top:bottom, left:right])
        with statistics.applying():
            out = blend_tiles(generator, padded, rows, cols)
    else:
        out = blend_tiles(generator, padded, rows, cols)
    return out[:, :, :height, :width]
