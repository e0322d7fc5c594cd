"""From the command line to a ready runner, failing with one clear line.

A typo in a config key, an unknown ``type``, a data root that does not
exist or a work dir that cannot be written would otherwise surface as a
long traceback from deep inside mmengine, sometimes minutes into training.
The tools read the config with :func:`load_config`, check it
(:mod:`.config_checks`), build the runner with :func:`build_runner` and run
inside :func:`exit_on_user_error`, which turns the errors a user can fix
into one line naming the key or file and the fix, worded the same in every
tool. A run that fails that way before it has done anything leaves no empty
log folder behind (:func:`removing_unused_log_dirs`).
"""
import copy
import os
import os.path as osp
import re
import shutil
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Set, Type

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from cyclegan_plugin.engine.checkpoint_io import CheckpointError
from cyclegan_plugin.evaluation.feature_metric import FeatureDistanceMetric
from cyclegan_plugin.registry import METRICS, RUNNERS
from .config_checks import (ConfigError, check_arguments, error_line,
                            is_evaluator)

# Errors of building components from a config.
_BUILD_ERRORS = (KeyError, TypeError, ValueError, FileNotFoundError)
# The folder mmengine's Runner names after its start time.
_TIMESTAMP = re.compile(r'\d{8}_\d{6}')
# What a run writes into that folder as it starts: its log, the config and
# TensorBoard's event file (which holds the config too).
_START_FILES = re.compile(
    r'[^/]+\.log|vis_data/config\.py|vis_data/events\.out\.tfevents\..+')
# mmengine's visualizer when a config sets none (Runner.build_visualizer).
_DEFAULT_VISUALIZER = dict(
    type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
_TENSORBOARD = 'TensorboardVisBackend'
_DEFAULT_RUNNER = 'cyclegan_plugin.ExactResumeRunner'


@contextmanager
def exit_on_user_error(tool: str,
                       *errors: Type[Exception]) -> Iterator[None]:
    """Ends the tool with ``<tool>: error: <message>`` (one line, exit
    status 1) on a :class:`ConfigError`, a :class:`CheckpointError` or one
    of ``errors``, instead of a traceback."""
    try:
        yield
    except (ConfigError, CheckpointError, *errors) as err:
        raise SystemExit(f'{tool}: error: {err}') from None


@contextmanager
def removing_unused_log_dirs(cfg: Config) -> Iterator[None]:
    """Removes, when the run of ``cfg`` inside fails with a
    :class:`ConfigError` or a :class:`CheckpointError` (it could not
    start), what it created in the work dir as it started: timestamped log
    folders that hold nothing but the start files (log, config copy), and
    the runner's copy of the config, and the work dir itself if it is new
    and left empty. Whatever was there before, and folders that hold
    anything else, are kept."""
    work_dir = cfg.work_dir
    existed = osp.isdir(work_dir)
    before = _entries(work_dir)
    try:
        yield
    except (ConfigError, CheckpointError):
        if is_main_process():
            config_copy = osp.basename(cfg.filename or '')
            for name in _entries(work_dir) - before:
                path = osp.join(work_dir, name)
                if name == config_copy and osp.isfile(path):
                    os.remove(path)
                elif _TIMESTAMP.fullmatch(name) and _holds_start_files(path):
                    shutil.rmtree(path)
            if not existed and osp.isdir(work_dir) and not _entries(work_dir):
                os.rmdir(work_dir)
        raise


def _entries(folder: str) -> Set[str]:
    return set(os.listdir(folder)) if osp.isdir(folder) else set()


def _holds_start_files(folder: str) -> bool:
    if not osp.isdir(folder):
        return False
    for parent, _, files in os.walk(folder):
        for name in files:
            relative = osp.relpath(osp.join(parent, name), folder)
            if not _START_FILES.fullmatch(relative.replace(os.sep, '/')):
                return False
    return True


def build_runner(cfg: Config, training: bool = True) -> Runner:
    """Checks the config's arguments, builds the runner and, right away,
    what training (or testing) builds lazily, so that config mistakes
    surface here, before the runner's long environment and config log.

    For training: the train loop with dataloader and dataset, optimizers,
    schedulers and validation; for testing: the test loop with its
    dataloader and evaluator. The runner is the config's ``runner_type``,
    :class:`ExactResumeRunner` where it sets none, so that every tool
    reads checkpoints the one safe and strict way, in the same words.

    Raises:
        ConfigError: An argument a component does not take or of the
            wrong type, an unknown ``type``, or a component that cannot be
            built.
    """
    check_arguments(cfg)
    if cfg.get('runner_type') is None:
        cfg.runner_type = _DEFAULT_RUNNER
    try:
        runner = RUNNERS.build(cfg)
        if not training:
            runner.test_loop  # the property builds loop, data, evaluator
            return runner
        runner.train_loop  # the property builds loop, dataloader, dataset
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        # scale_lr, run by train(), must come before the schedulers.
        auto_scale = (runner.auto_scale_lr or {}).get('enable', False)
        if runner.param_schedulers is not None and not auto_scale:
            runner.param_schedulers = runner.build_param_scheduler(
                runner.param_schedulers)
        runner.val_loop  # builds loop, dataloader and evaluator
    except _BUILD_ERRORS as err:
        raise ConfigError(f'{cfg.filename}: {error_line(err)}') from err
    return runner


def add_tensorboard(cfg: Config) -> None:
    """Adds mmengine's ``TensorboardVisBackend`` to the config's visualizer
    (mmengine's default one where the config sets none), so scalars and
    sample grids also go to TensorBoard event files in
    ``<work_dir>/<timestamp>/vis_data/``.

    Raises:
        ConfigError: TensorBoard is not installed.
    """
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ConfigError(
            '--tensorboard needs the tensorboard package: pip install '
            'tensorboard (part of pip install -e ".[optional]")') from None
    visualizer = copy.deepcopy(
        cfg.get('visualizer') or _DEFAULT_VISUALIZER)
    backends = list(visualizer.get('vis_backends') or [])
    if not any(
            str(backend.get('type')).endswith(_TENSORBOARD)
            for backend in backends):
        backends.append(dict(type=_TENSORBOARD))
    visualizer['vis_backends'] = backends
    cfg.visualizer = visualizer


def leave_out_metrics(cfg: Config,
                      skip: Sequence[str] = ()) -> Dict[str, str]:
    """Takes out of ``cfg.test_evaluator`` the metrics named in ``skip``
    and those that cannot be computed on this machine, so that a test run
    still writes its translations, gallery and the other metrics.

    A metric cannot be computed when building it fails for want of a file
    or package (KID and FID offline, without the Inception weights). Each
    one is built here once to find out (the runner builds the others
    again); metrics on the same Inception network share one try, so an
    offline download is attempted once.

    Args:
        cfg: The test config; changed in place.
        skip: Metric names, any case (``kid``, ``FID``,
            ``cycleconsistency``).

    Returns:
        Why each left-out metric was left out (one line), by metric name.

    Raises:
        ConfigError: A name in ``skip`` that the test evaluator lacks, or
            a metric config with an unknown type or argument.
    """
    check_arguments(cfg, ['test_evaluator'])
    holder = cfg.test_evaluator if is_evaluator(
        cfg.get('test_evaluator')) else cfg
    key = 'metrics' if holder is not cfg else 'test_evaluator'
    evaluator = holder.get(key)
    metrics = (
        list(evaluator) if isinstance(evaluator, (list, tuple)) else
        [evaluator] if isinstance(evaluator, dict) else [])
    names = [_metric_name(metric) for metric in metrics]
    lowered = {name.lower() for name in names}
    for name in skip:
        if name.lower() not in lowered:
            raise ConfigError(
                f'--skip-metrics {name}: the test_evaluator has no such '
                f'metric; it has {", ".join(names) or "none"}')
    skipped = {name.lower() for name in skip}
    reasons: Dict[str, str] = {}
    kept = []
    tried: Dict[str, str] = {}
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for metric, name in zip(metrics, names):
            reason = ('left out by --skip-metrics' if name.lower()
                      in skipped else _why_unavailable(metric, tried))
            if reason is None:
                kept.append(metric)
            else:
                reasons[name] = reason
    if reasons:
        holder[key] = kept
    return reasons


def _metric_name(metric: dict) -> str:
    kind = metric.get('type')
    return (kind.split('.')[-1]
            if isinstance(kind, str) else getattr(kind, '__name__', '?'))


def _why_unavailable(metric: dict, tried: Dict[str, str]) -> Optional[str]:
    """Why ``metric`` cannot be built here, or None; ``tried`` holds the
    reasons found for feature extractors already tried."""
    kind = metric.get('type')
    metric_class = METRICS.get(kind) if isinstance(kind, str) else kind
    extractor = None
    if isinstance(metric_class, type) and issubclass(metric_class,
                                                     FeatureDistanceMetric):
        extractor = repr((metric.get('feature_extractor'),
                          metric.get('inception_weights')))
        if extractor in tried:
            return tried[extractor]
    try:
        METRICS.build(copy.deepcopy(metric))
    except (FileNotFoundError, ImportError) as err:
        reason = ' '.join(str(err).split())
        if extractor is not None:
            tried[extractor] = reason
        return reason
    return None
