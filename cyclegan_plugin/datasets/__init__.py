"""Datasets and data transforms; importing registers them."""
from .image_loading import (IMAGE_EXTENSIONS, UnreadableImageError,
                            check_image, load_rgb_image)
from .sampler import ResumableInfiniteSampler
from .transforms import LoadRGBImage, PackCycleGANInputs, RandomCrop
from .unpaired_dataset import BadImageWarning, UnpairedImageDataset

__all__ = [
    'IMAGE_EXTENSIONS', 'UnreadableImageError', 'check_image',
    'load_rgb_image', 'LoadRGBImage', 'PackCycleGANInputs', 'RandomCrop',
    'BadImageWarning', 'ResumableInfiniteSampler', 'UnpairedImageDataset'
]
