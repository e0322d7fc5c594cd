"""mmengine's CheckpointHook, made safe against crashes at any moment."""
import os
import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from cyclegan_plugin.engine.checkpoint_io import (publish_file,
                                                  remove_temp_files,
                                                  temp_path_for,
                                                  write_text_atomically)
from cyclegan_plugin.registry import HOOKS

# mmengine's pointer to the newest checkpoint, read by ``--resume``.
LAST_CHECKPOINT_FILE = 'last_checkpoint'


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Saves like ``CheckpointHook`` in an order that survives crashes.

    mmengine 0.10.7 deletes the oldest checkpoint first and then writes the
    new one in place, so a crash while saving can leave a torn newest file
    and one fewer good one. Here each save

    1. writes the checkpoint under a temporary name in the output folder,
       fsyncs it and renames it to ``iter_N.pth`` (atomic);
    2. then atomically replaces ``last_checkpoint``, the pointer
       ``--resume`` follows;
    3. only then deletes checkpoints beyond ``max_keep_ckpts``.

    At any moment the pointer therefore names a complete checkpoint. The
    checkpoints still to delete are listed in the saved checkpoint, so a
    run resumed after a crash between 2 and 3 deletes them; temporary files
    of an interrupted write are removed when training starts.

    When training stops early (a stop signal, an early-stopping or
    non-finite-loss hook setting ``stop_training``), the last iteration is
    saved in ``after_train`` unless it already was.

    Only iteration-based saving (``by_epoch=False``) to a local folder is
    supported. Best checkpoints (``save_best``) are written as mmengine
    does; they are not what ``--resume`` uses.

    Args:
        by_epoch: Must be False.
        **kwargs: The other arguments of mmengine's ``CheckpointHook``.
    """

    def __init__(self, by_epoch: bool = False, **kwargs):
        if by_epoch:
            raise ValueError('AtomicCheckpointHook saves by iteration; set '
                             'by_epoch=False in its config.')
        super().__init__(by_epoch=False, **kwargs)
        self._last_saved_iter = None

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not isinstance(self.file_backend, LocalBackend):
            raise ValueError(
                f'AtomicCheckpointHook needs a local out_dir, got '
                f'{self.out_dir!r}; atomic renames need a file system.')
        if is_main_process():
            remove_temp_files(self.out_dir)
            remove_temp_files(runner.work_dir)
        self._last_saved_iter = runner.iter

    def after_train(self, runner) -> None:
        super().after_train(runner)
        if (runner.train_loop.stop_training
                and self._last_saved_iter != runner.iter):
            runner.logger.info(f'Training stopped early: saving a checkpoint '
                               f'at {runner.iter} iterations to resume from')
            self._save_checkpoint_with_step(
                runner, runner.iter,
                dict(epoch=runner.epoch, iter=runner.iter))

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        filename = self.filename_tmpl.format(step)
        path = osp.join(self.out_dir, filename)
        kept, stale = [], []
        if self.max_keep_ckpts > 0:
            kept = [s for s in self.keep_ckpt_ids if s != step] + [step]
            stale = kept[:-self.max_keep_ckpts]
            # Saved still listing the stale ones: if the process dies before
            # deleting them, the resumed run's before_train does.
            runner.message_hub.update_info('keep_ckpt_ids', kept)
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        temp_path = temp_path_for(path)
        runner.save_checkpoint(
            self.out_dir,
            osp.basename(temp_path),
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        self._last_saved_iter = step
        if self.max_keep_ckpts > 0:
            self.keep_ckpt_ids = deque(kept[len(stale):], self.max_keep_ckpts)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        if not is_main_process():
            return
        publish_file(temp_path, path)
        write_text_atomically(
            osp.join(runner.work_dir, LAST_CHECKPOINT_FILE), path)
        for old_step in stale:
            old_path = osp.join(self.out_dir,
                                self.filename_tmpl.format(old_step))
            if osp.isfile(old_path):
                os.remove(old_path)
