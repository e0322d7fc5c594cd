"""Networks, losses, the history buffer, the base translation model and
the algorithms built on it.

Importing this package registers every model component in
:data:`cyclegan_plugin.registry.MODELS`.
"""
from .base_translation_model import BaseTranslationModel, unwrap
from .cut import CUT
from .cyclegan import CycleGAN
from .data_preprocessor import CycleGANDataPreprocessor
from .discriminators import PatchDiscriminator
from .generators import ResidualBlock, ResnetGenerator
from .history_buffer import ImageHistoryBuffer
from .losses import GANLoss, L1Loss, PatchNCELoss
from .patch_sampler import PatchSampleMLP
from .winograd import WinogradConv2d, use_winograd

__all__ = [
    'BaseTranslationModel', 'CUT', 'CycleGAN', 'CycleGANDataPreprocessor',
    'GANLoss', 'ImageHistoryBuffer', 'L1Loss', 'PatchDiscriminator',
    'PatchNCELoss', 'PatchSampleMLP', 'ResidualBlock', 'ResnetGenerator',
    'WinogradConv2d', 'unwrap', 'use_winograd'
]
