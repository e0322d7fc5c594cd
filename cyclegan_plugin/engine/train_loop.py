"""An iteration-based training loop whose length is given in epochs."""
from typing import Optional

from mmengine.runner import IterBasedTrainLoop

from cyclegan_plugin.registry import LOOPS


@LOOPS.register_module()
class CycleGANTrainLoop(IterBasedTrainLoop):
    """Runs ``max_epochs`` passes over the training set, counted in
    iterations.

    CycleGAN's schedule is written in epochs (100 + 100), but a run of
    hundreds of thousands of batch-1 iterations is checkpointed, logged and
    resumed by iteration. ``max_epochs`` is turned into ``max_iters`` from
    the dataloader's length, so one config serves any dataset size.

    Args:
        runner: The runner.
        dataloader: The training dataloader or its config.
        max_epochs: Passes over the training set; exclusive with
            ``max_iters``.
        max_iters: Iterations, when a run is better measured that way.
        val_interval: Validate every this many iterations; ``None`` never.
        val_begin: First iteration that may validate.
    """

    def __init__(self, runner, dataloader, max_epochs: Optional[int] = None,
                 max_iters: Optional[int] = None,
                 val_interval: Optional[int] = None, val_begin: int = 1):
        if (max_epochs is None) == (max_iters is None):
            raise ValueError('train_cfg needs exactly one of max_epochs and '
                             'max_iters.')
        # The parent builds the dataloader; until then its length is
        # unknown, so start with a placeholder and fix it afterwards.
        super().__init__(runner, dataloader, max_iters=max_iters or 1,
                         val_interval=val_interval or 2**62,
                         val_begin=val_begin)
        if max_epochs is not None:
            self._max_iters = max_epochs * len(self.dataloader)
        self._max_epochs = -(-self._max_iters // len(self.dataloader))
