"""CUT / FastCUT: PatchNCE, the patch sampler, the generator's feature
taps, and one training step of each variant."""
import copy
import math

import pytest
import torch
from mmengine.optim import OptimWrapperDict

from cyclegan_plugin.models import (CUT, PatchNCELoss, PatchSampleMLP,
                                    ResnetGenerator)
from cyclegan_plugin.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

TINY = dict(
    type='CUT',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=5),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=8, num_layers=2),
    patch_sampler=dict(type='PatchSampleMLP', channels=16, num_patches=32))
FASTCUT = dict(
    TINY,
    nce_loss=dict(type='PatchNCELoss', loss_weight=10.0),
    nce_identity=False,
    flip_equivariance=True)
# CUT's default generator: anti-aliased down/upsampling.
ANTIALIASED = dict(
    TINY,
    generator=dict(
        TINY['generator'], downsample='antialias', upsample='antialias'))
ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))


def patch_nce_by_hand(query, key, batch_size, temperature):
    """Per patch: -log softmax of the positive among the positive and the
    other patches of its image, written with loops."""
    losses = []
    patches = query.shape[0] // batch_size
    for n in range(batch_size):
        for i in range(patches):
            q = query[n * patches + i]
            logits = [float(q @ key[n * patches + i]) / temperature]
            logits += [
                float(q @ key[n * patches + j]) / temperature
                for j in range(patches) if j != i
            ]
            top = max(logits)
            log_sum = top + math.log(sum(math.exp(v - top) for v in logits))
            losses.append(log_sum - logits[0])
    return sum(losses) / len(losses)


def unit_rows(*shape):
    x = torch.randn(*shape, dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


def test_patch_nce_matches_an_independent_computation():
    torch.manual_seed(0)
    query, key = unit_rows(2 * 6, 5), unit_rows(2 * 6, 5)
    loss = PatchNCELoss(temperature=0.07, loss_weight=2.0)(query, key, 2)
    expected = 2.0 * patch_nce_by_hand(query, key, 2, 0.07)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    # Keys are detached: the gradient reaches the queries only.
    query.requires_grad_(True)
    key.requires_grad_(True)
    PatchNCELoss()(query, key, 2).backward()
    assert query.grad is not None and key.grad is None


def test_matching_patches_score_lower_than_random_ones():
    torch.manual_seed(0)
    key = unit_rows(16, 8)
    assert PatchNCELoss()(key, key, 1) < PatchNCELoss()(unit_rows(16, 8),
                                                        key, 1)


def test_generator_taps_return_the_documented_shapes():
    g = ResnetGenerator(base_channels=8, num_blocks=5)
    names = ['input', 'down1', 'down2', 'block1', 'block5']
    features = g.encode(torch.zeros(2, 3, 32, 32), names)
    assert [tuple(f.shape) for f in features] == [
        (2, 3, 38, 38), (2, 16, 16, 16), (2, 32, 8, 8), (2, 32, 8, 8),
        (2, 32, 8, 8)
    ]
    assert g.feature_channels(names) == [3, 16, 32, 32, 32]
    # The taps are the generator's own layers: block5 feeds the decoder.
    x = torch.randn(1, 3, 32, 32)
    [block5] = g.encode(x, ['block5'])
    assert torch.equal(g.model[g._taps['block5'][0] + 1:](block5), g(x))
    with pytest.raises(ValueError, match='no feature'):
        g.encode(x, ['block9'])


def test_patch_sampler_reuses_locations_and_normalises():
    sampler = PatchSampleMLP([3, 16], channels=8, num_patches=10)
    features = [torch.randn(2, 3, 6, 6), torch.randn(2, 16, 4, 4)]
    patches, ids = sampler(features)
    assert [tuple(p.shape) for p in patches] == [(20, 8), (20, 8)]
    assert all(len(i) == 10 for i in ids)
    norms = torch.cat([p.norm(dim=1) for p in patches])
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    again, same_ids = sampler(features, ids)
    assert all(torch.equal(a, b) for a, b in zip(ids, same_ids))
    assert all(torch.equal(a, b) for a, b in zip(patches, again))


def optim_for(model):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PerGroupOptimWrapperConstructor',
            optim_wrapper_cfg=dict(generator=ADAM, discriminator=ADAM)))
    return constructor(model)


@pytest.mark.parametrize('cfg, terms', [
    (TINY, {'d', 'g_adv', 'nce', 'nce_idt'}),
    (FASTCUT, {'d', 'g_adv', 'nce'}),
    (ANTIALIASED, {'d', 'g_adv', 'nce', 'nce_idt'}),
])
def test_one_step_updates_g_d_and_the_mlp(cfg, terms):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    assert isinstance(model, CUT)
    optim = optim_for(model)
    assert isinstance(optim, OptimWrapperDict)
    before = {
        name: [p.detach().clone() for p in net.parameters()]
        for name, net in model.networks.items()
    }
    data = dict(inputs=dict(
        img_a=torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8),
        img_b=torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)))
    log = model.train_step(data, optim)
    assert set(log) == terms
    assert all(math.isfinite(v) for v in log.values())
    assert set(before) == {'generator', 'patch_sampler', 'discriminator'}
    for name, params in before.items():
        after = list(model.networks[name].parameters())
        assert any(not torch.equal(b, a) for b, a in zip(params, after)), name
    assert all(p.requires_grad for p in model.parameters())
