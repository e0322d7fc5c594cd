"""Images and tables for people: grids, the test gallery, error heat maps,
the PSNR curve, metric tables."""
from .error_map import error_heat_map
from .gallery import (PANELS, column_labels, grid_path, panel_images,
                      panel_path, panels_of, translation_path, write_gallery,
                      write_panels)
from .grid import tile
from .image_io import resize_rgb, save_rgb, to_hwc
from .metrics_table import metrics_table
from .psnr_curve import psnr_curve_path, validation_curve, write_psnr_curve

__all__ = [
    'PANELS', 'column_labels', 'error_heat_map', 'grid_path', 'metrics_table',
    'panel_images', 'panel_path', 'panels_of', 'psnr_curve_path',
    'resize_rgb', 'save_rgb', 'tile', 'to_hwc',
    'translation_path', 'validation_curve', 'write_gallery', 'write_panels',
    'write_psnr_curve'
]
