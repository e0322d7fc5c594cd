import copy

import pytest
import torch
from torch import nn

from cyclegan_plugin.models.back_translation import (back_translate,
                                                     generator_pair,
                                                     pseudo_pair_parts,
                                                     random_crops, train_stage)
from cyclegan_plugin.models.data_preprocessor import \
    CycleGANDataPreprocessor
from cyclegan_plugin.registry import MODELS


def negation() -> nn.Conv2d:
    """x -> -x: its own inverse, so a round trip through two is exact."""
    conv = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        conv.weight.copy_(-torch.eye(3).view(3, 3, 1, 1))
        conv.bias.zero_()
    return conv


def uint8_images(count: int, size: int = 12, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8,
                         generator=generator)


def tiny_cyclegan(norm: str = 'instance') -> nn.Module:
    model = MODELS.build(
        dict(
            type='CycleGAN',
            generator=dict(type='ResnetGenerator', base_channels=4,
                           num_blocks=1, num_downsamples=0, norm=norm),
            discriminator=dict(type='PatchDiscriminator', base_channels=4,
                               num_layers=1)))
    model.init_weights()
    return model


def test_pseudo_pair_parts_are_the_teachers_translation_and_the_round_trip_residual():
    torch.manual_seed(0)
    student, teacher = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 3, padding=1)
    inputs, targets = uint8_images(5), uint8_images(7, seed=1)
    translations, residuals = pseudo_pair_parts(student, teacher, inputs,
                                                targets)
    normalize = CycleGANDataPreprocessor.normalize
    with torch.no_grad():
        assert torch.allclose(translations, teacher(normalize(targets)),
                              atol=1e-6)
        real = normalize(inputs)
        assert torch.allclose(residuals, real - teacher(student(real)),
                              atol=1e-6)


def test_a_student_that_inverts_its_teacher_exactly_has_nothing_to_learn():
    # The round trip loses nothing (residual 0) and the pseudo-input of y is
    # -y, which the student maps back to y: every pair is exact only if each
    # pseudo-input is paired with its own target.
    student, teacher = negation(), negation()
    losses = train_stage(student, teacher, uint8_images(6),
                         uint8_images(9, seed=1), iters=5, batch_size=3,
                         crop_size=8,
                         generator=torch.Generator().manual_seed(0))
    assert losses == [0.0] * 5
    assert torch.equal(student.weight, negation().weight)


def test_a_stage_lowers_the_students_loss_and_leaves_the_teacher_alone():
    torch.manual_seed(0)
    student, teacher = nn.Conv2d(3, 3, 1), negation()
    before = copy.deepcopy(teacher.state_dict())
    losses = train_stage(student, teacher, uint8_images(8),
                         uint8_images(8, seed=1), iters=200, lr=1e-2,
                         batch_size=4, crop_size=8,
                         generator=torch.Generator().manual_seed(0))
    assert sum(losses[-20:]) < 0.8 * sum(losses[:20])
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key])


def test_a_stage_keeps_the_batch_norm_statistics_learnt_on_real_images():
    model = tiny_cyclegan(norm='batch')
    student, teacher = generator_pair(model, 'a2b')
    stats = {k: v.clone() for k, v in student.state_dict().items()
             if 'running' in k}
    assert stats
    train_stage(student, teacher, uint8_images(4), uint8_images(4, seed=1),
                iters=3, crop_size=8, generator=torch.Generator())
    for key, value in stats.items():
        assert torch.equal(student.state_dict()[key], value), key


def test_stages_fine_tune_their_student_only_and_repeat_exactly():
    images = dict(a=uint8_images(4), b=uint8_images(4, seed=1))
    model = tiny_cyclegan()
    start = copy.deepcopy(model.state_dict())
    weights = [k for k, v in start.items() if isinstance(v, torch.Tensor)]
    history = back_translate(model, images, ['b2a'], iters=4, seed=3,
                             crop_size=8)
    assert list(history) == ['1_b2a'] and len(history['1_b2a']) == 4
    changed = {key.split('.')[0] for key in weights
               if not torch.equal(model.state_dict()[key], start[key])}
    assert changed == {'generator_b'}

    again = tiny_cyclegan()
    again.load_state_dict(start)
    back_translate(again, images, ['b2a'], iters=4, seed=3, crop_size=8)
    for key in weights:
        assert torch.equal(model.state_dict()[key],
                           again.state_dict()[key]), key


def test_random_crops_cut_and_mirror_every_tensor_alike():
    images = torch.arange(2 * 3 * 10 * 10, dtype=torch.float).view(
        2, 3, 10, 10)
    first, second = random_crops([images, images + 0.5], 4, True,
                                 torch.Generator().manual_seed(0))
    assert first.shape == (2, 3, 4, 4)
    assert torch.equal(second, first + 0.5)
    with pytest.raises(ValueError, match='back_translation.crop_size'):
        random_crops([images], 11, False, torch.Generator())


def test_stages_name_a_direction_the_model_has():
    model = tiny_cyclegan()
    with pytest.raises(ValueError, match='a2b or b2a'):
        generator_pair(model, 'a2a')

    class OneWay(nn.Module):
        GENERATORS = dict(a2b='generator')

        def __init__(self):
            super().__init__()
            self.generator = nn.Conv2d(3, 3, 1)

    with pytest.raises(ValueError, match='OneWay has no b2a generator'):
        generator_pair(OneWay(), 'a2b')
    with pytest.raises(ValueError, match='iters must be at least 1'):
        back_translate(model, {}, ['a2b'], iters=0)
