"""CycleGAN for OpenMMLab: unpaired image-to-image translation.

Components register lazily through the ``locations`` of
:mod:`cyclegan_plugin.registry`, so importing the package stays cheap: it
imports neither torch nor mmengine.
"""
import os.path as osp

from .version import __version__

__all__ = ['__version__', 'config_path']


def config_path(name: str) -> str:
    """The absolute path of one of our configs, for another project's
    ``_base_`` (mmengine's ``package::path`` syntax knows only OpenMMLab's
    own packages): ``_base_ = [config_path('_base_/default_runtime.py')]``.

    Raises:
        FileNotFoundError: No such config in this installation.
    """
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                    'configs', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'cyclegan_plugin.config_path: no config {name!r} at {path!r}; '
            f'names are relative to configs/, e.g. '
            f"'_base_/default_runtime.py'. Configs ship with a source "
            f'checkout (pip install -e).')
    return path
