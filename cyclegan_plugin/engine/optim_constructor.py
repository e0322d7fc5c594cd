"""Builds CycleGAN's two optimizer wrappers, ``generators`` and
``discriminators``."""
from typing import Optional

from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from torch import nn

from cyclegan_plugin.registry import OPTIM_WRAPPER_CONSTRUCTORS

GROUPS = ('generators', 'discriminators')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CycleGANOptimWrapperConstructor:
    """One optimizer for both generators and one for both discriminators.

    As in the reference implementation, G_A and G_B share one Adam and so
    do D_A and D_B. Each group's config is an ordinary mmengine
    ``optim_wrapper`` config, so ``type='AmpOptimWrapper'`` or
    ``clip_grad`` work per group.

    Args:
        optim_wrapper_cfg: ``dict(generators=..., discriminators=...)``.
        paramwise_cfg: Not supported; must be ``None``.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        missing = [group for group in GROUPS if group not in optim_wrapper_cfg]
        extra = sorted(set(optim_wrapper_cfg) - set(GROUPS))
        if missing or extra:
            raise KeyError(
                f'optim_wrapper needs exactly the keys {GROUPS} with '
                f'CycleGANOptimWrapperConstructor; missing {missing}, '
                f'unexpected {extra}.')
        if paramwise_cfg is not None:
            raise ValueError('CycleGANOptimWrapperConstructor takes no '
                             'paramwise_cfg; set it inside a group.')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = getattr(model, 'module', model)
        return OptimWrapperDict(
            **{
                group: build_optim_wrapper(
                    getattr(model, group), self.optim_wrapper_cfg[group])
                for group in GROUPS
            })
