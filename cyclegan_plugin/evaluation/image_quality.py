"""Full-reference image quality: PSNR and SSIM on 0..255 RGB, in torch.

Both take images with values in 0..255 (uint8 or float) and compute in
float64. SSIM follows Wang et al. (2004): an 11 x 11 Gaussian window with
sigma 1.5, constants ``C1 = (0.01 * 255)^2`` and ``C2 = (0.03 * 255)^2``,
population (not sample) weighted statistics, evaluated only where the
window fits inside the image ('valid'), on each RGB channel; an image's SSIM
is the mean over channels and positions. This equals scikit-image's
``structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255, channel_axis=0)``.
"""
import torch
from torch.nn import functional as F

DATA_RANGE = 255.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError('Expected two image batches (N, C, H, W) of equal '
                         f'shape, got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}.')


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error, shape ``(N,)``, in 0..255 units.

    Args:
        pred: Images ``(N, C, H, W)`` in 0..255.
        target: Images ``(N, C, H, W)`` in 0..255.
    """
    _check_pair(pred, target)
    diff = pred.double() - target.double()
    return diff.pow(2).flatten(1).mean(1)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB, shape ``(N,)``: ``10 log10(255^2 / MSE)``.

    Identical images have MSE 0 and PSNR ``inf``; no cap is applied.

    Args:
        pred: Images ``(N, C, H, W)`` in 0..255.
        target: Images ``(N, C, H, W)`` in 0..255.
    """
    return 10 * torch.log10(DATA_RANGE**2 / mse(pred, target))


def _gaussian_window(device: torch.device) -> torch.Tensor:
    coords = torch.arange(SSIM_WINDOW, dtype=torch.float64, device=device)
    coords -= SSIM_WINDOW // 2
    window = torch.exp(-coords**2 / (2 * SSIM_SIGMA**2))
    return window / window.sum()


def _filter(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    # Separable 'valid' Gaussian filter of every channel on its own.
    channels = x.shape[1]
    x = F.conv2d(
        x,
        window.view(1, 1, 1, -1).expand(channels, 1, 1, -1),
        groups=channels)
    return F.conv2d(
        x,
        window.view(1, 1, -1, 1).expand(channels, 1, -1, 1),
        groups=channels)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM, shape ``(N,)``, mean over channels and windows.

    Args:
        pred: Images ``(N, C, H, W)`` in 0..255, H and W at least 11.
        target: Images ``(N, C, H, W)`` in 0..255.
    """
    _check_pair(pred, target)
    if min(pred.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f'SSIM needs images of at least {SSIM_WINDOW} x '
                         f'{SSIM_WINDOW} pixels, got {tuple(pred.shape)}.')
    x, y = pred.double(), target.double()
    window = _gaussian_window(x.device)
    mu_x, mu_y = _filter(x, window), _filter(y, window)
    var_x = _filter(x * x, window) - mu_x**2
    var_y = _filter(y * y, window) - mu_y**2
    cov = _filter(x * y, window) - mu_x * mu_y
    c1, c2 = (0.01 * DATA_RANGE)**2, (0.03 * DATA_RANGE)**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2) /
                ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)))
    return ssim_map.flatten(1).mean(1)
