"""The folder of test outputs: translations, gallery panels, grid, index.

Layout under ``out_dir``::

    a2b/<name>.png               G_A(a) for every testA image, original size
    b2a/<name>.png               G_B(b) for every testB image, original size
    gallery/a2b/<name>_real.png  the model's input, at the test size
    gallery/a2b/<name>_fake.png  its translation, at the test size
    gallery/a2b/<name>_gt.png    its ground truth (paired test sets)
    gallery/a2b/<name>_error.png heat map of |fake - gt| (paired test sets)
    gallery/a2b/<name>_rec.png   its reconstruction (models that make one)
    gallery/b2a/...
    gallery_a2b.png              grid of the first images, panels side by
    gallery_b2a.png              side: real | fake (| gt | error) (| rec)
    index.html                   every image: name and its panels
    psnr_curve.png               validation PSNR vs training time, where
                                 the work dir has the training logs
                                 (:mod:`.psnr_curve`; written by the
                                 TranslationWriterHook)

``<name>`` is the input file's name without its extension.
"""
import html
import os.path as osp
from typing import Dict, List, Sequence, Tuple
from urllib.parse import quote

import cv2
import numpy as np

from .error_map import error_heat_map
from .grid import tile
from .image_io import save_rgb, to_hwc

#: Every panel a test output may have, in column order. ``<panel>_img`` is
#: the data sample field (``real_img``, ``fake_img``, ``gt_img``,
#: ``rec_img``), except ``error``, the heat map of ``|fake - gt|``
#: (:func:`~.error_map.error_heat_map`), drawn wherever there is a gt.
PANELS = ('real', 'fake', 'gt', 'error', 'rec')
_DOMAINS = {'a2b': ('A', 'B'), 'b2a': ('B', 'A')}
TITLES = {'a2b': 'A &rarr; B (testA)', 'b2a': 'B &rarr; A (testB)'}


def panels_of(sample) -> Tuple[str, ...]:
    """The panels of a test output (``gt`` and ``error`` only on paired test
    sets, ``rec`` only where the model reconstructs)."""
    fields = {panel: 'gt' if panel == 'error' else panel for panel in PANELS}
    return tuple(panel for panel in PANELS
                 if f'{fields[panel]}_img' in sample)


def panel_images(sample) -> Dict[str, np.ndarray]:
    """The (H, W, 3) uint8 RGB image of each of :func:`panels_of`, in that
    order."""
    images = {}
    for panel in panels_of(sample):
        images[panel] = (
            error_heat_map(images['fake'], images['gt'])
            if panel == 'error' else to_hwc(sample.get(f'{panel}_img')))
    return images


def column_labels(direction: str,
                  panels: Sequence[str] = PANELS) -> Tuple[str, ...]:
    """``('real A', 'fake B', 'gt B', 'error', 'rec A')`` for ``'a2b'`` and
    all panels."""
    source, target = _DOMAINS[direction]
    domain = dict(real=source, rec=source, fake=target, gt=target)
    return tuple(f'{panel} {domain[panel]}' if panel in domain else panel
                 for panel in panels)


def translation_path(out_dir: str, direction: str, name: str) -> str:
    """Where the full-size translation of image ``name`` goes."""
    return osp.join(out_dir, direction, f'{name}.png')


def panel_path(out_dir: str, direction: str, name: str, panel: str) -> str:
    """Where one gallery panel (one of :data:`PANELS`) goes."""
    return osp.join(out_dir, 'gallery', direction, f'{name}_{panel}.png')


def grid_path(out_dir: str, direction: str) -> str:
    """Where the grid of ``direction`` goes."""
    return osp.join(out_dir, f'gallery_{direction}.png')


def write_panels(out_dir: str, direction: str, name: str,
                 images: Dict[str, np.ndarray]) -> None:
    """Saves the (H, W, 3) uint8 image of each panel of one input."""
    for panel, image in images.items():
        save_rgb(panel_path(out_dir, direction, name, panel), image)


def write_gallery(out_dir: str,
                  entries: Sequence[Tuple[str, str]],
                  grid_images: int = 16,
                  grid_columns: int = 4,
                  panels: Sequence[str] = PANELS) -> None:
    """Writes ``index.html`` and one grid PNG per direction.

    The panels must already be on disk (:func:`write_panels`), so that in a
    distributed test every rank writes its own and one rank indexes all.

    Args:
        out_dir: The output folder.
        entries: ``(direction, name)`` of every test image, in order.
        grid_images: The grid shows this many images per direction; the
            index shows all.
        grid_columns: Images (each its panels side by side) per grid row.
        panels: The panels on disk, see :func:`panels_of`.
    """
    by_direction: Dict[str, List[str]] = {d: [] for d in _DOMAINS}
    for direction, name in entries:
        by_direction[direction].append(name)
    for direction, names in by_direction.items():
        if names:
            _write_grid(out_dir, direction, names[:grid_images], grid_columns,
                        panels)
    with open(osp.join(out_dir, 'index.html'), 'w', encoding='utf-8') as f:
        f.write(_index_html(by_direction, grid_images, panels))


def _write_grid(out_dir: str, direction: str, names: Sequence[str],
                columns: int, panels: Sequence[str]) -> None:
    groups = [[
        _read_rgb(panel_path(out_dir, direction, name, panel))
        for panel in panels
    ] for name in names]
    rows = [
        sum(groups[i:i + columns], [])
        for i in range(0, len(groups), columns)
    ]
    labels = column_labels(direction, panels) * min(columns, len(groups))
    save_rgb(
        grid_path(out_dir, direction), tile(rows, labels, group=len(panels)))


def _read_rgb(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(
            f'gallery panel {path!r} is missing; it is written while the '
            f'test runs, so the output folder changed in between.')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _link(path: str) -> str:
    return quote(path.replace(osp.sep, '/'))


def _image_cell(path: str, alt: str) -> str:
    link = _link(path)
    return (f'<td><a href="{link}"><img src="{link}" loading="lazy" '
            f'alt="{html.escape(alt)}"></a></td>')


def _index_html(by_direction: Dict[str, List[str]], grid_images: int,
                panels: Sequence[str]) -> str:
    parts = [
        '<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
        '<title>Translation test results</title>', '<style>',
        'body { font-family: sans-serif; }',
        'td, th { text-align: center; padding: 2px 6px; }',
        'img { width: 192px; }', '</style></head><body>',
        '<h1>Translation test results</h1>'
    ]
    for direction, names in by_direction.items():
        if not names:
            continue
        shown = min(len(names), grid_images)
        parts.append(f'<h2>{TITLES[direction]}: {len(names)} images, '
                     f'<a href="{_link(grid_path("", direction))}">'
                     f'grid of the first {shown}</a></h2>')
        header = ''.join(f'<th>{label}</th>'
                         for label in column_labels(direction, panels))
        parts.append(f'<table><tr><th>image</th>{header}'
                     '<th>original size</th></tr>')
        for name in names:
            cells = ''.join(
                _image_cell(
                    panel_path('', direction, name, panel), f'{name} {panel}')
                for panel in panels)
            full = _link(translation_path('', direction, name))
            parts.append(f'<tr><td>{html.escape(name)}</td>{cells}'
                         f'<td><a href="{full}">{direction}/'
                         f'{html.escape(name)}.png</a></td></tr>')
        parts.append('</table>')
    parts.append('</body></html>')
    return '\n'.join(parts) + '\n'
