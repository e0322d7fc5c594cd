"""Losses of CycleGAN as named, weighted modules.

``GANLoss`` turns discriminator scores into the adversarial loss of one of
four GAN formulations; ``L1Loss`` serves the cycle-consistency and identity
terms, whose weights (lambda = 10 and 0.5 * lambda = 5 in the paper) come
from the config.
"""
import torch
from torch import nn
from torch.nn import functional as F

from cyclegan_plugin.registry import MODELS


def _lsgan(pred: torch.Tensor, target: torch.Tensor, is_disc: bool):
    return F.mse_loss(pred, target)


def _vanilla(pred: torch.Tensor, target: torch.Tensor, is_disc: bool):
    return F.binary_cross_entropy_with_logits(pred, target)


def _hinge(pred: torch.Tensor, target: torch.Tensor, is_disc: bool):
    sign = 2 * target - 1  # +1 for real, -1 for fake
    if is_disc:
        return F.relu(1 - sign * pred).mean()
    # The generator's hinge loss is the plain critic score.
    return -(sign * pred).mean()


def _wgan(pred: torch.Tensor, target: torch.Tensor, is_disc: bool):
    sign = 2 * target - 1
    return -(sign * pred).mean()


GAN_LOSSES = {
    'lsgan': _lsgan,
    'vanilla': _vanilla,
    'hinge': _hinge,
    'wgan': _wgan,
}


@MODELS.register_module()
class GANLoss(nn.Module):
    """Adversarial loss for a discriminator's score map.

    ``lsgan`` (the paper's choice) is the mean squared error to the label,
    ``vanilla`` binary cross-entropy on logits, ``hinge`` and ``wgan`` the
    margin and critic losses. The score map's dtype may be bf16 or fp16
    under autocast; the loss is always computed in fp32.

    Args:
        gan_type: One of ``'lsgan'``, ``'vanilla'``, ``'hinge'``, ``'wgan'``.
        real_label: Target for real images (lsgan and vanilla).
        fake_label: Target for fake images (lsgan and vanilla).
        loss_weight: Multiplies the loss.
    """

    def __init__(self, gan_type: str = 'lsgan', real_label: float = 1.0,
                 fake_label: float = 0.0, loss_weight: float = 1.0):
        super().__init__()
        if gan_type not in GAN_LOSSES:
            raise ValueError(f'Unknown gan_type {gan_type!r}; choose one of '
                             f'{sorted(GAN_LOSSES)}.')
        if gan_type in ('hinge', 'wgan') and (real_label, fake_label) != (
                1.0, 0.0):
            raise ValueError(f'gan_type {gan_type!r} has no labels; leave '
                             f'real_label=1.0 and fake_label=0.0.')
        self.gan_type = gan_type
        self.loss_weight = loss_weight
        self.register_buffer(
            'real_label', torch.tensor(real_label), persistent=False)
        self.register_buffer(
            'fake_label', torch.tensor(fake_label), persistent=False)

    def forward(self, pred: torch.Tensor, target_is_real: bool,
                is_disc: bool = False) -> torch.Tensor:
        """Loss of scores ``pred`` (N, 1, H', W') against real or fake.

        Args:
            pred: Raw discriminator scores.
            target_is_real: Whether the images should be judged real.
            is_disc: True in the discriminator's step (matters for hinge).
        """
        pred = pred.float()
        label = self.real_label if target_is_real else self.fake_label
        target = label.expand_as(pred)
        return self.loss_weight * GAN_LOSSES[self.gan_type](
            pred, target, is_disc)


@MODELS.register_module()
class L1Loss(nn.Module):
    """Weighted mean absolute error, for the cycle and identity terms.

    Args:
        loss_weight: Multiplies the loss (10 for cycle, 5 for identity).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        """Mean |pred - target| over all elements, times the weight."""
        return self.loss_weight * F.l1_loss(pred.float(), target.float())


@MODELS.register_module()
class PatchNCELoss(nn.Module):
    """The patchwise contrastive loss of CUT (Park et al., ECCV 2020).

    Each query (a patch feature of the translation) should match the key
    at the same location of the source image (its positive) rather than
    the keys of the other sampled locations of the same image (its
    negatives): a cross entropy over cosine similarities divided by a
    temperature, the positive as class 0. Keys are detached, so the
    gradient flows through the query branch only.

    Args:
        temperature: Divides the similarities (0.07 in the paper).
        loss_weight: Multiplies the mean over all patches.
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0):
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                batch_size: int) -> torch.Tensor:
        """``query`` and ``key``: L2-normalised ``(N * P, D)`` patch
        features of ``batch_size`` = N images, P patches each, image-major
        and matched row by row. Returns the weighted scalar loss."""
        key = key.detach()
        positive = (query * key).sum(dim=1, keepdim=True)
        query = query.view(batch_size, -1, query.shape[1])
        key = key.view(batch_size, -1, key.shape[1])
        similarity = torch.bmm(query, key.transpose(1, 2))  # (N, P, P)
        patches = similarity.shape[1]
        # The diagonal is each query's positive, not a negative.
        diagonal = torch.eye(patches, dtype=torch.bool,
                             device=similarity.device)[None]
        negatives = similarity.masked_fill(diagonal, -10.0).flatten(0, 1)
        logits = torch.cat([positive, negatives], dim=1) / self.temperature
        target = torch.zeros(
            logits.shape[0], dtype=torch.long, device=logits.device)
        return self.loss_weight * F.cross_entropy(logits, target)
