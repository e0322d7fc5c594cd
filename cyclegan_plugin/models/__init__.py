"""Networks, losses, the history buffer and the CycleGAN algorithm.

Importing this package registers every model component in
:data:`cyclegan_plugin.registry.MODELS`.
"""
from .cyclegan import CycleGAN
from .data_preprocessor import CycleGANDataPreprocessor
from .discriminators import PatchDiscriminator
from .generators import ResidualBlock, ResnetGenerator
from .history_buffer import ImageHistoryBuffer
from .losses import GANLoss, L1Loss

__all__ = [
    'CycleGAN', 'CycleGANDataPreprocessor', 'GANLoss', 'ImageHistoryBuffer',
    'L1Loss', 'PatchDiscriminator', 'ResidualBlock', 'ResnetGenerator'
]
