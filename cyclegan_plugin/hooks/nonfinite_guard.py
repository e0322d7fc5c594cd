"""Skip updates whose loss or gradients are NaN/Inf; stop if they persist.

:class:`NonFiniteGuardMixin` goes in front of any optimizer wrapper class
(plain, AMP, ...) and vets each optimizer step; :class:`NonFiniteGuardHook`
mixes it into every wrapper of the run, logs the skipped updates and stops
training after too many bad iterations in a row.
"""
import functools
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper, OptimWrapperDict

from cyclegan_plugin.registry import HOOKS

SKIPS_SCALAR = 'train/nonfinite_skips'


class NonFiniteTrainingError(RuntimeError):
    """Training stopped because updates kept being non-finite."""


class NonFiniteGuardMixin:
    """Skips the optimizer step when the loss or a gradient is not finite.

    The parameters and the optimizer's state are then left exactly as they
    were (the gradients are zeroed as after any step) and
    :attr:`last_skip` names the reason, ``'loss'`` or ``'gradient'``. With
    gradient accumulation a non-finite loss in any micro-batch skips the
    whole accumulated step.

    The backward pass runs even for a non-finite loss, so that under DDP
    every rank joins the gradient all-reduce; the reduced gradients are
    then non-finite on every rank and every rank skips alike. A wrapper
    class that overrides ``update_params`` itself loses that override.

    Composes with mixed precision: put the mixin first,
    ``class Guarded(NonFiniteGuardMixin, AmpOptimWrapper)``, or let
    :func:`enable_nonfinite_guard` do it for a built wrapper. A wrapper with
    an enabled ``loss_scaler`` (a ``GradScaler``, fp16) keeps handling
    overflowing gradients itself, as designed: it skips the step and lowers
    the scale, which is not counted here; the loss is still checked.
    Wrappers without a scaler (fp32, bf16) get their gradients checked.
    """

    last_skip: Optional[str] = None
    _nonfinite_loss = False

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """``OptimWrapper.update_params`` with the step vetted first.

        Written out rather than overriding ``step``: mmengine's parameter
        schedulers replace each wrapper's ``step`` by a wrapped bound method
        when they are built, which an override added later never sees.
        """
        if not bool(torch.isfinite(loss.detach()).all()):
            self._nonfinite_loss = True
        loss = self.scale_loss(loss)
        self.backward(loss)
        if not self.should_update():
            return
        if self._nonfinite_loss:
            self.last_skip = 'loss'
        elif not (self._scaler_checks_gradients() or self._gradients_finite()):
            self.last_skip = 'gradient'
        else:
            self.step(**(step_kwargs or {}))
        self._nonfinite_loss = False
        self.zero_grad(**(zero_kwargs or {}))

    def _scaler_checks_gradients(self) -> bool:
        scaler = getattr(self, 'loss_scaler', None)
        return scaler is not None and scaler.is_enabled()

    def _gradients_finite(self) -> bool:
        grads = [
            param.grad for group in self.optimizer.param_groups
            for param in group['params'] if param.grad is not None
        ]
        if not grads:
            return True
        # One device-to-host sync for all tensors.
        return bool(
            torch.stack([grad.isfinite().all() for grad in grads]).all())


@functools.lru_cache(maxsize=None)
def _guarded_class(cls: type) -> type:
    return type(f'NonFiniteGuarded{cls.__name__}', (NonFiniteGuardMixin, cls),
                dict(__module__=__name__, __doc__=cls.__doc__))


def enable_nonfinite_guard(optim_wrapper: OptimWrapper) -> OptimWrapper:
    """Makes a built wrapper skip non-finite updates, whatever its class.

    The wrapper's class is swapped in place for a subclass with
    :class:`NonFiniteGuardMixin` in front (as ``torch.nn.utils.parametrize``
    does for modules), so references to it, e.g. in an
    ``OptimWrapperDict``, stay valid.
    """
    if not isinstance(optim_wrapper, NonFiniteGuardMixin):
        optim_wrapper.__class__ = _guarded_class(type(optim_wrapper))
    return optim_wrapper


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Guards every optimizer wrapper of the run against NaN/Inf updates.

    Each skipped update is logged as a warning and counted in the training
    log (``nonfinite_skips``, the total over the run, kept across resumes).
    After ``max_consecutive`` iterations in a row with a skipped update,
    training stops: the checkpoint hook saves the state, which no skipped
    update touched, and :class:`NonFiniteTrainingError` is raised when the
    run ends, naming that checkpoint.

    Args:
        max_consecutive: Bad iterations in a row that stop training.
    """

    # Before LoggerHook (BELOW_NORMAL), so the count of this iteration is
    # in this iteration's log line.
    priority = 'NORMAL'

    def __init__(self, max_consecutive: int = 10):
        if max_consecutive < 1:
            raise ValueError(f'max_consecutive must be >= 1, got '
                             f'{max_consecutive}.')
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.total = 0
        self._failure: Optional[str] = None

    def before_train(self, runner) -> None:
        for wrapper in _wrappers(runner.optim_wrapper).values():
            enable_nonfinite_guard(wrapper)
        skips = runner.message_hub.log_scalars.get(SKIPS_SCALAR)
        if skips is not None and len(skips.data[0]):
            self.total = int(skips.current())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        skipped = {}
        for name, wrapper in _wrappers(runner.optim_wrapper).items():
            if wrapper.last_skip is not None:
                skipped[name] = wrapper.last_skip
                wrapper.last_skip = None
        self.total += len(skipped)
        runner.message_hub.update_scalar(SKIPS_SCALAR, self.total)
        if not skipped:
            self.consecutive = 0
            return
        self.consecutive += 1
        what = ', '.join(f'{name} (non-finite {reason})'
                         for name, reason in skipped.items())
        runner.logger.warning(
            f'Iteration {runner.iter + 1}: skipped the update of {what}; '
            f'{self.consecutive} bad iteration(s) in a row, {self.total} '
            f'skipped update(s) in total.')
        if self.consecutive >= self.max_consecutive:
            self._failure = (
                f'{self.consecutive} iterations in a row had non-finite '
                f'updates (last, iteration {runner.iter + 1}: {what})')
            runner.train_loop.stop_training = True

    def after_run(self, runner) -> None:
        if self._failure is None:
            return
        checkpoint = runner.message_hub.get_info('last_ckpt')
        saved = (f'the last good state is in {checkpoint}'
                 if checkpoint else 'no checkpoint was saved')
        raise NonFiniteTrainingError(
            f'{self._failure}; {saved}. Skipped updates leave the weights '
            f'untouched, so lower the learning rate (or check the data) and '
            f'resume with --resume; raise max_consecutive of '
            f'NonFiniteGuardHook to tolerate longer streaks.')


def _wrappers(optim_wrapper: OptimWrapper) -> Dict[str, OptimWrapper]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return dict(optim_wrapper.items())
    return {'optim_wrapper': optim_wrapper}
