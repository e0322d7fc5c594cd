"""One optimizer wrapper per network group a model declares."""
from typing import Optional

from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from torch import nn

from cyclegan_plugin.models.base_translation_model import (group_networks,
                                                           unwrap)
from cyclegan_plugin.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PerGroupOptimWrapperConstructor:
    """Builds an ``OptimWrapperDict`` with one wrapper per group of the
    model's ``OPTIMIZER_GROUPS`` (a mapping of group name to the attribute
    names of its networks, see :class:`BaseTranslationModel`).

    CycleGAN declares ``generators`` (G_A and G_B share one Adam, as in the
    reference) and ``discriminators``. Each group's config is an ordinary
    mmengine ``optim_wrapper`` config, so ``type='AmpOptimWrapper'`` or
    ``clip_grad`` work per group.

    Args:
        optim_wrapper_cfg: One config per group,
            ``dict(generators=..., discriminators=...)``.
        paramwise_cfg: Not supported; must be ``None``.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('PerGroupOptimWrapperConstructor takes no '
                             'paramwise_cfg; set it inside a group.')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap(model)
        groups = getattr(model, 'OPTIMIZER_GROUPS', None)
        if not groups:
            raise TypeError(
                f'{type(model).__name__} declares no OPTIMIZER_GROUPS '
                f'(group name -> network attribute names), which '
                f'PerGroupOptimWrapperConstructor builds one optimizer for '
                f'each; derive it from BaseTranslationModel or add it.')
        missing = [
            group for group in groups if group not in self.optim_wrapper_cfg
        ]
        extra = sorted(set(self.optim_wrapper_cfg) - set(groups))
        if missing or extra:
            raise KeyError(
                f'optim_wrapper needs one config per optimizer group of '
                f'{type(model).__name__}, {tuple(groups)}; missing '
                f'{missing}, unexpected {extra}.')
        return OptimWrapperDict(
            **{
                group: build_optim_wrapper(
                    group_networks(model, group),
                    self.optim_wrapper_cfg[group])
                for group in groups
            })
