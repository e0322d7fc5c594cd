"""Optional channels-last memory format of a model's networks (off unless
configured).

Channels-last stores a (N, C, H, W) tensor as N, H, W, C, the layout
oneDNN's and cuDNN's fastest convolution kernels use. Converting the
weights is enough: a convolution with channels-last weights also returns
channels-last activations whatever its input's layout, so the images need
no conversion of their own. Operators without a channels-last kernel
return the usual layout and the next convolution converts back: our
instance norm keeps one image (batch 1) channels-last, but converts a
batch of several. So whether it pays depends on the networks, the batch
and the machine: measure with ``benchmarks/bench_train.py`` and
``benchmarks/bench_infer.py``.

Switches: ``channels_last`` in a training config (read by
:class:`ExactResumeRunner`): ``True``, ``False``, or a dict by device type
(``dict(cpu=True)``: on when training on the CPU, off elsewhere, as the
demo sets it). A CPU's value may also name the least vector capability
that turns it on, as :func:`torch.backends.cpu.get_cpu_capability` names
it: ``dict(cpu='AVX512')``, as the Selfie2Anime configs set it, because
the paper's networks train faster channels-last on AVX-512 CPUs and 1.4x
slower on an AVX2-only one (README, "Performance").
``Translator(..., channels_last=True)`` and ``tools/translate.py
--channels-last`` for inference.

The conversion keeps every ``Parameter`` object (only its storage changes),
so optimizers and checkpoints are unaffected, and a checkpoint saved in
either layout loads into a model in the other. It must come before DDP
wraps a network: DDP lays out its gradient buckets after the parameters
once, at wrapping, and a later conversion gives wrong averaged gradients.
"""
from typing import Dict, Union

import torch
from torch import nn

from cyclegan_plugin.models.base_translation_model import (group_networks,
                                                           unwrap)


def to_channels_last(model: nn.Module) -> None:
    """Converts every network of ``model``'s ``OPTIMIZER_GROUPS`` to the
    channels-last memory format, in place.

    Args:
        model: A translation model whose networks are not yet wrapped by
            DDP (see the module doc).

    Raises:
        ValueError: A network is already wrapped by DDP.
    """
    model = unwrap(model)
    for group in model.OPTIMIZER_GROUPS:
        for name, network in group_networks(model, group).items():
            if unwrap(network) is not network:
                raise ValueError(
                    f'to_channels_last: {name} is already wrapped by '
                    f'{type(network).__name__}; convert before wrapping '
                    f'(set channels_last=True in the config, which '
                    f'ExactResumeRunner applies before it wraps the model).')
            network.to(memory_format=torch.channels_last)


#: What :func:`wants_channels_last` accepts as a dict's keys: mmengine's
#: device types.
DEVICE_TYPES = ('cpu', 'cuda', 'npu', 'mlu', 'mps', 'musa')

#: x86 vector capabilities as torch names them, weakest first: what a
#: CPU's value may name instead of a bool.
CPU_CAPABILITIES = ('AVX2', 'AVX512')


def cpu_capability_at_least(capability: str) -> bool:
    """Whether this CPU's torch kernels use ``capability`` or a stronger
    one of :data:`CPU_CAPABILITIES` (other CPUs: no)."""
    current = torch.backends.cpu.get_cpu_capability()
    return (current in CPU_CAPABILITIES and CPU_CAPABILITIES.index(current)
            >= CPU_CAPABILITIES.index(capability))


def wants_channels_last(setting: Union[bool, Dict[str, Union[bool, str]]],
                        device_type: str) -> bool:
    """Whether a config's ``channels_last`` turns the format on for
    ``device_type``: a bool for every device, or a dict by device type
    (missing types: off) whose ``cpu`` value may be the least capability
    of :data:`CPU_CAPABILITIES` that turns it on.

    Raises:
        ValueError: ``setting`` is neither, or names an unknown device or
            capability.
    """
    if isinstance(setting, bool):
        return setting
    if not isinstance(setting, dict) or not all(
            isinstance(v, bool) or (key == 'cpu' and v in CPU_CAPABILITIES)
            for key, v in setting.items()):
        raise ValueError(
            f'channels_last must be True, False or a dict of them by device '
            f'type, e.g. dict(cpu=True), where the cpu value may also be '
            f'the least capability that turns it on, one of '
            f'{list(CPU_CAPABILITIES)}; got {setting!r}.')
    unknown = sorted(set(setting) - set(DEVICE_TYPES))
    if unknown:
        raise ValueError(
            f'channels_last: unknown device type(s) {unknown}; the keys '
            f'are among {list(DEVICE_TYPES)}.')
    value = setting.get(device_type, False)
    if isinstance(value, str):
        return cpu_capability_at_least(value)
    return value
