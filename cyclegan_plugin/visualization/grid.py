"""Tiling images into one labelled grid image."""
from typing import Optional, Sequence

import cv2
import numpy as np

GAP = 2  # pixels between cells
GROUP_GAP = 8  # pixels between groups of columns
BACKGROUND = 255  # white gaps and header
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def tile(rows: Sequence[Sequence[np.ndarray]],
         labels: Optional[Sequence[str]] = None,
         group: int = 0) -> np.ndarray:
    """Tiles (H, W, 3) uint8 images row by row into one image.

    Every cell gets the size of the largest image; smaller images sit in
    the top-left corner of their cell.

    Args:
        rows: ``rows[i][j]`` is the image in row i, column j; rows may
            have different lengths.
        labels: Optional column titles drawn in a header bar above the
            first row, e.g. ``['real A', 'fake B', 'rec A']``.
        group: Put a wider gap after every ``group`` columns, e.g. 3 to
            set real|fake|rec triples apart; 0 for none.

    Returns:
        The grid, (H', W', 3) uint8.
    """
    cells = [image for row in rows for image in row]
    if not cells:
        raise ValueError('tile needs at least one image.')
    cell_h = max(image.shape[0] for image in cells)
    cell_w = max(image.shape[1] for image in cells)
    num_cols = max(len(row) for row in rows)
    lefts = [
        j * (cell_w + GAP) + (j // group if group else 0) * (GROUP_GAP - GAP)
        for j in range(max(num_cols, len(labels or ())))
    ]
    header = _header(labels, lefts, cell_h, cell_w) if labels else None
    top = 0 if header is None else header.shape[0]
    grid = np.full((top + len(rows) *
                    (cell_h + GAP) - GAP, lefts[num_cols - 1] + cell_w, 3),
                   BACKGROUND,
                   dtype=np.uint8)
    if header is not None:
        width = min(header.shape[1], grid.shape[1])
        grid[:top, :width] = header[:, :width]
    for i, row in enumerate(rows):
        y = top + i * (cell_h + GAP)
        for image, x in zip(row, lefts):
            grid[y:y + image.shape[0], x:x + image.shape[1]] = image
    return grid


def _header(labels: Sequence[str], lefts: Sequence[int], cell_h: int,
            cell_w: int) -> np.ndarray:
    """A white bar with each label centred over its column; ``lefts`` are
    the columns' left edges."""
    # Scale the font with the cells, so 32 px and 512 px grids both read.
    scale = max(0.25, min(cell_w, cell_h) / 200)
    thickness = max(1, round(scale * 1.5))
    (_, text_h), baseline = cv2.getTextSize('Ag', _FONT, scale, thickness)
    height = text_h + baseline + 2 * GAP
    bar = np.full((height, lefts[len(labels) - 1] + cell_w, 3),
                  BACKGROUND,
                  dtype=np.uint8)
    for label, left in zip(labels, lefts):
        (text_w, _), _ = cv2.getTextSize(label, _FONT, scale, thickness)
        x = left + max(0, (cell_w - text_w) // 2)
        cv2.putText(bar, label, (x, GAP + text_h), _FONT, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    return bar
