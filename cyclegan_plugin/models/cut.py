"""CUT and FastCUT (Park, Efros, Zhang, Zhu, ECCV 2020) on the base model.

Contrastive Unpaired Translation learns one direction, A -> B, with one
generator G and one discriminator D and no cycle: instead of translating
back, a patch of the output must be closer to the input patch at the same
location than to the input's other patches (PatchNCE), measured on G's own
encoder features.

One training step, with a = real A, b = real B, F the patch sampler MLP,
NCE(x, y) the PatchNCE loss between the features of G's encoder on x and
on y, averaged over the tapped layers:

* D step first: fake_b = G(a) (and idt_b = G(b) in the same call when the
  NCE identity term is on), d = 0.5 [L_gan(D(b), real) +
  L_gan(D(fake_b.detach()), fake)];
* G step (D frozen), G and F together: g_adv = lambda_gan L_gan(D(fake_b),
  real); nce = NCE(a, fake_b); with the identity term nce and nce_idt =
  NCE(b, idt_b) are both halved, as in the reference.

FastCUT is the same model with lambda_NCE 10, no identity term and flip
equivariance: with probability 0.5 per step G's input is flipped
horizontally, and the output's features are flipped back before they are
compared with the source's. No history buffer is used.

The reference gives F its own Adam with G's settings. Adam treats every
parameter on its own, so one Adam over G and F with those settings (the
``generator`` group here) takes exactly the same steps.
"""
from typing import Dict, List, Optional, Sequence

import torch

from cyclegan_plugin.registry import MODELS
from .base_translation_model import BaseTranslationModel, TrainStep, unwrap


@MODELS.register_module()
class CUT(BaseTranslationModel):
    """CUT / FastCUT; see the module doc.

    Args:
        generator: Config of G; it must offer ``encode`` and
            ``feature_channels`` (``ResnetGenerator`` does).
        discriminator: Config of D.
        patch_sampler: Config of F without ``in_channels`` (taken from G).
        gan_loss: Config of the adversarial loss.
        nce_loss: Config of the PatchNCE loss; its ``loss_weight`` is
            lambda_NCE (1 for CUT, 10 for FastCUT).
        nce_layers: G's features compared by PatchNCE.
        gan_weight: lambda_GAN.
        nce_identity: Add the NCE identity term on B (CUT).
        flip_equivariance: Flip G's input at random (FastCUT).
        data_preprocessor: Config of the preprocessor.
        init_cfg: Config of initialisation for the whole model.
    """

    GENERATORS = dict(a2b='generator')
    OPTIMIZER_GROUPS = dict(
        generator=('generator', 'patch_sampler'),
        discriminator=('discriminator', ))
    TEST_OUTPUTS = ('real_img', 'fake_img')

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 patch_sampler: dict = dict(
                     type='PatchSampleMLP', channels=256, num_patches=256),
                 gan_loss: dict = dict(type='GANLoss', gan_type='lsgan'),
                 nce_loss: dict = dict(
                     type='PatchNCELoss', temperature=0.07, loss_weight=1.0),
                 nce_layers: Sequence[str] = ('input', 'down1', 'down2',
                                              'block1', 'block5'),
                 gan_weight: float = 1.0,
                 nce_identity: bool = True,
                 flip_equivariance: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor, init_cfg)
        self.generator = self.build_part(generator)
        self.discriminator = self.build_part(discriminator)
        self.nce_layers = list(nce_layers)
        self.patch_sampler = self.build_part(
            dict(
                patch_sampler,
                in_channels=self.generator.feature_channels(
                    self.nce_layers)))
        self.gan_loss = self.build_part(gan_loss)
        self.nce_loss = self.build_part(nce_loss)
        self.gan_weight = gan_weight
        self.nce_identity = nce_identity
        self.flip_equivariance = flip_equivariance

    def train_steps(self) -> List[TrainStep]:
        """The discriminator step, then the generator step."""
        return [('discriminator', self._discriminator_step),
                ('generator', self._generator_step)]

    def frozen_groups(self, group: str) -> Sequence[str]:
        """G runs once, in the D step, and its output serves both steps: it
        must not be frozen there (D only sees ``fake_b.detach()``)."""
        return () if group == 'discriminator' else ('discriminator', )

    def _discriminator_step(self, batch: dict) -> Dict[str, torch.Tensor]:
        real_a, real_b = batch['img_a'], batch['img_b']
        inputs = torch.cat([real_a, real_b]) if self.nce_identity else real_a
        # One coin per step from torch's global generator, which the
        # checkpoints save, so a resumed run flips alike.
        flipped = self.flip_equivariance and bool(torch.rand(()) < 0.5)
        if flipped:
            inputs = inputs.flip(3)
        outputs = self.generator(inputs)
        fake_b = outputs[:len(real_a)]
        batch.update(fake_b=fake_b, idt_b=outputs[len(real_a):],
                     flipped=flipped)
        loss_real = self.gan_loss(
            self.discriminator(real_b), True, is_disc=True)
        loss_fake = self.gan_loss(
            self.discriminator(fake_b.detach()), False, is_disc=True)
        return dict(d=0.5 * (loss_real + loss_fake))

    def _generator_step(self, batch: dict) -> Dict[str, torch.Tensor]:
        # D passes gradients back to the fake only; unwrapped, as a DDP
        # wrapper would wait for gradients of its frozen parameters.
        disc = unwrap(self.discriminator)
        losses = dict(g_adv=self.gan_weight *
                      self.gan_loss(disc(batch['fake_b']), True))
        nce = self._nce(batch['img_a'], batch['fake_b'], batch['flipped'])
        if self.nce_identity:
            losses['nce'] = 0.5 * nce
            losses['nce_idt'] = 0.5 * self._nce(
                batch['img_b'], batch['idt_b'], batch['flipped'])
        else:
            losses['nce'] = nce
        return losses

    def _nce(self, source: torch.Tensor, translated: torch.Tensor,
             flipped: bool) -> torch.Tensor:
        """PatchNCE between G's features of ``source`` (keys) and of its
        translation (queries), averaged over the layers."""
        encoder = unwrap(self.generator)
        queries = encoder.encode(translated, self.nce_layers)
        if flipped:  # back into the source's coordinates
            queries = [q.flip(3) for q in queries]
        keys = encoder.encode(source, self.nce_layers)
        key_patches, patch_ids = self.patch_sampler(keys)
        query_patches, _ = self.patch_sampler(queries, patch_ids)
        total = sum(
            self.nce_loss(q, k, len(source))
            for q, k in zip(query_patches, key_patches))
        return total / len(self.nce_layers)

    def predict(self, images: torch.Tensor,
                is_a: torch.Tensor) -> Dict[str, torch.Tensor]:
        """CUT translates A -> B only: B test images pass through as they
        are (their metrics are the identity baseline)."""
        fake = images.clone()
        if is_a.any():
            fake[is_a] = self.generator(images[is_a]).to(images.dtype)
        return dict(fake_img=fake)
