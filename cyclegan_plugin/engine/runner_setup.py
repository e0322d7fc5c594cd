"""From the command line to a ready runner, failing with one clear line.

A typo in a config key, an unknown ``type``, a malformed ``--cfg-options``
item, a data root that does not exist or a work dir that cannot be written
would otherwise surface as a long traceback from deep inside mmengine,
sometimes minutes into training. The functions here check these first and
raise :class:`ConfigError`, whose message is one line naming the key and
the fix; ``tools/train.py`` prints it and exits.
"""
import argparse
import difflib
import os
import os.path as osp
import tempfile
from typing import Iterator, Optional, Tuple

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from cyclegan_plugin.registry import RUNNERS

# Top-level keys mmengine's Runner reads (Runner.from_cfg and train()).
RUNNER_KEYS = frozenset({
    'activation_checkpointing', 'auto_scale_lr', 'compile', 'custom_hooks',
    'data_preprocessor', 'default_hooks', 'default_scope',
    'efficient_conv_bn_eval', 'env_cfg', 'experiment_name', 'launcher',
    'load_from', 'log_level', 'log_processor', 'model', 'model_wrapper_cfg',
    'optim_wrapper', 'param_scheduler', 'randomness', 'resume', 'runner_type',
    'test_cfg', 'test_dataloader', 'test_evaluator', 'train_cfg',
    'train_dataloader', 'val_cfg', 'val_dataloader', 'val_evaluator',
    'visualizer', 'work_dir'
})

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

# Errors of reading a config file, and of building components from it.
_READ_ERRORS = (OSError, SyntaxError, ImportError, KeyError, ValueError)
_BUILD_ERRORS = (KeyError, TypeError, ValueError, FileNotFoundError)


class ConfigError(Exception):
    """A config or command line that cannot work; the message says why."""


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` for ``--cfg-options KEY=VALUE ...``, with a
    malformed item reported as an argparse error instead of a traceback."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key, equals, _ = item.partition('=')
            if not (key and equals):
                raise argparse.ArgumentError(
                    self, f'{item!r} is not KEY=VALUE, e.g. '
                    f'train_cfg.max_iters=1000')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (AssertionError, ValueError) as err:
            raise argparse.ArgumentError(self, str(err)) from None


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Reads the config file and applies ``--cfg-options``.

    Raises:
        ConfigError: The file cannot be read, or an option's top-level key
            is neither in the config nor read by mmengine's Runner (it
            would be ignored silently).
    """
    try:
        cfg = Config.fromfile(path)
    except _READ_ERRORS as err:
        raise ConfigError(f'cannot read config {path!r}: {_message(err)}')
    if not options:
        return cfg
    known = set(cfg.keys()) | RUNNER_KEYS
    for key in options:
        top = key.split('.')[0]
        if top not in known:
            close = difflib.get_close_matches(top, known, n=1)
            hint = f'; did you mean {close[0]!r}?' if close else ''
            raise ConfigError(f'--cfg-options {key}: the config has no key '
                              f'{top!r}{hint}')
    try:
        cfg.merge_from_dict(options)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f'--cfg-options: {_message(err)}')
    if 'data_root' in options:
        # The dataloaders copied the variable when the file was read, so a
        # new top-level data_root must be handed down to each of them.
        cfg.merge_from_dict({
            key: options['data_root']
            for loader in DATALOADERS
            for key, _ in _data_roots(cfg.get(loader), loader)
        })
    return cfg


def check_paths(cfg: Config) -> None:
    """Checks the data roots of the dataloaders training uses, the
    checkpoint to load and that ``cfg.work_dir`` is writable.

    Raises:
        ConfigError: Naming the setting and how to change it.
    """
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') and cfg.get('val_dataloader'):
        loaders.append('val_dataloader')
    for loader in loaders:
        for key, root in _data_roots(cfg.get(loader), loader):
            if not osp.isdir(root):
                raise ConfigError(
                    f'{key}={root!r} does not exist; set it in the config '
                    f'or with --cfg-options {key}=PATH')
    checkpoint = cfg.get('load_from')
    if checkpoint and not osp.isfile(checkpoint):
        raise ConfigError(f'checkpoint {checkpoint!r} (--resume / load_from) '
                          f'does not exist')
    try:
        os.makedirs(cfg.work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=cfg.work_dir):
            pass
    except OSError as err:
        raise ConfigError(
            f'work dir {cfg.work_dir!r} is not writable ({err.strerror}); '
            f'pass --work-dir with a writable folder')


def build_runner(cfg: Config) -> Runner:
    """Builds the runner and, right away, everything training builds lazily
    (train loop with dataloader and dataset, optimizers, schedulers,
    validation), so that config mistakes surface here.

    Uses ``RUNNERS.build`` when the config sets ``runner_type``.

    Raises:
        ConfigError: A component cannot be built: unknown ``type``,
            unexpected or ill-typed argument.
    """
    try:
        runner = (
            RUNNERS.build(cfg)
            if 'runner_type' in cfg else Runner.from_cfg(cfg))
        runner.train_loop  # the property builds loop, dataloader, dataset
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        # scale_lr, run by train(), must come before the schedulers.
        auto_scale = (runner.auto_scale_lr or {}).get('enable', False)
        if runner.param_schedulers is not None and not auto_scale:
            runner.param_schedulers = runner.build_param_scheduler(
                runner.param_schedulers)
        runner.val_loop  # builds loop, dataloader and evaluator
    except _BUILD_ERRORS as err:
        raise ConfigError(f'{cfg.filename}: {_message(err)}') from err
    return runner


def _data_roots(node, key: str) -> Iterator[Tuple[str, str]]:
    """``(dotted key, value)`` of every ``data_root`` under ``node``."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == 'data_root' and isinstance(value, str):
                yield f'{key}.{name}', value
            else:
                yield from _data_roots(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _data_roots(value, f'{key}.{index}')


def _message(err: Exception) -> str:
    # str(KeyError('x')) is "'x'", quotes included.
    text = err.args[0] if isinstance(err, KeyError) and err.args else err
    return f'{type(err).__name__}: {text}'
