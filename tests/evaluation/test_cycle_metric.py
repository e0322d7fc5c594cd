import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement


def sample(domain, real, rec):
    return BaseDataElement(
        domain=domain,
        img_path=f'{domain}.png',
        real_img=real,
        fake_img=real.clone(),
        rec_img=rec)


def evaluate(samples):
    evaluator = Evaluator([dict(type='CycleConsistency')])
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_known_offsets_give_known_l1_and_psnr():
    gen = torch.Generator().manual_seed(0)
    real = torch.randint(20, 200, (3, 8, 8), dtype=torch.uint8, generator=gen)
    metrics = evaluate([
        sample('a', real, real + 10),
        sample('a', real, real + 20),
        sample('b', real, real - 5),
    ])
    assert metrics['cycle_l1_a'] == pytest.approx(15 / 127.5)
    assert metrics['cycle_psnr_a'] == pytest.approx(
        (20 * math.log10(255 / 10) + 20 * math.log10(255 / 20)) / 2)
    assert metrics['cycle_l1_b'] == pytest.approx(5 / 127.5)
    assert metrics['cycle_psnr_b'] == pytest.approx(20 * math.log10(255 / 5))


def test_full_range_error_is_two_in_model_units():
    black = torch.zeros(3, 4, 4, dtype=torch.uint8)
    white = torch.full((3, 4, 4), 255, dtype=torch.uint8)
    metrics = evaluate([sample('a', white, black), sample('b', black, white)])
    assert metrics['cycle_l1_a'] == pytest.approx(2.0)
    assert metrics['cycle_l1_b'] == pytest.approx(2.0)
    assert metrics['cycle_psnr_a'] == pytest.approx(0.0)


def test_perfect_reconstruction():
    real = torch.full((3, 4, 4), 7, dtype=torch.uint8)
    metrics = evaluate([sample('a', real, real.clone())])
    assert metrics == {'cycle_l1_a': 0.0, 'cycle_psnr_a': math.inf}


def test_missing_reconstruction_is_named():
    bad = sample('a', torch.zeros(3, 4, 4, dtype=torch.uint8), None)
    del bad.rec_img
    with pytest.raises(KeyError, match='rec_img'):
        evaluate([bad])
