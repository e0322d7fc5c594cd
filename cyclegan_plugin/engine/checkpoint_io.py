"""Checkpoint files that survive crashes and load without running code.

Writing: a file is first written under a temporary name in its final folder
(:data:`TEMP_PREFIX` + name), flushed to disk with ``fsync``, renamed over
the final name (atomic on POSIX) and then the folder is fsynced, so a crash
at any moment leaves either the complete old file or the complete new one,
never a torn one.

Reading: ``torch.load(weights_only=True)`` with the explicit allow-list
:data:`SAFE_GLOBALS` of the few non-tensor classes an mmengine checkpoint
holds: the message hub's ``HistoryBuffer`` (numpy arrays inside) and numpy
scalars. mmengine pickles each ``HistoryBuffer``'s statistics methods as
``getattr(HistoryBuffer, 'mean')``; plain ``builtins.getattr`` would let a
crafted file reach any module's globals, so the allow-list maps that name to
:func:`_history_buffer_method`, which looks up nothing else. A file that
needs anything outside the list is refused before any of it runs.
"""
import os
import os.path as osp
import pickle
from typing import Callable, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# Temporary files of an unfinished write; removed by the next run.
TEMP_PREFIX = '.incomplete-'

_STATISTICS_METHODS = ('min', 'max', 'current', 'mean')


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names file and fix."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that would need a non-allow-listed class to load."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose weights do not fit the model of the config."""


def _history_buffer_method(owner: object, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` while loading (see module doc)."""
    if owner is HistoryBuffer and name in _STATISTICS_METHODS:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed; only '
        f'HistoryBuffer.{{{",".join(_STATISTICS_METHODS)}}} are')


SAFE_GLOBALS = [
    HistoryBuffer,
    (_history_buffer_method, 'builtins.getattr'),
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
    np.ndarray,
    np.dtype,
    np.dtypes.Float64DType,
    np.dtypes.Int64DType,
]


def load_checkpoint_file(path: str,
                         map_location: Union[str, Callable,
                                             None] = 'cpu') -> dict:
    """Loads a local checkpoint with ``weights_only=True`` and the
    allow-list :data:`SAFE_GLOBALS`.

    Raises:
        CheckpointError: The file is missing or is not a complete
            checkpoint (e.g. cut short by a crash outside this module).
        UnsafeCheckpointError: The file needs a class that is not on the
            allow-list; nothing of it was executed.
    """
    if not osp.isfile(path):
        raise CheckpointError(
            f'checkpoint {path!r} does not exist; check the path given to '
            f'--resume / load_from, or the work dir\'s last_checkpoint.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {path!r}: '
            f'{_unpickler_reason(err)}. Loading it could run code; only '
            f'tensors and the plain data classes of cyclegan_plugin.engine.'
            f'checkpoint_io.SAFE_GLOBALS are accepted. If you trust the file '
            f'and the class is plain data, allow it with torch.serialization'
            f'.add_safe_globals before training.') from None
    except (RuntimeError, EOFError) as err:
        raise CheckpointError(
            f'checkpoint {path!r} is not a complete checkpoint ({err}); '
            f'resume from an older one.') from None


def _unpickler_reason(err: pickle.UnpicklingError) -> str:
    """The informative line of torch's multi-paragraph message: the last
    one before its closing pointer to the documentation."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    closing = [
        i for i, line in enumerate(lines)
        if line.startswith('Check the documentation')
    ]
    line = lines[closing[0] - 1] if closing else lines[-1]
    line = line.split('WeightsUnpickler error:')[-1]
    return line.split('. Please use')[0].strip().rstrip('.')


def fsync_path(path: str) -> None:
    """Flushes a file's or folder's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_file(temp_path: str, path: str) -> None:
    """Makes the written ``temp_path`` durable and atomically renames it to
    ``path`` (same folder)."""
    fsync_path(temp_path)
    os.replace(temp_path, path)
    fsync_path(osp.dirname(osp.abspath(path)))


def temp_path_for(path: str) -> str:
    """Where ``path`` is written before :func:`publish_file`."""
    folder, name = osp.split(path)
    return osp.join(folder, TEMP_PREFIX + name)


def write_text_atomically(path: str, text: str) -> None:
    """Replaces the file ``path`` by ``text`` in one atomic step."""
    temp_path = temp_path_for(path)
    with open(temp_path, 'w') as file:
        file.write(text)
    publish_file(temp_path, path)


def remove_temp_files(folder: str) -> None:
    """Deletes what writes interrupted by a crash left in ``folder``."""
    if not osp.isdir(folder):
        return
    for entry in os.scandir(folder):
        if entry.name.startswith(TEMP_PREFIX) and entry.is_file():
            os.remove(entry.path)
