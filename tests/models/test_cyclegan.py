import copy
import random

import pytest
import torch
from mmengine.optim import OptimWrapperDict
from mmengine.structures import BaseDataElement
from reference_cyclegan import reference_discriminator, reference_generator
from torch import nn

from cyclegan_plugin.models.cyclegan import mixes_samples
from cyclegan_plugin.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

LOSS_KEYS = {
    'g_adv_a', 'g_adv_b', 'cycle_a', 'cycle_b', 'idt_a', 'idt_b', 'd_a', 'd_b'
}
ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))


def model_cfg(base_channels=8, num_blocks=1, generator=None, **kwargs):
    return dict(
        type='CycleGAN',
        generator=dict(
            type='ResnetGenerator', base_channels=base_channels,
            num_blocks=num_blocks, **(generator or {})),
        discriminator=dict(
            type='PatchDiscriminator', base_channels=base_channels),
        **kwargs)


def build(cfg) -> tuple:
    model = MODELS.build(cfg)
    model.init_weights()
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PerGroupOptimWrapperConstructor',
            optim_wrapper_cfg=dict(generators=ADAM, discriminators=ADAM)))(
                model)
    return model, optim


def batch(size=32, n=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs={
            key: [
                torch.randint(0, 256, (3, size, size), generator=gen,
                              dtype=torch.uint8) for _ in range(n)
            ]
            for key in ('img_a', 'img_b')
        })


def test_train_step_logs_every_term_and_updates_all_networks():
    model, optim = build(model_cfg())
    assert isinstance(optim, OptimWrapperDict)
    before = copy.deepcopy(model.state_dict())
    log = model.train_step(batch(n=2), optim)
    assert set(log) == LOSS_KEYS
    assert all(isinstance(v, float) and v == v and abs(v) < 1e4
               for v in log.values())
    after = model.state_dict()
    for net in ('generator_a', 'generator_b', 'discriminator_a',
                'discriminator_b'):
        keys = [k for k in before if k.startswith(net) and 'weight' in k]
        assert keys
        assert all(not torch.equal(before[k], after[k]) for k in keys), net
    assert len(model.history_a) == len(model.history_b) == 2
    # Discriminators are trainable again after the step.
    assert all(p.requires_grad
               for p in model.optimizer_group('discriminators').parameters())


def test_identity_loss_can_be_turned_off():
    model, optim = build(model_cfg(identity_loss=None))
    assert set(model.train_step(batch(), optim)) == LOSS_KEYS - {
        'idt_a', 'idt_b'
    }


@pytest.mark.parametrize('generator,kwargs,batched', [
    # None: on CUDA inputs only (slower on the CPU, README).
    (dict(norm='instance'), {}, None),
    (dict(norm='none'), dict(batch_generator_calls=True), True),
    # Dropout draws per-sample masks in either mode: batched too.
    (dict(dropout=0.5), dict(batch_generator_calls=True), True),
    (dict(norm='batch'), {}, False),
    (dict(norm='instance'), dict(batch_generator_calls=False), False),
    (dict(norm='instance'), dict(identity_loss=None), False),
])
def test_generator_calls_are_batched_only_with_per_sample_norms(
        generator, kwargs, batched):
    model = MODELS.build(model_cfg(generator=generator, **kwargs))
    assert model.batch_generator_calls is batched
    images = torch.zeros(1, 3, 8, 8)
    assert model._batches(images) is bool(batched)


def test_batched_generator_calls_are_refused_with_batch_norm():
    with pytest.raises(ValueError, match='batch statistics'):
        MODELS.build(
            model_cfg(generator=dict(norm='batch'),
                      batch_generator_calls=True))
    sync = MODELS.build(model_cfg())
    sync.generator_b = nn.SyncBatchNorm.convert_sync_batchnorm(
        MODELS.build(model_cfg(generator=dict(norm='batch'))).generator_b)
    assert mixes_samples(sync.generator_b)
    assert not mixes_samples(sync.generator_a)
    running = nn.InstanceNorm2d(8, track_running_stats=True)
    assert mixes_samples(nn.Sequential(nn.Conv2d(3, 8, 3), running))


def record_calls(model, names) -> dict:
    """Per network, the (input, output) of each call, detached."""
    calls = {name: [] for name in names}
    for name, record in calls.items():
        getattr(model, name).register_forward_hook(
            lambda m, args, out, record=record: record.append(
                (args[0].detach().clone(), out.detach().clone())))
    return calls


@pytest.mark.parametrize('norm', ['instance', 'batch'])
def test_batched_and_separate_generator_calls_take_the_same_step(norm):
    steps = {}
    for batched in (True, False) if norm == 'instance' else (None, False):
        torch.manual_seed(0)
        model, optim = build(
            model_cfg(generator=dict(norm=norm),
                      batch_generator_calls=batched))
        calls = record_calls(model, ('generator_a', 'generator_b'))
        log = model.train_step(batch(n=2), optim)
        sizes = {name: [len(inputs) for inputs, _ in records]
                 for name, records in calls.items()}
        steps[batched] = (log, sizes, model.state_dict())
    (log, calls, weights), (ref_log, ref_calls, ref_weights) = steps.values()
    # The reference's order, G_A(a), G_B(fake_b), G_B(b), G_A(fake_a),
    # G_A(b), G_B(a); batched: G_A([a, b]), G_B(fake_b), G_B([b, a]),
    # G_A(fake_a).
    assert ref_calls == dict(generator_a=[2, 2, 2], generator_b=[2, 2, 2])
    if norm == 'instance':
        assert calls == dict(generator_a=[4, 2], generator_b=[2, 4])
    else:
        assert calls == ref_calls
    assert log.keys() == ref_log.keys() == LOSS_KEYS
    for key in LOSS_KEYS:
        assert log[key] == pytest.approx(ref_log[key], rel=1e-5), key
    # Biases of convs followed by instance norm are left out: their true
    # gradient is zero, and Adam scales the rounding noise in its place,
    # which differs with the batch shape, up to steps of lr.
    keys = [key for key in ref_weights if key.endswith('weight')]
    assert len(keys) > 20
    for key in keys:
        torch.testing.assert_close(
            weights[key], ref_weights[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('batched', [False, True])
@pytest.mark.parametrize('std', [0.0, 0.1])
def test_cycle_noise_reaches_the_reconstructions_only(std, batched):
    model, optim = build(
        model_cfg(cycle_noise_std=std, batch_generator_calls=batched))
    calls = record_calls(model, ('generator_a', 'generator_b',
                                 'discriminator_a', 'discriminator_b'))
    model.train_step(batch(size=64), optim)
    # G_A's first call makes fake_b (the first image of a batched call),
    # G_B's first call reconstructs A from it; G_B's first image of its
    # second call (batched: of its only full call) is fake_a, which G_A's
    # second call reconstructs B from.
    fake_b = calls['generator_a'][0][1][:1]
    fake_a = calls['generator_b'][1][1][:1]
    for fake, rec_input, judged in (
            (fake_b, calls['generator_b'][0][0], calls['discriminator_a']),
            (fake_a, calls['generator_a'][1][0], calls['discriminator_b'])):
        noise = rec_input - fake
        if std:
            assert abs(noise.std().item() - std) < 0.01
            assert abs(noise.mean().item()) < 0.01
        else:
            assert torch.equal(noise, torch.zeros_like(noise))
        # The G step's and the D step's discriminator calls see the fake
        # itself (a history buffer's first query returns the new image).
        assert [torch.equal(inputs, fake) for inputs, _ in judged] == [
            True, False, True]


def test_cycle_noise_std_must_not_be_negative():
    with pytest.raises(ValueError, match='cycle_noise_std must be >= 0'):
        MODELS.build(model_cfg(cycle_noise_std=-0.05))


def test_paper_weights_are_the_defaults():
    model = MODELS.build(model_cfg())
    assert model.cycle_loss.loss_weight == 10.0
    assert model.identity_loss.loss_weight == 5.0
    assert model.gan_loss.gan_type == 'lsgan'
    assert model.history_a.buffer_size == 50


def test_test_step_translates_each_image_by_its_domain():
    model, _ = build(model_cfg())
    model.eval()
    images = batch(n=3)['inputs']['img_a']
    samples = [
        BaseDataElement(domain=d, img_path=f'{i}.png')
        for i, d in enumerate('aba')
    ]
    outputs = model.test_step(dict(inputs=dict(img=images),
                                   data_samples=samples))
    assert [o.domain for o in outputs] == ['a', 'b', 'a']
    assert [o.img_path for o in outputs] == ['0.png', '1.png', '2.png']
    prep = model.data_preprocessor
    for image, sample, out in zip(images, samples, outputs):
        assert torch.equal(out.real_img, image)
        x = prep.normalize(image[None])
        direction = 'a2b' if sample.domain == 'a' else 'b2a'
        back = 'b2a' if direction == 'a2b' else 'a2b'
        fake = model(x, mode='tensor', direction=direction)
        rec = model(fake, mode='tensor', direction=back)
        assert torch.equal(out.fake_img, prep.to_uint8(fake)[0])
        # rec is computed from the float fake, not the rounded one.
        assert torch.equal(out.rec_img, prep.to_uint8(rec)[0])
        assert out.fake_img.dtype == torch.uint8


def test_forward_refuses_loss_mode_and_bad_direction():
    model = MODELS.build(model_cfg())
    with pytest.raises(ValueError, match='train_step'):
        model(torch.zeros(1, 3, 32, 32), mode='loss')
    with pytest.raises(ValueError, match='direction'):
        model(torch.zeros(1, 3, 32, 32), direction='a2a')


# --- The paper's step in plain PyTorch, for the 256 px equivalence test ---


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    src_params, dst_params = list(src.parameters()), list(dst.parameters())
    assert [p.shape for p in src_params] == [p.shape for p in dst_params]
    with torch.no_grad():
        for s, d in zip(src_params, dst_params):
            d.copy_(s)


class PlainPool:
    """The reference ImagePool, pool not yet full (first step)."""

    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, images):
        assert len(self.images) < self.size
        self.images.append(images.detach())
        return images.detach()


def plain_cyclegan_step(G_A, G_B, D_A, D_B, real_A, real_B):
    """One step of the paper's CycleGAN, written out like the reference."""
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    lambda_A = lambda_B = 10.0
    lambda_idt = 0.5

    def gan(pred, real):
        return mse(pred, torch.full_like(pred, 1.0 if real else 0.0))

    opt_G = torch.optim.Adam(
        list(G_A.parameters()) + list(G_B.parameters()), 2e-4,
        betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(
        list(D_A.parameters()) + list(D_B.parameters()), 2e-4,
        betas=(0.5, 0.999))
    fake_B = G_A(real_A)
    rec_A = G_B(fake_B)
    fake_A = G_B(real_B)
    rec_B = G_A(fake_A)
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(False)
    opt_G.zero_grad()
    losses = dict(
        idt_a=l1(G_A(real_B), real_B) * lambda_B * lambda_idt,
        idt_b=l1(G_B(real_A), real_A) * lambda_A * lambda_idt,
        g_adv_a=gan(D_A(fake_B), True),
        g_adv_b=gan(D_B(fake_A), True),
        cycle_a=l1(rec_A, real_A) * lambda_A,
        cycle_b=l1(rec_B, real_B) * lambda_B)
    sum(losses.values()).backward()
    opt_G.step()
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(True)
    opt_D.zero_grad()
    pool_A, pool_B = PlainPool(), PlainPool()
    fake_B = pool_B.query(fake_B)
    loss_D_A = (gan(D_A(real_B), True) + gan(D_A(fake_B.detach()), False))
    loss_D_A = loss_D_A * 0.5
    loss_D_A.backward()
    fake_A = pool_A.query(fake_A)
    loss_D_B = (gan(D_B(real_A), True) + gan(D_B(fake_A.detach()), False))
    loss_D_B = loss_D_B * 0.5
    loss_D_B.backward()
    opt_D.step()
    losses.update(d_a=loss_D_A, d_b=loss_D_B)
    return {k: v.item() for k, v in losses.items()}


@pytest.mark.parametrize('batch_generator_calls', [True, False])
def test_256px_step_matches_the_paper_in_plain_pytorch(batch_generator_calls):
    random.seed(0)
    torch.manual_seed(0)
    model, optim = build(
        model_cfg(base_channels=64, num_blocks=9,
                  batch_generator_calls=batch_generator_calls))
    assert model.batch_generator_calls is batch_generator_calls
    nets = dict(
        G_A=(model.generator_a, reference_generator(64, 9)),
        G_B=(model.generator_b, reference_generator(64, 9)),
        D_A=(model.discriminator_a, reference_discriminator(64, 3)),
        D_B=(model.discriminator_b, reference_discriminator(64, 3)))
    for ours, plain in nets.values():
        copy_weights(ours, plain)
    data = batch(size=256)
    real_A, real_B = (model.data_preprocessor.normalize(
        torch.stack(data['inputs'][k])) for k in ('img_a', 'img_b'))

    ours = model.train_step(data, optim)
    plain = plain_cyclegan_step(*(p for _, p in nets.values()), real_A,
                                real_B)

    assert set(ours) == set(plain) == LOSS_KEYS
    for key in LOSS_KEYS:
        assert ours[key] == pytest.approx(plain[key], rel=1e-4), key
    # The same gradients: ours from Adam's first moment, (1 - beta1) * g.
    group = dict(G='generators', D='discriminators')
    for name, (our_net, plain_net) in nets.items():
        state = optim[group[name[0]]].optimizer.state
        grads = [state[p]['exp_avg'] / 0.5 for p in our_net.parameters()]
        scale = max(q.grad.abs().max() for q in plain_net.parameters())
        for g, q in zip(grads, plain_net.parameters()):
            torch.testing.assert_close(
                g, q.grad, rtol=1e-3, atol=1e-4 * scale, msg=name)
        # Both optimizers took the same step. Adam's first one is
        # -lr * g / (|g| + eps), +-lr wherever |g| >> eps, so the sign of a
        # gradient that is zero up to rounding decides it (the biases before
        # an instance norm): batched calls round differently, and there
        # only the size of the step is checked.
        for p, q in zip(our_net.parameters(), plain_net.parameters()):
            if not batch_generator_calls:
                assert torch.allclose(p, q, atol=1e-5), name
                continue
            decided = q.grad.abs() > 1e-3 * scale
            assert torch.allclose(p[decided], q[decided], atol=1e-5), name
            assert (p - q).abs().max() <= 2 * 2e-4 * (1 + 1e-3), name
