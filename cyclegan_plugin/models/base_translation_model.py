"""What every unpaired translator here has in common, on mmengine's
BaseModel.

A translation model *declares* its parts; the engine (optimizer
constructor, mixed precision, compile, DDP, translator, export, hooks)
reads the declaration and never names a model's networks:

* :attr:`GENERATORS` maps each direction (``'a2b'``, ``'b2a'``) to the
  attribute holding its generator;
* :attr:`OPTIMIZER_GROUPS` maps each optimizer wrapper's name to the
  attributes of the networks it updates (every trainable network is in
  exactly one group);
* :attr:`TEST_OUTPUTS` names the images :meth:`test_step` adds to each data
  sample (``real_img`` and ``fake_img`` always; ``rec_img`` only where a
  model reconstructs);
* :meth:`train_steps` lists the updates of one training iteration in
  order: which group each updates and the function giving its loss terms.

:meth:`train_step` runs those updates with the other groups frozen, and
logs every loss term; :meth:`translate`, :meth:`test_step` and
:meth:`forward` come from the declaration too.
"""
import copy
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement
from torch import nn

from cyclegan_plugin.registry import MODELS, SCOPE
from .data_preprocessor import CycleGANDataPreprocessor

#: One update of a training iteration: the optimizer group it steps, and
#: a function of the batch's tensors returning named loss terms.
TrainStep = Tuple[str, Callable[[Dict[str, torch.Tensor]], Dict[str,
                                                                torch.Tensor]]]


def unwrap(module: nn.Module) -> nn.Module:
    """The model or network inside a DDP (or other mmengine) wrapper."""
    return module.module if is_model_wrapper(module) else module


def group_networks(model: nn.Module, group: str) -> nn.ModuleDict:
    """The networks of one of ``model``'s ``OPTIMIZER_GROUPS``, by attribute
    name. The engine needs no more of a model than that declaration, so
    this also serves models not derived from :class:`BaseTranslationModel`.
    """
    return nn.ModuleDict(
        {name: getattr(model, name)
         for name in model.OPTIMIZER_GROUPS[group]})


class BaseTranslationModel(BaseModel):
    """Base of the translation models; see the module doc.

    Subclasses set :attr:`GENERATORS`, :attr:`OPTIMIZER_GROUPS` and
    :attr:`TEST_OUTPUTS`, and implement :meth:`train_steps` and
    :meth:`predict`.
    """

    GENERATORS: Dict[str, str] = {}
    OPTIMIZER_GROUPS: Dict[str, Tuple[str, ...]] = {}
    TEST_OUTPUTS: Tuple[str, ...] = ('real_img', 'fake_img')

    def __init__(self,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        """Args: the preprocessor's config (by default ours: uint8 RGB to
        [-1, 1]) and the whole model's init config."""
        super().__init__(
            data_preprocessor=data_preprocessor
            or dict(type='cyclegan_plugin.CycleGANDataPreprocessor'),
            init_cfg=init_cfg)

    @staticmethod
    def build_part(cfg: dict) -> nn.Module:
        """Builds a part from ``MODELS``. A bare type name is ours when we
        have it (``ResnetGenerator``, also from another project's default
        scope), else it is looked up in the current default scope (that
        project's own parts); ``scope.Type`` names any package's part
        (``mmagic.UnetGenerator``)."""
        cfg = copy.deepcopy(cfg)
        with DefaultScope.overwrite_default_scope(SCOPE):
            if not isinstance(cfg['type'], str) or MODELS.get(
                    cfg['type']) is not None:
                return MODELS.build(cfg)
        return MODELS.build(cfg)

    def init_weights(self) -> None:
        """Lets each part initialise itself, as it would on its own.

        mmengine's ``BaseModule.init_weights`` first hands its bookkeeping
        (``_params_init_info``) to every submodule; parts of other packages
        that override ``init_weights`` may not expect it there (MMagic 1.2's
        ``ResnetGenerator`` then fails with an ``UnboundLocalError``). A
        whole-model ``init_cfg``, where one is set, keeps mmengine's way.
        """
        if self.init_cfg is not None:
            super().init_weights()
            return
        for part in self.children():
            if hasattr(part, 'init_weights') and not getattr(
                    part, 'is_init', False):
                part.init_weights()

    @property
    def directions(self) -> Tuple[str, ...]:
        """The directions this model translates in."""
        return tuple(self.GENERATORS)

    def generator_for(self, direction: str) -> nn.Module:
        """The network translating in ``direction``."""
        if direction not in self.GENERATORS:
            raise ValueError(f'{type(self).__name__} translates in the '
                             f'directions {self.directions}, got '
                             f'{direction!r}.')
        return getattr(self, self.GENERATORS[direction])

    @property
    def networks(self) -> Dict[str, nn.Module]:
        """Every trainable network by attribute name, group by group."""
        return {
            name: network
            for group in self.OPTIMIZER_GROUPS
            for name, network in group_networks(self, group).items()
        }

    def optimizer_group(self, group: str) -> nn.ModuleDict:
        """The networks one optimizer wrapper updates."""
        return group_networks(self, group)

    def translate(self,
                  images: torch.Tensor,
                  direction: str = 'a2b') -> torch.Tensor:
        """Translates (N, 3, H, W) images in [-1, 1] in ``direction``."""
        return self.generator_for(direction)(images)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Sequence[BaseDataElement] = None,
                mode: str = 'tensor',
                direction: str = 'a2b'):
        """``mode='tensor'`` translates preprocessed images (see
        :meth:`translate`); ``mode='predict'`` takes preprocessed test
        inputs and returns what :meth:`test_step` returns. A GAN has no
        single loss, so ``mode='loss'`` is refused: use
        :meth:`train_step`."""
        if mode == 'tensor':
            return self.translate(inputs, direction)
        if mode == 'predict':
            return self._pack(inputs, data_samples)
        raise ValueError(f'{type(self).__name__}.forward supports mode '
                         f'"tensor" and "predict", got {mode!r}; training '
                         f'goes through train_step.')

    def train_steps(self) -> List[TrainStep]:
        """The updates of one iteration, in order (see :data:`TrainStep`).
        A step function may keep tensors in the batch dict for later
        steps (e.g. the fakes for the discriminator step)."""
        raise NotImplementedError

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, float]:
        """Runs :meth:`train_steps` on a collated batch; returns every loss
        term as a float, for the logger."""
        batch = dict(self.data_preprocessor(data, True)['inputs'])
        losses: Dict[str, torch.Tensor] = {}
        for group, step in self.train_steps():
            wrapper = optim_wrapper[group]
            with self.only_trainable(group), wrapper.optim_context(self):
                terms = step(batch)
            wrapper.update_params(sum(terms.values()))
            losses.update(terms)
        # One device-to-host copy for all terms instead of one per term.
        values = torch.stack([loss.detach() for loss in losses.values()])
        return dict(zip(losses, values.tolist()))

    def frozen_groups(self, group: str) -> Sequence[str]:
        """The groups frozen while ``group``'s step runs: all others by
        default, so that a discriminator judging the fakes in the
        generator step passes gradients back to them, not into its own
        weights."""
        return [other for other in self.OPTIMIZER_GROUPS if other != group]

    @contextmanager
    def only_trainable(self, group: str) -> Iterator[None]:
        """Runs the block with :meth:`frozen_groups` of ``group`` frozen."""
        frozen = [
            param for other in self.frozen_groups(group)
            for param in self.optimizer_group(other).parameters()
        ]
        for param in frozen:
            param.requires_grad_(False)
        try:
            yield
        finally:
            for param in frozen:
                param.requires_grad_(True)

    @torch.no_grad()
    def val_step(self, data: dict) -> List[BaseDataElement]:
        """Same as :meth:`test_step`."""
        return self.test_step(data)

    @torch.no_grad()
    def test_step(self, data: dict) -> List[BaseDataElement]:
        """Translates a batch of test images into the other domain.

        Args:
            data: A collated test batch: ``inputs['img']`` and one data
                sample per image whose ``domain`` is ``'a'`` or ``'b'``.

        Returns:
            One data sample per image, carrying over its fields and adding
            the :attr:`TEST_OUTPUTS` as uint8 RGB (3, H, W) CPU tensors.
        """
        data = self.data_preprocessor(data, False)
        return self._pack(data['inputs']['img'], data['data_samples'])

    def predict(self, images: torch.Tensor,
                is_a: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The :attr:`TEST_OUTPUTS` but ``real_img`` of a batch in [-1, 1];
        ``is_a`` (N,) marks the domain-A images."""
        raise NotImplementedError

    def _pack(
            self, images: torch.Tensor,
            data_samples: Sequence[BaseDataElement]) -> List[BaseDataElement]:
        is_a = torch.tensor([s.domain == 'a' for s in data_samples],
                            device=images.device)
        outputs = dict(real_img=images, **self.predict(images, is_a))
        as_uint8 = {
            key: CycleGANDataPreprocessor.to_uint8(outputs[key]).cpu()
            for key in self.TEST_OUTPUTS
        }
        packed = []
        for i, sample in enumerate(data_samples):
            output = sample.clone()
            output.set_data({key: value[i] for key, value in as_uint8.items()})
            packed.append(output)
        return packed
