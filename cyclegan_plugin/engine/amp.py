"""Mixed precision for CycleGAN's two optimizer wrappers, on CPU or CUDA.

mmengine's ``AmpOptimWrapper`` refuses to start without a GPU, so CPU bf16
needs a wrapper of its own. :class:`AutocastOptimWrapper` runs everything
inside ``optim_context`` (the networks' forward passes and the losses)
under ``torch.autocast`` on the device that holds its parameters. With
fp16 it keeps a dynamic loss scaler; CycleGAN's G and D steps are two
separate backward passes into disjoint parameters, so each of the two
wrappers scales, unscales, checks for inf/NaN and skips its own step
independently. bf16 has fp32's exponent range and needs no scaler.

Parameters, optimizer state and gradients stay fp32; the losses cast their
inputs to fp32 (see :mod:`cyclegan_plugin.models.losses`).
"""
import copy
import warnings
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from cyclegan_plugin.registry import OPTIM_WRAPPERS

AMP_DTYPES = {
    'bf16': torch.bfloat16,
    'bfloat16': torch.bfloat16,
    'fp16': torch.float16,
    'float16': torch.float16,
}
# Group wrapper types that enable_amp may replace.
_PLAIN_WRAPPERS = (None, 'OptimWrapper', 'AutocastOptimWrapper',
                   'cyclegan_plugin.AutocastOptimWrapper')


def _grad_scaler(device_type: str, **kwargs):
    """A loss scaler for fp16 on ``device_type``: ``torch.amp.GradScaler``
    where it exists (torch >= 2.3), else the CUDA-only one of older torch."""
    if hasattr(torch.amp, 'GradScaler'):
        return torch.amp.GradScaler(device_type, **kwargs)
    if device_type != 'cuda':
        raise RuntimeError(f'fp16 training on {device_type!r} needs torch >= '
                           f'2.3 (this is {torch.__version__}); use bf16.')
    return torch.cuda.amp.GradScaler(**kwargs)


class SlowBF16Warning(UserWarning):
    """bf16 autocast was asked for on a CPU without native bf16 kernels."""


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN has native bf16 convolutions on this CPU.

    It needs AVX512-BF16/AMX or AVX2-VNNI-2. Without them PyTorch falls
    back to reference kernels that are much slower than fp32 (an AVX2-only
    AMD EPYC measured 75x slower per 3x3 conv; see the README).
    """
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose ``optim_context`` autocasts to bf16/fp16.

    Use it for both groups of ``PerGroupOptimWrapperConstructor`` (see
    :func:`enable_amp`).

    Args:
        dtype: ``'bfloat16'``/``'bf16'`` or ``'float16'``/``'fp16'``.
        loss_scale: fp16 only. ``'dynamic'`` for a dynamic
            ``torch.amp.GradScaler``, a float for a static scale, or a dict
            of ``GradScaler`` arguments. Ignored for bf16.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self,
                 dtype: str = 'bfloat16',
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 **kwargs):
        super().__init__(**kwargs)
        if dtype not in AMP_DTYPES:
            raise ValueError(f'AutocastOptimWrapper: dtype must be one of '
                             f'{sorted(AMP_DTYPES)}, got {dtype!r}.')
        self.cast_dtype = AMP_DTYPES[dtype]
        # The optimizer is built after the model moved to its device.
        first_param = self.optimizer.param_groups[0]['params'][0]
        self.device_type = first_param.device.type
        self._static_scale = None
        self.loss_scaler = None
        if self.cast_dtype == torch.float16:
            self.loss_scaler = self._build_scaler(loss_scale)
        elif self.device_type == 'cpu' and not cpu_has_fast_bf16():
            warnings.warn(
                'AutocastOptimWrapper: this CPU has no native bf16 kernels '
                '(needs AVX512-BF16/AMX or AVX2-VNNI-2), so bf16 autocast '
                'runs slower than fp32; train in fp32 (drop --amp) here.',
                SlowBF16Warning)

    def _build_scaler(self, loss_scale):
        if loss_scale == 'dynamic':
            return _grad_scaler(self.device_type)
        if isinstance(loss_scale, float):
            self._static_scale = loss_scale
            return _grad_scaler(self.device_type, init_scale=loss_scale)
        if isinstance(loss_scale, dict):
            return _grad_scaler(self.device_type, **loss_scale)
        raise TypeError(f'AutocastOptimWrapper: loss_scale must be '
                        f'"dynamic", a float or a dict, got {loss_scale!r}.')

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The parent's context (gradient accumulation) under autocast."""
        with super().optim_context(model), torch.autocast(
                self.device_type, dtype=self.cast_dtype):
            yield

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward of the (fp16: scaled) loss."""
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        """Optimizer step; fp16 unscales first and skips a step whose
        gradients hold inf or NaN, then updates the scale."""
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            # Clip the true gradients, not the scaled ones.
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._static_scale)

    def state_dict(self) -> dict:
        """The optimizer's state, plus ``loss_scaler`` with fp16."""
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Loads a state saved with or without a scaler, so a run can be
        resumed in another precision."""
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if self.loss_scaler is not None and scaler_state is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)


def enable_amp(optim_wrapper_cfg: dict, dtype: str = 'bfloat16') -> dict:
    """Returns an ``optim_wrapper`` config of
    :class:`PerGroupOptimWrapperConstructor` with every group in
    :class:`AutocastOptimWrapper`.

    Args:
        optim_wrapper_cfg: The config's ``optim_wrapper``: a
            ``constructor`` and one wrapper config per optimizer group.
        dtype: A key of :data:`AMP_DTYPES`.

    Returns:
        A new config; the input is not changed.
    """
    if dtype not in AMP_DTYPES:
        raise ValueError(f'AMP dtype must be one of {sorted(AMP_DTYPES)}, '
                         f'got {dtype!r}.')
    cfg = copy.deepcopy(optim_wrapper_cfg)
    groups = [key for key, value in cfg.items() if key != 'constructor']
    if not groups or not all(isinstance(cfg[g], dict) for g in groups):
        raise KeyError('mixed precision needs optim_wrapper of the form '
                       'dict(constructor=..., <group>=dict(type=..., '
                       'optimizer=...), ...), one entry per optimizer group.')
    for group in groups:
        group_cfg = cfg[group]
        if group_cfg.get('type') not in _PLAIN_WRAPPERS:
            raise ValueError(
                f'optim_wrapper.{group}.type is {group_cfg["type"]!r}; '
                f'enable_amp only replaces OptimWrapper. Set type='
                f'"AutocastOptimWrapper" and dtype in the config instead.')
        group_cfg.update(
            type='cyclegan_plugin.AutocastOptimWrapper', dtype=dtype)
    return cfg
