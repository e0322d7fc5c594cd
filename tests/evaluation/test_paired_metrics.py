import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement

from cyclegan_plugin.evaluation import PairedPSNR, PairedSSIM, psnr, ssim


def make_samples(seed=0, size=16):
    """Two A and three B samples whose translation is closer to the gt
    than the untranslated input is."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for domain, n in (('a', 2), ('b', 3)):
        for i in range(n):
            gt = torch.randint(30, 226, (3, size, size), generator=gen)
            fake = gt + torch.randint(-8, 9, gt.shape, generator=gen)
            real = gt + torch.randint(-30, 31, gt.shape, generator=gen)
            samples.append(
                BaseDataElement(
                    domain=domain,
                    img_path=f'{domain}/{i}.png',
                    real_img=real.to(torch.uint8),
                    fake_img=fake.to(torch.uint8),
                    gt_img=gt.to(torch.uint8)))
    return samples


def mean_score(fn, samples, domain, key):
    return float(
        np.mean([
            fn(s.get(key)[None], s.gt_img[None]).item() for s in samples
            if s.domain == domain
        ]))


@pytest.mark.parametrize('name,fn', [('psnr', psnr), ('ssim', ssim)])
def test_per_direction_means_and_identity_baseline(name, fn):
    samples = make_samples()
    metric_type = {'psnr': 'PairedPSNR', 'ssim': 'PairedSSIM'}[name]
    evaluator = Evaluator([dict(type=metric_type)])
    evaluator.process(samples[:3])
    evaluator.process(samples[3:])
    metrics = evaluator.evaluate(len(samples))
    assert set(metrics) == {
        f'{name}_a2b', f'{name}_b2a', f'{name}_id_a2b', f'{name}_id_b2a'
    }
    for direction, domain in (('a2b', 'a'), ('b2a', 'b')):
        assert metrics[f'{name}_{direction}'] == pytest.approx(
            mean_score(fn, samples, domain, 'fake_img'))
        assert metrics[f'{name}_id_{direction}'] == pytest.approx(
            mean_score(fn, samples, domain, 'real_img'))
        assert metrics[f'{name}_{direction}'] > metrics[
            f'{name}_id_{direction}']


def test_identity_baseline_can_be_switched_off():
    metric = PairedSSIM(identity_baseline=False)
    metric.process(None, make_samples())
    assert set(metric.compute_metrics(
        metric.results)) == {'ssim_a2b', 'ssim_b2a'}


def test_a_perfect_translation_has_infinite_psnr():
    samples = make_samples()
    for sample in samples:
        sample.fake_img = sample.gt_img.clone()
    metric = PairedPSNR()
    metric.process(None, samples)
    metrics = metric.compute_metrics(metric.results)
    assert metrics['psnr_a2b'] == math.inf
    assert math.isfinite(metrics['psnr_id_a2b'])


def test_unpaired_samples_ask_for_a_paired_test_set():
    sample = make_samples()[0]
    del sample.gt_img
    with pytest.raises(KeyError, match='paired'):
        PairedPSNR().process(None, [sample])


def test_gt_of_another_size_is_rejected():
    sample = make_samples()[0]
    sample.gt_img = torch.zeros(3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match="'a/0.png'"):
        PairedPSNR().process(None, [sample])
