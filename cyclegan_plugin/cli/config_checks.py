"""Checks that stop a run before it starts, with one line naming the key or
file and the fix.

mmengine reports a misspelt argument (``model.generator.base_chanels``) or
an ill-typed one (``base_channels='eight'``) only when it builds the
component, after it has logged the ~400-line environment and config dump,
and sometimes in words that do not name the key at all (``not all arguments
converted during string formatting``). :func:`check_arguments` compares
every component of a config with the signature of the class its ``type``
names, before anything is built; the other checks cover the paths, folders
and devices a run needs. All raise :class:`ConfigError`.
"""
import difflib
import errno
import inspect
import os
import os.path as osp
import tempfile
import types
import typing
from typing import Iterable, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry
from torch.utils.data import DataLoader

from cyclegan_plugin.engine.checkpoint_io import check_checkpoint_exists
from cyclegan_plugin.registry import (DATA_SAMPLERS, DATASETS, EVALUATOR,
                                      FUNCTIONS, HOOKS, LOG_PROCESSORS, LOOPS,
                                      METRICS, MODEL_WRAPPERS, MODELS,
                                      OPTIM_WRAPPERS, OPTIMIZERS,
                                      PARAM_SCHEDULERS, TRANSFORMS,
                                      VISBACKENDS, VISUALIZERS,
                                      WEIGHT_INITIALIZERS)


class ConfigError(Exception):
    """A config or command line that cannot work; the message says why."""


# The registry that builds the components under a top-level key, and under
# a key inside one. Untyped dicts and lists (default_hooks, a list of
# metrics) pass their registry on; other arguments of a component are its
# own business and are not checked, except in a model: models build their
# parts from MODELS.
_REGISTRY_OF_TOP_KEY = {
    'model': MODELS,
    'model_wrapper_cfg': MODEL_WRAPPERS,
    'train_cfg': LOOPS,
    'val_cfg': LOOPS,
    'test_cfg': LOOPS,
    'default_hooks': HOOKS,
    'custom_hooks': HOOKS,
    'param_scheduler': PARAM_SCHEDULERS,
    'optim_wrapper': OPTIM_WRAPPERS,
    'visualizer': VISUALIZERS,
    'log_processor': LOG_PROCESSORS,
    'val_evaluator': METRICS,
    'test_evaluator': METRICS,
}
_REGISTRY_OF_KEY = {
    'dataset': DATASETS,
    'pipeline': TRANSFORMS,
    'transforms': TRANSFORMS,
    'sampler': DATA_SAMPLERS,
    'batch_sampler': DATA_SAMPLERS,
    'collate_fn': FUNCTIONS,
    'metrics': METRICS,
    'optimizer': OPTIMIZERS,
    'vis_backends': VISBACKENDS,
    'feature_extractor': MODELS,
    'data_preprocessor': MODELS,
    'init_cfg': WEIGHT_INITIALIZERS,
}
# Keys a builder takes out of a component's config before calling its type.
_CONSUMED_KEYS = {
    HOOKS: {'priority'},
    PARAM_SCHEDULERS: {'convert_to_iter_based'},
    OPTIM_WRAPPERS: {'constructor', 'paramwise_cfg'},
}
# mmengine's build_dataloader passes the rest of a dataloader config to
# torch's DataLoader.
_DATALOADER_ARGUMENTS = frozenset(inspect.signature(DataLoader).parameters)
_SIMPLE_TYPES = (bool, int, float, str, type(None))


def check_arguments(cfg: Config, keys: Optional[Iterable[str]] = None) -> None:
    """Checks that every component under ``keys`` (default: all of the
    config) names a registered type and only arguments its class takes,
    with values of the annotated type where that is a plain one (int,
    float, str, bool, optionally None).

    Raises:
        ConfigError: ``<config file>: <dotted key>: ...`` with the closest
            registered name or argument.
    """
    keys = cfg.keys() if keys is None else keys
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for key in keys:
            node = cfg.get(key)
            try:
                if key.endswith('_dataloader') and isinstance(node, dict):
                    _check_dataloader(node, key)
                elif is_evaluator(node):
                    _check_node(
                        dict(dict(type='Evaluator'), **node), key, EVALUATOR)
                else:
                    _check_node(node, key, _REGISTRY_OF_TOP_KEY.get(key))
            except ConfigError as err:
                raise ConfigError(f'{cfg.filename}: {err}') from None


def is_evaluator(node) -> bool:
    """Whether an ``*_evaluator`` setting configures an ``Evaluator`` (with
    its ``metrics``) rather than being a metric or a list of them, as
    mmengine's ``Runner.build_evaluator`` tells them apart."""
    return isinstance(node, dict) and 'metrics' in node


def _check_dataloader(node: dict, key: str) -> None:
    unknown = [
        name for name in node
        if name not in _DATALOADER_ARGUMENTS and name != '_scope_'
    ]
    if unknown:
        raise ConfigError(
            f'{key}.{unknown[0]}: a dataloader takes no argument '
            f'{unknown[0]!r}{_did_you_mean(unknown[0], _DATALOADER_ARGUMENTS)}'
        )
    for name, value in node.items():
        _check_node(value, f'{key}.{name}', _REGISTRY_OF_KEY.get(name))


def _check_node(node, key: str, registry: Optional[Registry]) -> None:
    if isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            _check_node(value, f'{key}.{index}', registry)
        return
    if not isinstance(node, dict):
        return
    typed = registry is not None and 'type' in node
    if typed:
        _check_component(node, key, registry)
    inner = None if typed and registry is not MODELS else registry
    for name, value in node.items():
        _check_node(value, f'{key}.{name}', _REGISTRY_OF_KEY.get(name, inner))


def _check_component(node: dict, key: str, registry: Registry) -> None:
    kind = node['type']
    if isinstance(kind, str):
        with registry.switch_scope_and_registry(
                node.get('_scope_')) as scoped:
            target = scoped.get(kind)
        if target is None:
            names = _registered_names(scoped)
            raise ConfigError(
                f'{key}.type={kind!r} is not a registered {registry.name}'
                f'{_did_you_mean(kind.split(".")[-1], names)}')
    elif callable(kind):
        target = kind
    else:
        return
    parameters, hints, takes_any = _parameters(target)
    if parameters is None:
        return
    name = getattr(target, '__name__', str(target))
    consumed = {'type', '_scope_'} | _CONSUMED_KEYS.get(registry, set())
    for argument, value in node.items():
        if argument in consumed:
            continue
        if argument not in parameters:
            if takes_any:
                continue
            raise ConfigError(
                f'{key}.{argument}: {name} takes no argument {argument!r}'
                f'{_did_you_mean(argument, parameters)}')
        expected = _simple_types(hints.get(argument))
        if expected and not _is_instance(value, expected):
            raise ConfigError(f'{key}.{argument}={value!r}: {name} expects '
                              f'{_type_names(expected)}')


def _parameters(target) -> Tuple[Optional[dict], dict, bool]:
    """The parameters a class's ``__init__`` (without ``self``) or a
    function takes, their resolved annotations, and whether it takes any
    keyword at all; ``(None, {}, True)`` if unknown.

    An ``__init__`` with ``**kwargs`` is taken to hand them to its base
    class, as ``super().__init__(**kwargs)`` does, so the bases' parameters
    are added until one takes no ``**kwargs`` (or ``object`` is reached:
    any keyword goes).
    """
    if not inspect.isclass(target):
        functions = [target]
    else:
        functions = [
            vars(owner)['__init__'] for owner in inspect.getmro(target)
            if '__init__' in vars(owner)
        ]
    parameters: dict = {}
    hints: dict = {}
    for function in functions:
        try:
            own = dict(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            return None, {}, True
        if inspect.isclass(target):
            own.pop(next(iter(own), None), None)  # self
        try:
            own_hints = typing.get_type_hints(function)
        except Exception:  # unresolvable annotations: check names only
            own_hints = {}
        for name, parameter in own.items():
            if parameter.kind not in (parameter.VAR_KEYWORD,
                                      parameter.VAR_POSITIONAL):
                parameters.setdefault(name, parameter)
                if name in own_hints:
                    hints.setdefault(name, own_hints[name])
        if not any(p.kind is p.VAR_KEYWORD for p in own.values()):
            return parameters, hints, False
    return parameters, hints, True


def _simple_types(hint) -> Tuple[type, ...]:
    """The classes a plain annotation allows; empty for anything else."""
    if hint in _SIMPLE_TYPES:
        return (hint, )
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is getattr(types, 'UnionType', None):
        members = typing.get_args(hint)
        if all(member in _SIMPLE_TYPES for member in members):
            return members
    return ()


def _is_instance(value, expected: Tuple[type, ...]) -> bool:
    # An int is a fine float; bool is an int already.
    return isinstance(value, expected) or (float in expected
                                           and isinstance(value, int))


def _type_names(expected: Tuple[type, ...]) -> str:
    names = [
        'None' if kind is type(None) else kind.__name__ for kind in expected
    ]
    article = 'an' if names[0][0] in 'aeiou' else 'a'
    return f'{article} {" or ".join(names)}'


def _registered_names(registry: Registry) -> List[str]:
    """Every name of ``registry``'s tree (its root and all descendants)."""
    root = registry
    while root.parent is not None:
        root = root.parent
    names, pending = [], [root]
    while pending:
        node = pending.pop()
        node.import_from_location()
        names += list(node.module_dict)
        pending += list(node.children.values())
    return names


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f'; did you mean {close[0]!r}?' if close else ''


def check_paths(cfg: Config, loaders: Optional[List[str]] = None) -> None:
    """Checks the data roots of ``loaders`` (default: the dataloaders
    training uses), the checkpoint to load and that ``cfg.work_dir`` can be
    written.

    Raises:
        ConfigError: Naming the setting and how to change it.
        CheckpointError: ``load_from`` does not exist.
    """
    if loaders is None:
        loaders = ['train_dataloader']
        if cfg.get('val_cfg') and cfg.get('val_dataloader'):
            loaders.append('val_dataloader')
    for loader in loaders:
        for key, root in data_roots(cfg.get(loader), loader):
            if not osp.isdir(root):
                raise ConfigError(
                    f'{key}={root!r} does not exist; set it in the config '
                    f'or with --cfg-options {key}=PATH')
    if cfg.get('load_from'):
        check_checkpoint_exists(cfg.load_from, bool(cfg.get('resume')))
    check_writable(cfg.work_dir, 'work dir', '--work-dir')


def check_writable(path: str,
                   what: str,
                   option: str,
                   is_folder: bool = True) -> None:
    """Checks that the folder (or file) ``path`` can be created or written,
    creating nothing: an empty output folder would be left behind by a run
    that stops later for another reason.

    Args:
        path: The folder, or with ``is_folder=False`` the file.
        what: What it is, for the message (``'work dir'``).
        option: The command-line option that sets it.
        is_folder: Whether ``path`` is a folder.

    Raises:
        ConfigError: ``<what> '<path>' is not writable (<reason>); pass
            <option> with a writable location``.
    """
    target = osp.abspath(path)
    existing = target if is_folder else osp.dirname(target)
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    try:
        if not osp.isdir(existing):
            raise NotADirectoryError(errno.ENOTDIR,
                                     os.strerror(errno.ENOTDIR))
        if not is_folder and osp.isdir(target):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        # What creating the folder or file needs: a writable parent.
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(
            f'{what} {path!r} is not writable ({err.strerror}); pass '
            f'{option} with a writable location') from None


def check_device(device: str) -> None:
    """Checks that ``--device`` names a device this machine has.

    Raises:
        ConfigError: Not a device name, or a GPU this machine lacks.
    """
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ConfigError(f'--device {device!r} is not a device; use cpu, '
                          f'cuda or cuda:N') from None
    if parsed.type != 'cuda':
        return
    if not torch.cuda.is_available():
        raise ConfigError(f'--device {device}: CUDA is not available on '
                          f'this machine; use --device cpu')
    count = torch.cuda.device_count()
    if parsed.index is not None and parsed.index >= count:
        raise ConfigError(f'--device {device}: this machine has {count} '
                          f'GPU(s), cuda:0 to cuda:{count - 1}')


def data_roots(node, key: str) -> Iterator[Tuple[str, str]]:
    """``(dotted key, value)`` of every ``data_root`` under ``node``."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == 'data_root' and isinstance(value, str):
                yield f'{key}.{name}', value
            else:
                yield from data_roots(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from data_roots(value, f'{key}.{index}')


def error_line(err: Exception) -> str:
    """``<ExceptionType>: <message>`` on one line."""
    # str(KeyError('x')) is "'x'", quotes included.
    text = err.args[0] if isinstance(err, KeyError) and err.args else err
    return f'{type(err).__name__}: {text}'
