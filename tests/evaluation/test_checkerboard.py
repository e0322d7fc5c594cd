import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from cyclegan_plugin.datasets.toy_faces import render_pair
from cyclegan_plugin.evaluation import Checkerboard, grid_peak_db
from cyclegan_plugin.evaluation.checkerboard import checkerboard_excess


def face(index=0):
    """A toy-faces anime image, (1, 3, 64, 64) float in 0..255."""
    _, anime = render_pair([7, 2, index])
    return torch.from_numpy(anime).permute(2, 0, 1)[None].double()


def with_pattern(image, period, amplitude):
    """``image`` plus a pattern that repeats every ``period`` px."""
    rng = np.random.default_rng(period)
    cell = torch.from_numpy(rng.uniform(-1, 1, (period, period)))
    pattern = cell.repeat(image.shape[-2] // period, image.shape[-1] // period)
    return image + amplitude * pattern


def test_a_drawn_face_has_no_grid_peak():
    scores = torch.cat([grid_peak_db(face(i)) for i in range(6)])
    assert (scores.abs() < 4).all(), scores


@pytest.mark.parametrize('period', [2, 4])
def test_periodic_texture_raises_the_peak(period):
    image = face()
    # Up to 8 levels of 255: faint to the eye.
    excess = checkerboard_excess(with_pattern(image, period, 8.0), image)
    assert excess.item() > 6


def test_aperiodic_noise_does_not():
    image = face()
    noise = torch.randn(image.shape, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(0))
    noisy = image + 4.0 * noise
    assert abs(checkerboard_excess(noisy, image).item()) < 2


def test_same_image_scores_zero_and_size_is_checked():
    image = face()
    assert checkerboard_excess(image, image).item() == 0
    with pytest.raises(ValueError, match='multiple of the period 4'):
        grid_peak_db(image[..., :62])


def test_metric_reports_both_directions_and_the_baseline():
    image = face().squeeze(0).to(torch.uint8)
    striped = with_pattern(face(), 4, 8.0).clamp(0, 255).round()
    samples = [
        BaseDataElement(domain='a', real_img=image, gt_img=image,
                        fake_img=striped.squeeze(0).to(torch.uint8)),
        BaseDataElement(domain='b', real_img=image, gt_img=image,
                        fake_img=image),
    ]
    metric = Checkerboard()
    metric.process(None, samples)
    scores = metric.compute_metrics(metric.results)
    assert scores['checkerboard_a2b'] > 6
    assert scores['checkerboard_b2a'] == 0
    assert scores['checkerboard_id_a2b'] == 0
