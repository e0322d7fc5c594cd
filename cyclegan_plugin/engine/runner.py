"""mmengine's Runner with safe, strict checkpoint loading and exact resume."""
import datetime
import logging
import re
from typing import Callable, List, Optional, Tuple, Union

import torch
from mmengine.device import get_device
from mmengine.dist import broadcast
from mmengine.runner import Runner
from torch import distributed as dist
from torch import nn

from cyclegan_plugin.models.base_translation_model import unwrap
from cyclegan_plugin.registry import RUNNERS
from .checkpoint_io import load_model_weights, model_weights, read_checkpoint
from .memory_format import to_channels_last, wants_channels_last
from .rank_state import load_extra_state, own_rank_state
from .train_loop import TRAIN_STATE_INFO

# mmengine's Runner.resume logs this with the loop's epoch, which an
# iteration-based loop keeps at 0; resume() logs the right line instead.
_MMENGINE_RESUME_LINE = 'resumed epoch: '


@RUNNERS.register_module()
class ExactResumeRunner(Runner):
    """Loads checkpoints safely and strictly, and saves what an exact resume
    needs.

    * Loading (``load_from`` and ``resume``) reads the file with
      ``torch.load(weights_only=True)`` and an explicit allow-list (see
      :mod:`.checkpoint_io`): on torch >= 2.6 mmengine 0.10.7 cannot read
      its own checkpoints, and a crafted file is refused before it can run
      anything.
    * The weights must fit the model of the config: a mismatch raises
      :class:`CheckpointMismatchError` naming the missing, unexpected and
      differently shaped keys, instead of mmengine's warning followed by
      training a half-loaded model.
    * Saving adds the training loop's state (data position, and every
      rank's random generators and history buffers,
      :meth:`ExactResumeTrainLoop.state_dict`) to the message hub, which
      every checkpoint holds; a resume gives each rank its own. Models,
      optimizers, loss scalers, schedulers, the iteration and the history
      buffers (model state) are saved by mmengine as usual.

    * ``channels_last = True`` in the config (or ``dict(cpu=True)``: on
      the CPU only) puts the networks in channels-last memory format
      (:mod:`.memory_format`) before the model is wrapped, as DDP needs.

    Use it with ``runner_type = 'ExactResumeRunner'`` in the config.
    """

    _resuming = False

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's setup, plus multi-process training on CPU.

        mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and
        fails without a GPU; on a machine without one the process group is
        started here with gloo from torchrun's environment (``RANK``,
        ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), so
        ``tools/dist_train.sh CONFIG 2`` also runs on a laptop.
        """
        if (self._launcher == 'pytorch' and not torch.cuda.is_available()
                and not dist.is_initialized()):
            timeout = env_cfg.get('dist_cfg', {}).get('timeout', 1800)
            dist.init_process_group(
                'gloo', timeout=datetime.timedelta(seconds=timeout))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[dict],
                   model: nn.Module) -> nn.Module:
        """mmengine's wrapping, after the channels-last conversion if the
        config asks for it."""
        if wants_channels_last(
                self.cfg.get('channels_last', False), get_device()):
            to_channels_last(model)
        return super().wrap_model(model_wrapper_cfg, model)

    def load_checkpoint(
            self,
            filename: str,
            map_location: Union[str, Callable] = 'cpu',
            strict: bool = True,
            revise_keys: List[Tuple[str, str]] = [(r'^module.', '')]) -> dict:
        """Loads ``filename`` into the model and returns the checkpoint.

        Args:
            filename: Local checkpoint path.
            map_location: Where to put the tensors, as for ``torch.load``.
            strict: Raise on any key or shape mismatch; otherwise log it
                and load the matching weights.
            revise_keys: ``(pattern, replacement)`` regexes applied to the
                checkpoint's keys.

        Raises:
            CheckpointError: The file is missing, torn, unsafe or holds no
                weights.
            CheckpointMismatchError: ``strict`` and the weights do not fit.
        """
        checkpoint = read_checkpoint(filename, map_location, self._resuming)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        state_dict = model_weights(checkpoint, filename)
        for pattern, replacement in revise_keys:
            state_dict = {
                re.sub(pattern, replacement, key): value
                for key, value in state_dict.items()
            }
        left_out = load_model_weights(
            unwrap(self.model), state_dict, filename, strict=strict)
        if left_out:
            self.logger.warning(f'Loading the matching weights of '
                                f'{filename}; {left_out}.')
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _init_model_weights(self) -> None:
        """Initialises the model and gives every rank rank 0's weights.

        mmengine broadcasts every ``state_dict()`` entry, but the history
        buffers' entries are dicts of per-rank images (each rank pools its
        own fakes), so only tensors are broadcast.
        """
        model = unwrap(self.model)
        if hasattr(model, 'init_weights'):
            model.init_weights()
            for value in model.state_dict().values():
                if isinstance(value, torch.Tensor):
                    broadcast(value)

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'cpu') -> None:
        """mmengine's ``resume``, loading to the CPU by default.

        Loading copies the weights and the optimizers' state to their
        devices anyway; the random generators' states (ours and the history
        buffers') must stay CPU tensors, which mmengine's default, the
        training device, would not leave them. The log line names the
        epochs completed, which mmengine's (always 0 for an
        iteration-based loop) does not.
        """
        wrong_line = _DropMessages(_MMENGINE_RESUME_LINE)
        self.logger.addFilter(wrong_line)
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer, resume_param_scheduler,
                           map_location)
        finally:
            self._resuming = False
            self.logger.removeFilter(wrong_line)
        epoch_length = len(self.train_loop.dataloader)
        self.logger.info(f'{_MMENGINE_RESUME_LINE}{self.iter // epoch_length}'
                         f', iter: {self.iter}')
        # The model now holds rank 0's history buffers; give each rank its
        # own, and the training loop this rank's random state.
        state = self.message_hub.get_info(TRAIN_STATE_INFO)
        if state is not None and state.get('ranks'):
            own = own_rank_state(state.pop('ranks'))
            load_extra_state(self.model, own['extra_state'])
            state['rng'] = own['rng']

    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        """Saves as mmengine does, plus the training loop's state (gathered
        from every rank: call it on all of them, as the checkpoint hooks
        do; only rank 0 writes)."""
        state_dict = getattr(self.train_loop, 'state_dict', None)
        if state_dict is not None:
            self.message_hub.update_info(TRAIN_STATE_INFO, state_dict())
        super().save_checkpoint(out_dir, filename, *args, **kwargs)
        # Written; the ranks' pools need not stay in memory until the next.
        self.message_hub.pop_info(TRAIN_STATE_INFO)


class _DropMessages(logging.Filter):
    """Drops the log records whose message starts with ``prefix``."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)
