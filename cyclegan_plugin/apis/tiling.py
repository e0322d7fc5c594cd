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
  colour shifts). Measuring passes over the tiles pool each instance-norm
  layer's per-channel mean and variance over the tiles, and the final pass
  normalises every tile with them. A layer's input depends on the
  statistics of the layers before it, so the passes settle one layer
  each (:meth:`SharedNormStatistics.measure_tiles`): pass ``i``
  normalises the ``i`` layers settled so far with their pooled statistics,
  which makes the input of the next one the whole image's; it is pooled
  over the tiles' owned regions (:func:`owned_spans`), which count every
  pixel once and keep it away from its tile's edge. After as many passes
  as the generator has instance-norm layers, every layer's statistics are
  the whole image's up to the context the owned regions' edges lack, and
  the tiled output matches the untiled one away from seams; fewer passes
  leave the deeper layers estimated. A pass's forward stops at the layer
  it settles, the last pass's at the last norm layer, so only the final
  pass runs the whole network. For the paper generator (24 convs, 23 of
  them followed by instance norm) the default 23 measuring passes run
  1 + 2 + ... + 23 = 276 convs per tile, 11.5 forwards' worth (by
  multiply-adds too, the network being symmetric), and with the final
  pass 12.5 instead of 24 full forwards. Generators without per-image
  norm layers (batch norm in eval mode, no norm) need no measuring pass.
"""
import math
from contextlib import contextmanager, suppress
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

import torch
from torch import nn

from .any_size import pad_to_multiple

Span = Tuple[int, int]
Statistics = Dict[nn.Module, Tuple[torch.Tensor, torch.Tensor]]

MIN_TILE = 32


def check_tiling(tile: Optional[int], overlap: int,
                 stat_passes: Optional[int] = None) -> None:
    """Raises ValueError unless ``tile`` is None (no tiling) or an integer of
    at least :data:`MIN_TILE`, ``0 <= overlap <= tile // 4`` and
    ``stat_passes`` is None or a positive integer."""
    if tile is None:
        return
    if not isinstance(tile, int) or tile < MIN_TILE:
        raise ValueError(f'tile must be an integer of at least {MIN_TILE} '
                         f'(px), got {tile!r}; e.g. tile=512.')
    if not isinstance(overlap, int) or not 0 <= overlap <= tile // 4:
        raise ValueError(f'overlap must be an integer from 0 to tile // 4 = '
                         f'{tile // 4} (px), got {overlap!r}; e.g. '
                         f'overlap=32.')
    if stat_passes is not None and (not isinstance(stat_passes, int)
                                    or stat_passes < 1):
        raise ValueError(f'stat_passes must be a positive integer, got '
                         f'{stat_passes!r}; e.g. stat_passes=3.')


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


def owned_spans(spans: List[Span], multiple: int) -> List[Span]:
    """The part of each tile's span that its statistics are measured on.

    Each overlap of :func:`tile_spans` is split at its middle, rounded to
    the ``multiple`` grid, so the owned spans cover the side exactly once
    and each keeps about half the overlap of context to its tile's edge.
    On the grid, an owned span maps to whole pixels at every layer of a
    generator whose resolution falls by factors of 2 down to 1 /
    ``multiple``.
    """
    cuts = [multiple * round((end + start) / (2 * multiple))
            for (_, end), (start, _) in zip(spans, spans[1:])]
    bounds = [spans[0][0]] + cuts + [spans[-1][1]]
    return list(zip(bounds, bounds[1:]))


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


class Owned(NamedTuple):
    """The owned region of a tile, in px of the tile's input: ``rows`` and
    ``cols`` (start, end) within a tile of ``height`` x ``width``."""
    rows: Span
    cols: Span
    height: int
    width: int

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """The owned part of a layer's (N, C, h, w) activation of the tile,
        scaled from the tile's size to the layer's ``h`` x ``w``."""
        scale_y, scale_x = x.shape[2] / self.height, x.shape[3] / self.width
        (top, bottom), (left, right) = self.rows, self.cols
        return x[:, :, round(top * scale_y):round(bottom * scale_y),
                 round(left * scale_x):round(right * scale_x)]


class SharedNormStatistics:
    """Makes the instance-norm layers of a generator normalise every tile
    with the same statistics, via forward hooks.

    Args:
        generator: The network; its :class:`torch.nn.InstanceNorm2d` layers
            that use per-image statistics are affected.

    Attributes:
        owned: The :class:`Owned` region of the tile the generator is
            called on next, set by the caller before each call while
            :meth:`measuring`; ``None`` measures the whole input.
    """

    def __init__(self, generator: nn.Module):
        self.norms = [m for m in generator.modules()
                      if _uses_image_statistics(m)]
        self.statistics: Statistics = {}
        self.owned: Optional[Owned] = None

    @contextmanager
    def measuring(self, layers: slice = slice(None),
                  owned_layers: Optional[int] = None) -> Iterator[None]:
        """Within the block, every call of the generator adds the
        per-channel sums of the inputs of the norm layers
        ``self.norms[layers]`` (all by default) to a pool (over tiles; per
        image of the batch); on exit their pooled statistics replace theirs
        in :attr:`statistics`, the other layers' are kept. The first
        ``owned_layers`` norm layers (all by default) pool only the
        :attr:`owned` part of their input, the others all of it."""
        # Per layer: pixel-weighted sums of the tiles' means and of their
        # second moments, in float64, and the pixel count.
        sums: Dict[nn.Module, List] = {
            m: [0.0, 0.0, 0] for m in self.norms[layers]}
        cropped = set(self.norms[:owned_layers])

        def accumulate(module, inputs, output):
            x = inputs[0]
            if self.owned is not None and module in cropped:
                x = self.owned.crop(x)
            variance, mean = torch.var_mean(
                x.float(), dim=(2, 3), unbiased=False)
            pixels = x.shape[2] * x.shape[3]
            pool = sums[module]
            pool[0] = pool[0] + pixels * mean.double()
            pool[1] = pool[1] + pixels * (variance.double() + mean.double()**2)
            pool[2] += pixels

        with _hooks(list(sums), accumulate):
            yield
        for module, (total, second_moment, count) in sums.items():
            mean = total / count
            variance = (second_moment / count - mean * mean).clamp(min=0)
            self.statistics[module] = (mean.float(), variance.float())

    @contextmanager
    def applying(self, layers: Optional[int] = None) -> Iterator[None]:
        """Within the block, the first ``layers`` norm layers (all by
        default) normalise with :attr:`statistics` instead of their input's
        own."""

        def normalise(module, inputs, output):
            x = inputs[0]
            mean, variance = self.statistics[module]
            y = (x.float() - mean[:, :, None, None]) * torch.rsqrt(
                variance[:, :, None, None] + module.eps)
            if module.affine:
                y = (y * module.weight[:, None, None] +
                     module.bias[:, None, None])
            return y.to(output.dtype)

        with _hooks(self.norms[:layers], normalise):
            yield

    def measure_tiles(self, generator: nn.Module, images: torch.Tensor,
                      rows: List[Span], cols: List[Span], multiple: int,
                      passes: int) -> None:
        """Sets :attr:`statistics` by ``passes`` measuring passes of
        ``generator`` over the tiles of ``images``.

        Pass ``i`` (from 0) normalises the first ``i`` norm layers with the
        statistics settled by the passes before and the others with each
        tile's own, so the input of layer ``i`` is the whole image's (up to
        the context missing near tile edges): its statistics are pooled
        over the owned regions, which count every pixel once. Measured
        again, the settled layers would give the same statistics, and the
        later layers' are overwritten by the next pass, so each pass but
        the last measures layer ``i`` only and stops the forward there
        (:class:`_Measured`). The last pass also measures the later layers,
        which :meth:`applying` then uses unsettled: their inputs still
        depend on per-tile statistics, so they are pooled over whole tiles,
        as each tile's own normalisation saw them (measured: closer to the
        untiled output than pooling their owned parts). It stops at the
        last norm layer. Passes beyond the number of norm layers would
        change nothing and are not run.
        The norm layers are taken in the order of ``generator.modules()``,
        which is the order a sequential network such as
        :class:`~cyclegan_plugin.models.ResnetGenerator` runs them.

        Args:
            generator: Maps (N, 3, h, w) to (N, 3, h, w).
            images: (N, 3, H, W).
            rows, cols: The tiles' spans along H and W (:func:`tile_spans`).
            multiple: The generator's size multiple, for
                :func:`owned_spans`.
            passes: Measuring passes, each one forward over all tiles, up
                to norm layer ``i`` in pass ``i`` and to the last norm
                layer in the last pass.
        """
        owned_rows = owned_spans(rows, multiple)
        owned_cols = owned_spans(cols, multiple)
        last_pass = min(passes, len(self.norms)) - 1
        for index in range(last_pass + 1):
            last = len(self.norms) - 1 if index == last_pass else index
            measuring = self.measuring(slice(index, last + 1), index + 1)
            stopping = _hooks([self.norms[last]], _stop_forward)
            with self.applying(index), measuring, stopping:
                for (top, bottom), owned_row in zip(rows, owned_rows):
                    for (left, right), owned_col in zip(cols, owned_cols):
                        self.owned = Owned(
                            (owned_row[0] - top, owned_row[1] - top),
                            (owned_col[0] - left, owned_col[1] - left),
                            bottom - top, right - left)
                        with suppress(_Measured):
                            generator(images[:, :, top:bottom, left:right])
        self.owned = None


class _Measured(Exception):
    """Raised by :func:`_stop_forward` to end a measuring forward: the rest
    of the network cannot change the statistics the pass measures."""


def _stop_forward(module, inputs, output):
    """Forward hook on the last norm layer a measuring pass needs,
    registered after the measuring hook, which has then pooled its
    input."""
    raise _Measured


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
                    overlap: int,
                    stat_passes: Optional[int] = None) -> torch.Tensor:
    """Translates (N, 3, H, W) ``images`` in [-1, 1] tile by tile (see the
    module doc): at most ``tile`` x ``tile`` px go through ``generator`` at
    once, neighbouring tiles overlap by at least ``overlap`` px.

    H and W may be any size the generator takes after padding; the images
    are reflection-padded to its ``size_multiple`` first, as
    :class:`~cyclegan_plugin.apis.any_size.AnySizeGenerator` does, and
    cropped back.

    Args:
        stat_passes: Measuring passes for the instance-norm statistics
            (see the module doc), each one more forward over all tiles,
            stopped at the norm layer it settles. By default as many as
            the generator has instance-norm layers (23 for the paper
            generator, together 11.5 forwards), which makes all of them
            the whole image's; fewer are faster and leave the deeper
            layers estimated. Unused without per-image norm layers or when
            one tile covers the image.

    Returns:
        (N, 3, H, W) float32 in [-1, 1].
    """
    check_tiling(tile, overlap, stat_passes)
    multiple = int(getattr(generator, 'size_multiple', 1))
    height, width = images.shape[-2:]
    padded = pad_to_multiple(images, multiple)
    rows = tile_spans(padded.shape[-2], tile, overlap, multiple)
    cols = tile_spans(padded.shape[-1], tile, overlap, multiple)
    statistics = SharedNormStatistics(generator)
    if len(rows) * len(cols) > 1 and statistics.norms:
        passes = stat_passes or len(statistics.norms)
        statistics.measure_tiles(generator, padded, rows, cols, multiple,
                                 passes)
        with statistics.applying():
            out = blend_tiles(generator, padded, rows, cols)
    else:
        out = blend_tiles(generator, padded, rows, cols)
    return out[:, :, :height, :width]
