"""The CycleGAN algorithm (Zhu et al., ICCV 2017) on mmengine's BaseModel.

Paper-to-code names:

=============  ======================  =====================================
paper          here                    role
=============  ======================  =====================================
G: X -> Y      ``generator_a`` (G_A)   translates domain A into domain B
F: Y -> X      ``generator_b`` (G_B)   translates domain B into domain A
D_Y            ``discriminator_a``     judges images of domain B
D_X            ``discriminator_b``     judges images of domain A
=============  ======================  =====================================

One training step, with a = real A, b = real B, L_gan the GAN loss and
lambda = 10:

* forward: fake_b = G_A(a), rec_a = G_B(fake_b), fake_a = G_B(b),
  rec_b = G_A(fake_a);
* generator step, discriminators frozen:
  g_adv_a = L_gan(D_A(fake_b), real), g_adv_b = L_gan(D_B(fake_a), real),
  cycle_a = lambda |rec_a - a|, cycle_b = lambda |rec_b - b|,
  idt_a = 0.5 lambda |G_A(b) - b|, idt_b = 0.5 lambda |G_B(a) - a|;
* discriminator step on the history buffers' images:
  d_a = 0.5 [L_gan(D_A(b), real) + L_gan(D_A(pool_b(fake_b)), fake)],
  d_b = 0.5 [L_gan(D_B(a), real) + L_gan(D_B(pool_a(fake_a)), fake)].

That is the order and the formulas of the reference implementation.
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement
from torch import nn

from cyclegan_plugin.registry import MODELS, SCOPE
from .data_preprocessor import CycleGANDataPreprocessor

DIRECTIONS = ('a2b', 'b2a')


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


@MODELS.register_module()
class CycleGAN(BaseModel):
    """Two generators and two discriminators trained with cycle consistency.

    Args:
        generator: Config of both generators (built twice).
        discriminator: Config of both discriminators (built twice).
        gan_loss: Config of the adversarial loss.
        cycle_loss: Config of the cycle-consistency loss, weight lambda.
        identity_loss: Config of the identity loss, weight 0.5 * lambda in
            the paper; ``None`` or weight 0 skips the two identity passes.
        buffer_size: Fake images kept per history buffer (50 in the paper).
        data_preprocessor: Config of the preprocessor.
        init_cfg: Config of initialisation for the whole model.
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 gan_loss: dict = dict(type='GANLoss', gan_type='lsgan'),
                 cycle_loss: dict = dict(type='L1Loss', loss_weight=10.0),
                 identity_loss: Optional[dict] = dict(
                     type='L1Loss', loss_weight=5.0),
                 buffer_size: int = 50,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='CycleGANDataPreprocessor')
        # Bare type names below are ours, also when the model itself is
        # built from another scope as 'cyclegan_plugin.CycleGAN'.
        with DefaultScope.overwrite_default_scope(SCOPE):
            super().__init__(
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            self._build_components(generator, discriminator, gan_loss,
                                   cycle_loss, identity_loss, buffer_size)

    def _build_components(self, generator, discriminator, gan_loss,
                          cycle_loss, identity_loss, buffer_size) -> None:
        self.generator_a = MODELS.build(copy.deepcopy(generator))
        self.generator_b = MODELS.build(copy.deepcopy(generator))
        self.discriminator_a = MODELS.build(copy.deepcopy(discriminator))
        self.discriminator_b = MODELS.build(copy.deepcopy(discriminator))
        self.gan_loss = MODELS.build(gan_loss)
        self.cycle_loss = MODELS.build(cycle_loss)
        self.identity_loss = (
            MODELS.build(identity_loss)
            if identity_loss and identity_loss.get('loss_weight', 1.0) else
            None)
        self.history_a = MODELS.build(
            dict(type='ImageHistoryBuffer', buffer_size=buffer_size))
        self.history_b = MODELS.build(
            dict(type='ImageHistoryBuffer', buffer_size=buffer_size))

    @property
    def generators(self) -> nn.ModuleDict:
        """G_A and G_B, the parameters of the ``generators`` optimizer."""
        return nn.ModuleDict(dict(a=self.generator_a, b=self.generator_b))

    @property
    def discriminators(self) -> nn.ModuleDict:
        """D_A and D_B, the parameters of the ``discriminators``
        optimizer."""
        return nn.ModuleDict(
            dict(a=self.discriminator_a, b=self.discriminator_b))

    def translate(self, images: torch.Tensor,
                  direction: str = 'a2b') -> torch.Tensor:
        """Translates (N, 3, H, W) images in [-1, 1] A->B or B->A."""
        if direction not in DIRECTIONS:
            raise ValueError(f'direction must be one of {DIRECTIONS}, got '
                             f'{direction!r}.')
        generator = (
            self.generator_a if direction == 'a2b' else self.generator_b)
        return generator(images)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
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
            return self._predict(inputs, data_samples)
        raise ValueError(f'CycleGAN.forward supports mode "tensor" and '
                         f'"predict", got {mode!r}; training goes through '
                         f'train_step.')

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, float]:
        """One generator step, then one discriminator step.

        Args:
            data: A collated batch with ``inputs['img_a']`` and
                ``inputs['img_b']``.
            optim_wrapper: Wrappers named ``generators`` and
                ``discriminators``.

        Returns:
            Every loss term as a float, for the logger.
        """
        data = self.data_preprocessor(data, True)
        real_a = data['inputs']['img_a']
        real_b = data['inputs']['img_b']
        g_optim = optim_wrapper['generators']
        d_optim = optim_wrapper['discriminators']

        self._set_discriminators_trainable(False)
        with g_optim.optim_context(self):
            fake_b = self.generator_a(real_a)
            rec_a = self.generator_b(fake_b)
            fake_a = self.generator_b(real_b)
            rec_b = self.generator_a(fake_a)
            g_losses = self._generator_losses(real_a, real_b, fake_a,
                                              fake_b, rec_a, rec_b)
        g_optim.update_params(sum(g_losses.values()))
        self._set_discriminators_trainable(True)

        with d_optim.optim_context(self):
            d_losses = dict(
                d_a=self._discriminator_loss(self.discriminator_a, real_b,
                                             self.history_b.query(fake_b)),
                d_b=self._discriminator_loss(self.discriminator_b, real_a,
                                             self.history_a.query(fake_a)))
        d_optim.update_params(sum(d_losses.values()))

        losses = {**g_losses, **d_losses}
        # One device-to-host copy for all terms instead of one per term.
        values = torch.stack([loss.detach() for loss in losses.values()])
        return dict(zip(losses, values.tolist()))

    def _generator_losses(self, real_a, real_b, fake_a, fake_b, rec_a,
                          rec_b) -> Dict[str, torch.Tensor]:
        # The discriminators only pass gradients back to the fakes here, so
        # the unwrapped modules are used: a DDP wrapper would wait for
        # gradients of parameters that are frozen in this step.
        disc_a = _unwrap(self.discriminator_a)
        disc_b = _unwrap(self.discriminator_b)
        losses = dict(
            g_adv_a=self.gan_loss(disc_a(fake_b), True),
            g_adv_b=self.gan_loss(disc_b(fake_a), True),
            cycle_a=self.cycle_loss(rec_a, real_a),
            cycle_b=self.cycle_loss(rec_b, real_b))
        if self.identity_loss is not None:
            losses['idt_a'] = self.identity_loss(
                self.generator_a(real_b), real_b)
            losses['idt_b'] = self.identity_loss(
                self.generator_b(real_a), real_a)
        return losses

    def _discriminator_loss(self, discriminator: nn.Module,
                            real: torch.Tensor,
                            fake: torch.Tensor) -> torch.Tensor:
        loss_real = self.gan_loss(discriminator(real), True, is_disc=True)
        loss_fake = self.gan_loss(discriminator(fake), False, is_disc=True)
        return 0.5 * (loss_real + loss_fake)

    def _set_discriminators_trainable(self, trainable: bool) -> None:
        for param in self.discriminators.parameters():
            param.requires_grad_(trainable)

    @torch.no_grad()
    def val_step(self, data: dict) -> List[BaseDataElement]:
        """Translates and reconstructs every test image; see
        :meth:`test_step`."""
        return self.test_step(data)

    @torch.no_grad()
    def test_step(self, data: dict) -> List[BaseDataElement]:
        """Translates and reconstructs a batch of test images.

        Args:
            data: A collated test batch: ``inputs['img']`` and one data
                sample per image whose ``domain`` is ``'a'`` or ``'b'``.

        Returns:
            One data sample per image, carrying over its fields and adding
            uint8 RGB (3, H, W) CPU tensors ``real_img``, ``fake_img`` (the
            translation into the other domain) and ``rec_img`` (translated
            back).
        """
        data = self.data_preprocessor(data, False)
        return self._predict(data['inputs']['img'], data['data_samples'])

    def _predict(self, images: torch.Tensor,
                 data_samples: Sequence[BaseDataElement]
                 ) -> List[BaseDataElement]:
        fake = torch.empty_like(images)
        rec = torch.empty_like(images)
        is_a = torch.tensor([s.domain == 'a' for s in data_samples],
                            device=images.device)
        for mask, forward, backward in (
            (is_a, self.generator_a, self.generator_b),
            (~is_a, self.generator_b, self.generator_a),
        ):
            if mask.any():
                fake[mask] = forward(images[mask]).to(images.dtype)
                rec[mask] = backward(fake[mask]).to(images.dtype)
        to_uint8 = CycleGANDataPreprocessor.to_uint8
        outputs = []
        for sample, real_i, fake_i, rec_i in zip(
                data_samples, to_uint8(images).cpu(),
                to_uint8(fake).cpu(), to_uint8(rec).cpu()):
            output = sample.clone()
            output.set_data(
                dict(real_img=real_i, fake_img=fake_i, rec_img=rec_i))
            outputs.append(output)
        return outputs
