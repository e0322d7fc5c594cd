"""Checkerboard artifacts: periodic texture at the upsampling frequencies.

A generator that upsamples twice by 2 (transposed convs in the paper)
can paint a pattern that repeats every 4 px: the checkerboard of Odena et
al. (2016). Such a pattern puts its energy at the frequencies ``k / 4``
cycles per pixel (the "grid" bins of the 2-D spectrum, ``k = 1..3`` on each
axis), where the spectrum of a natural or drawn image is no higher than at
the bins around them. The bins on the axes (``k = 0`` on one of them) are
left out: edges that span the image, and the jump between opposite borders
that the DFT sees, put energy there in any image. :func:`grid_peak_db`
measures by how much the grid bins stand out from their neighbours;
:class:`Checkerboard` reports it for the translations relative to their
ground truth, so 0 dB means no more periodic texture than the target
images have, and a visible grid scores several dB.
"""
from typing import List, Tuple

import torch

from cyclegan_plugin.registry import METRICS
from .paired_metrics import PairedMetric


def _grid_bins(height: int, width: int,
               period: int) -> List[Tuple[int, int]]:
    if height % period or width % period:
        raise ValueError(
            f'checkerboard: image size {height}x{width} is not a multiple '
            f'of the period {period} px; test at a size that is (e.g. 64).')
    return [(i * height // period, j * width // period)
            for i in range(1, period) for j in range(1, period)]


def grid_peak_db(images: torch.Tensor, period: int = 4) -> torch.Tensor:
    """Per-image height of the spectrum's grid peaks, dB, shape ``(N,)``.

    The power spectrum of each image (mean removed, summed over channels)
    is read at the grid bins of ``period`` and at the 8 bins around each;
    the score is ``10 log10(sum of grid power / sum of neighbour means)``.

    Args:
        images: ``(N, C, H, W)`` in 0..255, ``H`` and ``W`` multiples of
            ``period``.
        period: The generator's upsampling factor (4 for two stride-2
            upsamplings); its divisors' patterns are covered too.
    """
    height, width = images.shape[-2:]
    bins = _grid_bins(height, width, period)
    x = images.double()
    x = x - x.mean(dim=(2, 3), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(1)  # (N, H, W)
    rows = torch.tensor([r for r, _ in bins])
    cols = torch.tensor([c for _, c in bins])
    peaks = power[:, rows, cols].sum(1)
    around = torch.zeros_like(peaks)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
               if dy or dx]
    for dy, dx in offsets:
        around += power[:, (rows + dy) % height, (cols + dx) % width].sum(1)
    around /= len(offsets)
    tiny = torch.finfo(torch.float64).tiny
    return 10 * torch.log10((peaks + tiny) / (around + tiny))


def checkerboard_excess(pred: torch.Tensor,
                        target: torch.Tensor) -> torch.Tensor:
    """``grid_peak_db(pred) - grid_peak_db(target)`` per image, dB."""
    return grid_peak_db(pred) - grid_peak_db(target)


@METRICS.register_module()
class Checkerboard(PairedMetric):
    """Mean excess of periodic 4 px texture over the ground truth, dB
    (:func:`checkerboard_excess`): ``checkerboard_a2b``,
    ``checkerboard_b2a``; lower is better, about 0 means none.

    With ``identity_baseline`` also ``checkerboard_id_a2b`` /
    ``checkerboard_id_b2a``, the input's own against the ground truth.
    """

    name = 'checkerboard'
    score = staticmethod(checkerboard_excess)
