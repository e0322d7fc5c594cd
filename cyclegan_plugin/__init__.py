"""CycleGAN for OpenMMLab: unpaired image-to-image translation.

Components register lazily through the ``locations`` of
:mod:`cyclegan_plugin.registry`, so importing the package stays cheap: it
imports neither torch nor mmengine.
"""
from .version import __version__

__all__ = ['__version__']
