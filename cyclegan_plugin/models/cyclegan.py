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
  rec_b = G_A(fake_a) (with ``cycle_noise_std`` > 0, the demo's, the
  reconstructions read fake + noise);
* generator step (``train_steps``' first), discriminators frozen:
  g_adv_a = L_gan(D_A(fake_b), real), g_adv_b = L_gan(D_B(fake_a), real),
  cycle_a = lambda |rec_a - a|, cycle_b = lambda |rec_b - b|,
  idt_a = 0.5 lambda |G_A(b) - b|, idt_b = 0.5 lambda |G_B(a) - a|;
* discriminator step on the history buffers' images:
  d_a = 0.5 [L_gan(D_A(b), real) + L_gan(D_A(pool_b(fake_b)), fake)],
  d_b = 0.5 [L_gan(D_B(a), real) + L_gan(D_B(pool_a(fake_a)), fake)].

That is the order and the formulas of the reference implementation. With
per-sample normalisation (instance norm, or none) each generator's identity
pass is batched with its first pass, G_A([a, b]) and G_B([b, a]): four
generator calls per step instead of six, the same images and losses (see
``batch_generator_calls``).
"""
from typing import Dict, List, Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from cyclegan_plugin.registry import MODELS
from .base_translation_model import BaseTranslationModel, TrainStep, unwrap


def mixes_samples(network: nn.Module) -> bool:
    """Whether a sample's output or the network's state depends on the other
    samples of the batch: batch norm (``SyncBatchNorm`` included) or any
    norm keeping running statistics. Then a batched call of two inputs is
    not the same as two calls."""
    return any(
        isinstance(module, _BatchNorm)
        or getattr(module, 'track_running_stats', False)
        or 'running_mean' in dict(module.named_buffers(recurse=False))
        for module in network.modules())


@MODELS.register_module()
class CycleGAN(BaseTranslationModel):
    """Two generators and two discriminators trained with cycle consistency.

    Args:
        generator: Config of both generators (built twice).
        discriminator: Config of both discriminators (built twice).
        gan_loss: Config of the adversarial loss.
        cycle_loss: Config of the cycle-consistency loss, weight lambda.
        identity_loss: Config of the identity loss, weight 0.5 * lambda in
            the paper; ``None`` or weight 0 skips the two identity passes.
        buffer_size: Fake images kept per history buffer (50 in the paper).
        cycle_noise_std: Std of Gaussian noise, in [-1, 1] units, added to
            each fake before the other generator reconstructs it; the
            fakes the discriminators judge stay noise-free. 0 (the paper)
            adds none. CycleGAN learns to hide its input in faint signals
            of its fakes, which the reconstruction then reads (Chu et al.
            2017, "CycleGAN, a master of steganography"); the B -> A -> B
            cycle then teaches G_A to read traces that real photos lack,
            on inputs without the photos' grain. Noise about the size of
            that grain (0.05) gained the demo a2b PSNR on most seeds
            (README, "The demo").
        batch_generator_calls: Run each generator's identity pass in one
            call with its first pass, where the identity loss is on and
            neither generator :func:`mixes_samples`. ``None`` (default):
            on CUDA inputs only, because on the CPU the batched calls
            measured slower (README, "Performance"); ``False`` never;
            ``True`` on every device, and refuses generators that mix
            samples. With dropout the masks are
            drawn in another order than in six calls (same distribution,
            different random numbers per pass).
        data_preprocessor: Config of the preprocessor.
        init_cfg: Config of initialisation for the whole model.
    """

    GENERATORS = dict(a2b='generator_a', b2a='generator_b')
    OPTIMIZER_GROUPS = dict(
        generators=('generator_a', 'generator_b'),
        discriminators=('discriminator_a', 'discriminator_b'))
    TEST_OUTPUTS = ('real_img', 'fake_img', 'rec_img')

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 gan_loss: dict = dict(type='GANLoss', gan_type='lsgan'),
                 cycle_loss: dict = dict(type='L1Loss', loss_weight=10.0),
                 identity_loss: Optional[dict] = dict(
                     type='L1Loss', loss_weight=5.0),
                 buffer_size: int = 50,
                 cycle_noise_std: float = 0.0,
                 batch_generator_calls: Optional[bool] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor, init_cfg)
        self.generator_a = self.build_part(generator)
        self.generator_b = self.build_part(generator)
        self.discriminator_a = self.build_part(discriminator)
        self.discriminator_b = self.build_part(discriminator)
        self.gan_loss = self.build_part(gan_loss)
        self.cycle_loss = self.build_part(cycle_loss)
        self.identity_loss = (
            self.build_part(identity_loss)
            if identity_loss and identity_loss.get('loss_weight', 1.0) else
            None)
        self.history_a = self.build_part(
            dict(type='ImageHistoryBuffer', buffer_size=buffer_size))
        self.history_b = self.build_part(
            dict(type='ImageHistoryBuffer', buffer_size=buffer_size))
        if not cycle_noise_std >= 0:
            raise ValueError(
                f'CycleGAN: cycle_noise_std must be >= 0 (0 adds no noise), '
                f'got {cycle_noise_std}; set model.cycle_noise_std.')
        self.cycle_noise_std = float(cycle_noise_std)
        mixing = mixes_samples(self.generator_a) or mixes_samples(
            self.generator_b)
        if batch_generator_calls and mixing:
            raise ValueError(
                'CycleGAN: batch_generator_calls=True needs generators that '
                'normalise each sample on its own, but these use batch '
                'statistics (batch norm), which would mix the domains; set '
                "model.batch_generator_calls=None or norm='instance'.")
        if self.identity_loss is None or mixing or (batch_generator_calls is
                                                    False):
            self.batch_generator_calls = False
        else:
            self.batch_generator_calls = batch_generator_calls

    def _batches(self, images: torch.Tensor) -> bool:
        """Whether this step batches the identity passes (see __init__)."""
        if self.batch_generator_calls is None:
            return images.is_cuda
        return self.batch_generator_calls

    def train_steps(self) -> List[TrainStep]:
        """The generator step, then the discriminator step."""
        return [('generators', self._generator_step),
                ('discriminators', self._discriminator_step)]

    def _generator_step(self, batch: dict) -> Dict[str, torch.Tensor]:
        real_a, real_b = batch['img_a'], batch['img_b']
        batched = self._batches(real_a)
        if batched:
            # idt_a = G_A(b), idt_b = G_B(a): the identity passes.
            fake_b, idt_a = self._batched(self.generator_a, real_a, real_b)
            rec_a = self.generator_b(self._cycle_input(fake_b))
            fake_a, idt_b = self._batched(self.generator_b, real_b, real_a)
        else:
            fake_b = self.generator_a(real_a)
            rec_a = self.generator_b(self._cycle_input(fake_b))
            fake_a = self.generator_b(real_b)
        rec_b = self.generator_a(self._cycle_input(fake_a))
        batch.update(fake_a=fake_a, fake_b=fake_b)
        # The discriminators only pass gradients back to the fakes here, so
        # the unwrapped modules are used: a DDP wrapper would wait for
        # gradients of parameters that are frozen in this step.
        disc_a = unwrap(self.discriminator_a)
        disc_b = unwrap(self.discriminator_b)
        losses = dict(
            g_adv_a=self.gan_loss(disc_a(fake_b), True),
            g_adv_b=self.gan_loss(disc_b(fake_a), True),
            cycle_a=self.cycle_loss(rec_a, real_a),
            cycle_b=self.cycle_loss(rec_b, real_b))
        if self.identity_loss is not None:
            if not batched:  # the reference's order
                idt_a = self.generator_a(real_b)
                idt_b = self.generator_b(real_a)
            losses['idt_a'] = self.identity_loss(idt_a, real_b)
            losses['idt_b'] = self.identity_loss(idt_b, real_a)
        return losses

    def _cycle_input(self, fake: torch.Tensor) -> torch.Tensor:
        """The fake as the reconstructing generator sees it."""
        if not self.cycle_noise_std:
            return fake
        return fake + self.cycle_noise_std * torch.randn_like(fake)

    @staticmethod
    def _batched(generator: nn.Module, first: torch.Tensor,
                 second: torch.Tensor) -> List[torch.Tensor]:
        """``[generator(first), generator(second)]`` from one call."""
        outputs = generator(torch.cat([first, second]))
        return list(outputs.split([len(first), len(second)]))

    def _discriminator_step(self, batch: dict) -> Dict[str, torch.Tensor]:
        return dict(
            d_a=self._discriminator_loss(
                self.discriminator_a, batch['img_b'],
                self.history_b.query(batch['fake_b'])),
            d_b=self._discriminator_loss(
                self.discriminator_b, batch['img_a'],
                self.history_a.query(batch['fake_a'])))

    def _discriminator_loss(self, discriminator: nn.Module,
                            real: torch.Tensor,
                            fake: torch.Tensor) -> torch.Tensor:
        loss_real = self.gan_loss(discriminator(real), True, is_disc=True)
        loss_fake = self.gan_loss(discriminator(fake), False, is_disc=True)
        return 0.5 * (loss_real + loss_fake)

    def predict(self, images: torch.Tensor,
                is_a: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The translation into the other domain and the way back."""
        fake = torch.empty_like(images)
        rec = torch.empty_like(images)
        for mask, forward, backward in (
            (is_a, self.generator_a, self.generator_b),
            (~is_a, self.generator_b, self.generator_a),
        ):
            if mask.any():
                fake[mask] = forward(images[mask]).to(images.dtype)
                rec[mask] = backward(fake[mask]).to(images.dtype)
        return dict(fake_img=fake, rec_img=rec)
