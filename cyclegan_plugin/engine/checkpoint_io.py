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

torch before 2.5 (MMagic environments have 2.0-2.1) cannot extend the
weights-only unpickler's list. There the zip archive is read by the same
``torch.serialization._load`` that ``weights_only=True`` uses, with
:class:`_AllowListUnpickler` in place of torch's unpickler: torch's own
weights-only globals plus :data:`SAFE_GLOBALS`, nothing else.
"""
import _compat_pickle
import codecs
import importlib
import os
import os.path as osp
import pickle
from types import SimpleNamespace
from typing import Any, Callable, Dict, Union

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


def _numpy_globals() -> Dict[str, Any]:
    """numpy's array and scalar rebuilders under both the numpy 2 name
    (``numpy._core``) and the numpy 1 one (``numpy.core``), so a checkpoint
    written on either stack loads on the other."""
    multiarray = importlib.import_module('numpy._core.multiarray')
    names = {
        'numpy.ndarray': np.ndarray,
        'numpy.dtype': np.dtype,
        'numpy.dtypes.Float64DType': np.dtypes.Float64DType,
        'numpy.dtypes.Int64DType': np.dtypes.Int64DType,
    }
    for package in ('numpy._core', 'numpy.core'):
        names[f'{package}.multiarray._reconstruct'] = multiarray._reconstruct
        names[f'{package}.multiarray.scalar'] = multiarray.scalar
    return names


# Pickle's global name -> the object it may resolve to.
SAFE_GLOBALS: Dict[str, Any] = {
    'mmengine.logging.history_buffer.HistoryBuffer': HistoryBuffer,
    'builtins.getattr': _history_buffer_method,
    **_numpy_globals(),
}


class _AllowListUnpickler(pickle.Unpickler):
    """Resolves only torch's weights-only globals and :data:`SAFE_GLOBALS`
    (torch < 2.5, see the module doc). ``_codecs.encode`` rebuilds bytes in
    protocol-2 pickles; newer torch allows it too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built once per file, not once per global the file names.
        self._allowed = {
            **torch._weights_only_unpickler._get_allowed_globals(),
            '_codecs.encode': codecs.encode,
            **SAFE_GLOBALS,
        }

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 2 writes Python 2 names (``__builtin__``); the base
        # class maps them back, an override has to as well.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name),
                                                       (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full_name = f'{module}.{name}'
        if full_name not in self._allowed:
            raise pickle.UnpicklingError(
                f'Unsupported global: GLOBAL {full_name}')
        return self._allowed[full_name]


def _load_with_allow_list(path: str, map_location: Union[str, Callable,
                                                         None]) -> Any:
    """``torch.load(weights_only=True)`` with :data:`SAFE_GLOBALS` added."""
    if hasattr(torch.serialization, 'safe_globals'):
        safe_globals = [(obj, name) for name, obj in SAFE_GLOBALS.items()]
        with torch.serialization.safe_globals(safe_globals):
            return torch.load(
                path, map_location=map_location, weights_only=True)
    with open(path, 'rb') as file:
        is_zip = file.read(4) == b'PK\x03\x04'
    if not is_zip:
        # The pre-1.6 format holds no mmengine state: torch's list suffices.
        return torch.load(path, map_location=map_location, weights_only=True)
    with torch.serialization._open_zipfile_reader(path) as archive:
        return torch.serialization._load(
            archive,
            map_location,
            SimpleNamespace(Unpickler=_AllowListUnpickler),
            encoding='utf-8')


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
        return _load_with_allow_list(path, map_location)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {path!r}: '
            f'{_unpickler_reason(err)}. Loading it could run code; only '
            f'tensors and the plain data classes of cyclegan_plugin.engine.'
            f'checkpoint_io.SAFE_GLOBALS are accepted. If you trust the file '
            f'and the class is plain data, add it to SAFE_GLOBALS (or, on '
            f'torch >= 2.5, torch.serialization.add_safe_globals) before '
            f'loading.') from None
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


# Reading a checkpoint into a model: one path for the runner (training,
# testing) and the Translator (translating, exporting), so the same problem
# reads the same in every tool.

#: Keys of a kind shown in a mismatch message; the rest are counted.
KEYS_SHOWN = 10


def check_checkpoint_exists(path: str, resuming: bool = False) -> None:
    """Raises :class:`CheckpointError` if ``path`` is not a file; a
    resumed run is also pointed at where the path came from."""
    if not osp.isfile(path):
        where = (" given to --resume / load_from, or the work dir's "
                 'last_checkpoint' if resuming else '')
        raise CheckpointError(
            f'checkpoint {path!r} does not exist; check the path{where}.')


def read_checkpoint(path: str,
                    map_location: Union[str, Callable, None] = 'cpu',
                    resuming: bool = False) -> dict:
    """:func:`load_checkpoint_file` with the advice that fits the caller: a
    resumed run can resume from an older checkpoint, everything else
    (testing, translating, exporting, ``load_from``) can be given one.

    Raises:
        CheckpointError: The file is missing or torn.
        UnsafeCheckpointError: The file needs a class that is not on the
            allow-list.
    """
    check_checkpoint_exists(path, resuming)
    try:
        return load_checkpoint_file(path, map_location)
    except UnsafeCheckpointError:
        raise
    except CheckpointError as err:
        # The file exists, so it is torn; torch's error says how.
        reason = err.__context__ or err
        retry = ('resume from an older one (--resume PATH)' if resuming else
                 'pass another one, e.g. an older iter_*.pth of the run')
        raise CheckpointError(
            f'checkpoint {path!r} is not a complete checkpoint ({reason}); '
            f'{retry}.') from None


def model_weights(checkpoint: dict, path: str) -> Dict[str, Any]:
    """The model state dict of a training checkpoint, or the checkpoint
    itself when it is a bare state dict.

    Raises:
        CheckpointError: It holds no weights.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f'{path!r} holds no state dict; pass a '
                              f'checkpoint written by training (iter_*.pth).')
    return state_dict


def load_model_weights(model: torch.nn.Module,
                       state_dict: Dict[str, Any],
                       path: str,
                       strict: bool = True) -> str:
    """Loads ``state_dict`` (read from ``path``) into ``model``.

    torch's own mismatch error lists every key (dozens of lines for a
    checkpoint of another width); this one names at most
    :data:`KEYS_SHOWN` of each kind and the likely cause.

    Args:
        model: The unwrapped model.
        state_dict: Its weights.
        path: Where they come from, for the message.
        strict: Raise on any key or shape difference; otherwise load the
            weights that fit.

    Returns:
        What did not fit (empty when everything did).

    Raises:
        CheckpointMismatchError: ``strict`` and something does not fit.
    """
    expected = model.state_dict()
    mismatch = describe_mismatch(expected, state_dict)
    if mismatch and strict:
        raise CheckpointMismatchError(
            f'checkpoint {path!r} does not fit the model of the config: '
            f'{mismatch}. Was it saved with another model config (e.g. '
            f'base_channels, num_blocks)?')
    if mismatch:
        state_dict = {
            key: value
            for key, value in state_dict.items()
            if key in expected and (not isinstance(value, torch.Tensor)
                                    or value.shape == expected[key].shape)
        }
    model.load_state_dict(state_dict, strict=strict)
    return mismatch


def describe_mismatch(expected: Dict[str, torch.Tensor],
                      found: Dict[str, Any]) -> str:
    """The key and shape differences, on one line; empty if they match."""
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    reshaped = [
        f'{key} {tuple(found[key].shape)} vs {tuple(value.shape)}'
        for key, value in expected.items()
        if isinstance(value, torch.Tensor) and isinstance(
            found.get(key), torch.Tensor) and found[key].shape != value.shape
    ]
    parts = []
    for what, keys in (('missing in the checkpoint', missing),
                       ('not in the model', unexpected),
                       ('shape in checkpoint vs model', reshaped)):
        if keys:
            more = len(keys) - KEYS_SHOWN
            parts.append(f'{what}: {", ".join(keys[:KEYS_SHOWN])}' +
                         (f' and {more} more' if more > 0 else ''))
    return '; '.join(parts)
