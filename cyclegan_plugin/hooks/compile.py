"""Optional ``torch.compile`` of a model's networks (not of the step).

Only the networks' forward passes are compiled; ``train_step`` with its
two optimizers, the history buffers and the logging stays eager, so a
graph break can never split an optimizer step. ``nn.Module.compile``
compiles in place, so parameter names, checkpoints and the optimizers'
references are unchanged. The discriminators run frozen in the generator
step and trainable in their own, which dynamo guards on; both variants
compile in the first training step and nothing recompiles after it.
"""
from typing import Optional

from mmengine.hooks import Hook
from torch import nn

from cyclegan_plugin.models.base_translation_model import (group_networks,
                                                           unwrap)
from cyclegan_plugin.registry import HOOKS


def compile_networks(model: nn.Module, **compile_kwargs) -> None:
    """Compiles every network of ``model``'s ``OPTIMIZER_GROUPS`` (for
    CycleGAN G_A, G_B, D_A and D_B) in place.

    Under DDP the network inside each wrapper is compiled, so the wrappers
    still see every gradient.

    Args:
        model: A translation model, bare or in a model wrapper.
        **compile_kwargs: ``torch.compile`` arguments (``backend``,
            ``mode``, ``dynamic``, ``fullgraph``, ``options``).
    """
    model = unwrap(model)
    for group in model.OPTIMIZER_GROUPS:
        for network in group_networks(model, group).values():
            unwrap(network).compile(**compile_kwargs)


@HOOKS.register_module()
class CompileNetworksHook(Hook):
    """Compiles the model's networks before training (off unless
    configured).

    ``custom_hooks = [dict(type='CompileNetworksHook')]`` compiles with
    inductor; the first step then takes minutes on a CPU while the kernels
    are generated. Do not also set the runner's ``compile`` option: it
    compiles the whole ``train_step``.

    Args:
        backend: ``torch.compile`` backend.
        mode: ``torch.compile`` mode, e.g. ``'max-autotune'``.
        dynamic: Whether shapes are dynamic; ``None`` lets torch decide.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 backend: str = 'inductor',
                 mode: Optional[str] = None,
                 dynamic: Optional[bool] = None):
        self.compile_kwargs = dict(backend=backend, mode=mode, dynamic=dynamic)

    def before_train(self, runner) -> None:
        compile_networks(runner.model, **self.compile_kwargs)
