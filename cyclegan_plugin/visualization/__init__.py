"""Images and tables for people: grids, the test gallery, metric tables."""
from .gallery import (PANELS, column_labels, grid_path, panel_path, panels_of,
                      translation_path, write_gallery, write_panels)
from .grid import tile
from .image_io import resize_rgb, save_rgb, to_hwc
from .metrics_table import metrics_table

__all__ = [
    'PANELS', 'column_labels', 'grid_path', 'metrics_table', 'panel_path',
    'panels_of', 'resize_rgb', 'save_rgb', 'tile', 'to_hwc',
    'translation_path', 'write_gallery', 'write_panels'
]
