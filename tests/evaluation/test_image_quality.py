import math

import numpy as np
import pytest
import torch

from cyclegan_plugin.evaluation.image_quality import mse, psnr, ssim


def reference_ssim(x, y):
    """SSIM of two (C, H, W) arrays by explicit 11 x 11 windows (numpy).

    Wang et al. (2004) with a Gaussian window (sigma 1.5) normalised to sum
    1, weighted population statistics, and only windows inside the image.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    r = np.arange(11) - 5
    g = np.exp(-r**2 / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    values = []
    for ch in range(x.shape[0]):
        for i in range(x.shape[1] - 10):
            for j in range(x.shape[2] - 10):
                px, py = x[ch, i:i + 11, j:j + 11], y[ch, i:i + 11, j:j + 11]
                mx, my = (w * px).sum(), (w * py).sum()
                vx = (w * (px - mx)**2).sum()
                vy = (w * (py - my)**2).sum()
                cxy = (w * (px - mx) * (py - my)).sum()
                values.append((2 * mx * my + c1) * (2 * cxy + c2) /
                              ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def rand_uint8(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)


def test_psnr_of_a_known_mse():
    target = rand_uint8(2, 3, 16, 16).clamp(10, 240)
    pred = target + 5  # no overflow: target <= 240
    expected = 10 * math.log10(255**2 / 5**2)
    torch.testing.assert_close(
        psnr(pred, target), torch.full((2, ), expected, dtype=torch.float64))


def test_psnr_matches_numpy_per_image():
    pred, target = rand_uint8(3, 3, 8, 8, seed=1), rand_uint8(3, 3, 8, 8)
    diff = pred.numpy().astype(np.float64) - target.numpy()
    expected = 10 * np.log10(255**2 / (diff**2).reshape(3, -1).mean(1))
    np.testing.assert_allclose(psnr(pred, target).numpy(), expected)
    np.testing.assert_allclose(
        mse(pred, target).numpy(), (diff**2).reshape(3, -1).mean(1))


def test_uint8_images_do_not_wrap_around():
    black = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    white = torch.full((1, 3, 4, 4), 255, dtype=torch.uint8)
    assert psnr(black, white).item() == 0.0
    assert mse(black, white).item() == 255.0**2


def test_psnr_of_identical_images_is_inf():
    img = rand_uint8(1, 3, 8, 8)
    assert psnr(img, img.clone()).item() == math.inf


def test_ssim_matches_the_windowed_formula():
    pred = rand_uint8(2, 3, 16, 18, seed=2)
    noise = rand_uint8(2, 3, 16, 18, seed=3).long() - 128
    target = (pred.long() + noise).clamp(0, 255).to(torch.uint8)
    got = ssim(pred, target)
    for k in range(2):
        assert got[k].item() == pytest.approx(
            reference_ssim(pred[k], target[k]), rel=1e-10)
    # Correlated images: far from both 0 and 1.
    assert 0.3 < got.min() and got.max() < 0.99


def test_ssim_of_identical_images_is_one():
    img = rand_uint8(1, 3, 12, 12)
    assert ssim(img, img.clone()).item() == pytest.approx(1, abs=1e-12)


def test_ssim_accepts_float_images_in_0_255():
    pred, target = rand_uint8(1, 3, 12, 12, seed=4), rand_uint8(1, 3, 12, 12)
    torch.testing.assert_close(
        ssim(pred.float(), target.float()), ssim(pred, target))


def test_ssim_rejects_images_smaller_than_the_window():
    img = rand_uint8(1, 3, 10, 16)
    with pytest.raises(ValueError, match='at least 11'):
        ssim(img, img)


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match='equal shape'):
        psnr(rand_uint8(1, 3, 8, 8), rand_uint8(1, 3, 8, 9))
