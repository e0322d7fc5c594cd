"""A linear schedule for one loss term's weight, by training iteration.

The weight is computed from ``runner.iter`` before every iteration, never
accumulated, so a resumed run sets exactly the weight the uninterrupted
run would have had and nothing needs to be checkpointed.
"""
from typing import Optional

from mmengine.hooks import Hook

from cyclegan_plugin.models.base_translation_model import unwrap
from cyclegan_plugin.registry import HOOKS


@HOOKS.register_module()
class LossWeightScheduleHook(Hook):
    """Moves ``model.<loss>.loss_weight`` linearly to ``end_weight``.

    The configured weight holds until iteration ``begin``, then changes
    linearly to ``end_weight`` at iteration ``end`` and stays there, like
    mmengine's ``LinearLR`` for a learning rate. The toy demo decays
    CycleGAN's identity weight while its learning rate decays:
    ``dict(type='LossWeightScheduleHook', loss='identity_loss',
    end_weight=1.0, begin=2500, end=3500)``.

    Args:
        loss: Attribute of the model holding the loss module, e.g.
            ``'identity_loss'``, ``'cycle_loss'`` or ``'gan_loss'``.
        end_weight: The weight from iteration ``end`` on.
        begin: First iteration of the change.
        end: Iteration at which ``end_weight`` is reached.
    """

    priority = 'NORMAL'

    def __init__(self, loss: str, end_weight: float, begin: int, end: int):
        if not 0 <= begin < end:
            raise ValueError(
                f'LossWeightScheduleHook: need 0 <= begin < end, got '
                f'begin={begin}, end={end}')
        self.loss = loss
        self.end_weight = float(end_weight)
        self.begin, self.end = begin, end
        self.start_weight: Optional[float] = None

    def _module(self, runner):
        module = getattr(unwrap(runner.model), self.loss, None)
        if not hasattr(module, 'loss_weight'):
            raise ValueError(
                f'LossWeightScheduleHook: the model has no loss '
                f'{self.loss!r} with a loss_weight (a term configured off '
                f'is None); set loss= to one of its loss modules, e.g. '
                f"'identity_loss'")
        return module

    def before_train(self, runner) -> None:
        """Remembers the configured weight, the schedule's start."""
        self.start_weight = float(self._module(runner).loss_weight)

    def weight(self, iteration: int) -> float:
        """The weight of the iteration that starts when ``iteration``
        iterations are done."""
        progress = min(max((iteration - self.begin) /
                           (self.end - self.begin), 0.0), 1.0)
        return self.start_weight + progress * (self.end_weight -
                                               self.start_weight)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._module(runner).loss_weight = self.weight(runner.iter)
