import pytest
import torch

from cyclegan_plugin.models import GANLoss, L1Loss

PRED = torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]]])


def test_lsgan_is_mse_to_the_label():
    loss = GANLoss('lsgan')
    assert loss(PRED, True).item() == pytest.approx(
        ((0.5 - 1)**2 + 4 + 1 + 1) / 4)
    assert loss(PRED, False).item() == pytest.approx(
        (0.25 + 1 + 4 + 0) / 4)


def test_vanilla_is_bce_on_logits():
    loss = GANLoss('vanilla')
    expected_real = -torch.log(torch.sigmoid(PRED)).mean()
    expected_fake = -torch.log(1 - torch.sigmoid(PRED)).mean()
    assert loss(PRED, True).item() == pytest.approx(expected_real.item())
    assert loss(PRED, False).item() == pytest.approx(expected_fake.item())


def test_hinge_differs_for_discriminator_and_generator():
    loss = GANLoss('hinge')
    # D: mean(relu(1 - x)) on real, mean(relu(1 + x)) on fake.
    assert loss(PRED, True, is_disc=True).item() == pytest.approx(
        (0.5 + 2 + 0 + 1) / 4)
    assert loss(PRED, False, is_disc=True).item() == pytest.approx(
        (1.5 + 0 + 3 + 1) / 4)
    # G: -mean(x).
    assert loss(PRED, True).item() == pytest.approx(-1.5 / 4)


def test_wgan_is_the_signed_critic_score():
    loss = GANLoss('wgan')
    assert loss(PRED, True).item() == pytest.approx(-1.5 / 4)
    assert loss(PRED, False, is_disc=True).item() == pytest.approx(1.5 / 4)


def test_labels_weight_and_fp32():
    loss = GANLoss('lsgan', real_label=0.9, loss_weight=2.0)
    pred = torch.full((1, 1, 3, 3), 0.9, dtype=torch.bfloat16)
    out = loss(pred, True)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(0.0, abs=1e-5)
    assert loss(torch.zeros(1, 1, 2, 2), True).item() == pytest.approx(
        2 * 0.81)


def test_labels_follow_the_device_and_shape():
    loss = GANLoss('lsgan')
    assert loss.real_label.shape == ()
    assert 'real_label' not in loss.state_dict()  # not a checkpoint key
    assert loss(torch.ones(4, 1, 30, 30), True).item() == 0


def test_bad_gan_type_and_labels_are_refused():
    with pytest.raises(ValueError, match='choose one of'):
        GANLoss('wasserstein')
    with pytest.raises(ValueError, match='no labels'):
        GANLoss('hinge', real_label=0.9)


def test_l1_loss_weight():
    pred, target = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    assert L1Loss(10.0)(pred, target).item() == pytest.approx(5.0)
    assert L1Loss()(pred, target).item() == pytest.approx(0.5)
