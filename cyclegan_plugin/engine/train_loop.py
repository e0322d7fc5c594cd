"""An iteration-based training loop whose length is given in epochs, that
resumes exactly without replaying data and stops gracefully on a signal."""
import logging
from typing import Iterator, Optional, Sequence

import torch
from mmengine.device import get_device
from mmengine.dist import all_reduce
from mmengine.logging import print_log
from mmengine.runner import BaseLoop, IterBasedTrainLoop
# The wrapper IterBasedTrainLoop itself uses to restart finite samplers.
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmengine.runner.utils import calc_dynamic_intervals

from cyclegan_plugin.datasets.sampler import ResumableInfiniteSampler
from cyclegan_plugin.registry import LOOPS
from .rank_state import gather_rank_states
from .rng_state import preserved_rng_state, set_rng_state
from .stop_signals import StopSignals, WorkerShield

# Message hub runtime info holding :meth:`ExactResumeTrainLoop.state_dict`;
# the message hub is saved in every checkpoint and restored on resume.
TRAIN_STATE_INFO = 'train_state'


@LOOPS.register_module()
class ExactResumeTrainLoop(IterBasedTrainLoop):
    """Runs ``max_epochs`` passes over the training set, counted in
    iterations.

    CycleGAN's schedule is written in epochs (100 + 100), but a run of
    hundreds of thousands of batch-1 iterations is checkpointed, logged and
    resumed by iteration. ``max_epochs`` is turned into ``max_iters`` from
    the dataloader's length, so one config serves any dataset size.

    Resuming continues the run exactly: with a
    :class:`ResumableInfiniteSampler` the data stream restarts at the
    saved position (mmengine's loop instead loads and throws away every
    batch already trained on), and the global random generators get the
    state they had when the checkpoint was saved (:meth:`state_dict`,
    stored by :class:`ExactResumeRunner`). Validation runs with the
    generators' state preserved, so it never changes the training run.

    A signal in ``stop_signals`` (cluster preemption, Ctrl-C), sent to the
    main process or to the whole process group (data loader workers ignore
    them), ends training after the current iteration; a checkpoint hook
    then saves (see :class:`AtomicCheckpointHook`) and ``runner.train()``
    returns normally.

    Args:
        runner: The runner.
        dataloader: The training dataloader or its config.
        max_epochs: Passes over the training set; exclusive with
            ``max_iters``.
        max_iters: Iterations, when a run is better measured that way.
        val_interval: Validate every this many iterations; ``None`` never.
        val_begin: First iteration that may validate.
        stop_signals: Names of the signals that stop training gracefully.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs: Optional[int] = None,
                 max_iters: Optional[int] = None,
                 val_interval: Optional[int] = None,
                 val_begin: int = 1,
                 stop_signals: Sequence[str] = ('SIGTERM', 'SIGINT')):
        if (max_epochs is None) == (max_iters is None):
            raise ValueError('train_cfg needs exactly one of max_epochs and '
                             'max_iters.')
        # IterBasedTrainLoop.__init__ starts iterating the dataloader, so
        # workers would load batches from sample 0 before a resume sets
        # the position; its setup is therefore done here instead.
        BaseLoop.__init__(self, runner, dataloader)
        self._max_iters = (
            max_iters if max_epochs is None else max_epochs *
            len(self.dataloader))
        self._max_epochs = -(-self._max_iters // len(self.dataloader))
        self._epoch = 0
        self._iter = 0
        self.val_begin = val_begin
        self.val_interval = val_interval or 2**62
        self.stop_training = False
        self.dynamic_milestones, self.dynamic_intervals = (
            calc_dynamic_intervals(self.val_interval))
        self.stop_signals = StopSignals(stop_signals)
        self._worker_shields = []
        self.dataloader_iterator: Optional[Iterator] = None
        self._samples_seen = 0
        metainfo = getattr(self.dataloader.dataset, 'metainfo', None)
        if metainfo is not None:
            self.runner.visualizer.dataset_meta = metainfo

    @property
    def sampler(self):
        """The sampler that orders the training samples."""
        return getattr(self.dataloader.batch_sampler, 'sampler',
                       self.dataloader.sampler)

    def state_dict(self) -> dict:
        """The data stream position, and each rank's random generators and
        history buffers (:mod:`.rank_state`), taken between two iterations.
        Call it on every rank."""
        return dict(
            samples_seen=self._samples_seen,
            sampler_seed=getattr(self.sampler, 'seed', None),
            ranks=gather_rank_states(self.runner.model))

    def run(self) -> torch.nn.Module:
        """Trains until ``max_iters`` or a stop request."""
        self.runner.call_hook('before_train')
        # The whole iteration-based run counts as one epoch for the hooks.
        self.runner.call_hook('before_train_epoch')
        self._shield_workers()
        try:
            with self.stop_signals as stop:
                self._train(stop)
        finally:
            for shield in self._worker_shields:
                shield.release()
            # Non-persistent workers shut down now, not whenever the
            # garbage collector gets to the iterator.
            self.dataloader_iterator = None
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def _train(self, stop: StopSignals) -> None:
        self.dataloader_iterator = self._start_data_stream()
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader_iterator))
            if self._stop_requested(stop):
                self.stop_training = True
                return
            self._decide_current_val_interval()
            if self._should_validate():
                with preserved_rng_state():
                    self.runner.val_loop.run()

    def run_iter(self, data_batch: dict) -> None:
        """Trains on one batch, already taken from the data stream."""
        # Counted first: a checkpoint saved by an after_train_iter hook
        # must resume after this batch. Unknown (0) with a custom batch
        # sampler; such runs resume by replaying, see _start_data_stream.
        self._samples_seen += self.dataloader.batch_size or 0
        super().run_iter(data_batch)

    def _start_data_stream(self) -> Iterator:
        """The batch iterator, positioned after the data already trained on
        and with the generators as saved when resuming."""
        if self._iter == 0:
            return _InfiniteDataloaderIterator(self.dataloader)
        state = self.runner.message_hub.get_info(TRAIN_STATE_INFO)
        if state is None:
            print_log(
                'The checkpoint holds no training-loop state (it was not '
                'saved by ExactResumeRunner): the data position is taken from '
                'the iteration and the random generators are not restored.',
                logger='current',
                level=logging.WARNING)
            state = dict(
                samples_seen=self._iter * (self.dataloader.batch_size or 0),
                sampler_seed=getattr(self.sampler, 'seed', None))
        self._samples_seen = state['samples_seen']
        fast_forward = (
            isinstance(self.sampler, ResumableInfiniteSampler)
            and self.dataloader.batch_size is not None)
        if fast_forward:
            self.sampler.resume(state['samples_seen'], state['sampler_seed'])
        iterator = _InfiniteDataloaderIterator(self.dataloader)
        if not fast_forward:
            print_log(
                f'{type(self.sampler).__name__} cannot start mid-stream: '
                f'loading and skipping {self._iter} batches. Use '
                f'sampler=dict(type="ResumableInfiniteSampler") and no '
                f'batch_sampler to resume without replaying.',
                logger='current',
                level=logging.WARNING)
            for _ in range(self._iter):
                next(iterator)
        if 'rng' in state:
            # Last, after everything that draws while setting up.
            set_rng_state(state['rng'])
        return iterator

    def _shield_workers(self) -> None:
        """Keeps the stop signals away from the training and validation
        loaders' workers while training runs (see :class:`WorkerShield`).
        """
        if not self.stop_signals.names:
            return
        loaders = [self.dataloader]
        if self.runner.val_loop is not None:
            loaders.append(self.runner.val_loop.dataloader)
        for loader in loaders:
            if loader.num_workers > 0 and not isinstance(
                    loader.worker_init_fn, WorkerShield):
                loader.worker_init_fn = WorkerShield(loader.worker_init_fn,
                                                     self.stop_signals.names)
                self._worker_shields.append(loader.worker_init_fn)

    def _stop_requested(self, stop: StopSignals) -> bool:
        requested = stop.received is not None
        if self.runner.distributed:
            # Every rank must stop after the same iteration, or the others
            # would wait forever in the next collective operation.
            flag = torch.tensor(float(requested), device=get_device())
            all_reduce(flag, op='max')
            requested = bool(flag.item())
        if requested:
            print_log(
                f'{stop.received or "A stop signal on another rank"}: '
                f'stopping after iteration {self._iter}.',
                logger='current',
                level=logging.WARNING)
        return requested

    def _should_validate(self) -> bool:
        return (self.runner.val_loop is not None
                and self._iter >= self.val_begin
                and (self._iter % self.val_interval == 0
                     or self._iter == self._max_iters))
