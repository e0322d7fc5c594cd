import copy
import random

import pytest
import torch
from mmengine.optim import OptimWrapperDict
from mmengine.structures import BaseDataElement
from torch import nn

from cyclegan_plugin.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

LOSS_KEYS = {
    'g_adv_a', 'g_adv_b', 'cycle_a', 'cycle_b', 'idt_a', 'idt_b', 'd_a', 'd_b'
}
ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))


def model_cfg(base_channels=8, num_blocks=1, **kwargs):
    return dict(
        type='CycleGAN',
        generator=dict(
            type='ResnetGenerator', base_channels=base_channels,
            num_blocks=num_blocks),
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


class PlainResnetBlock(nn.Module):

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3),
            nn.InstanceNorm2d(c), nn.ReLU(True), nn.ReflectionPad2d(1),
            nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def plain_generator(ngf=64, blocks=9):
    layers = [
        nn.ReflectionPad2d(3),
        nn.Conv2d(3, ngf, 7),
        nn.InstanceNorm2d(ngf),
        nn.ReLU(True)
    ]
    for mult in (1, 2):
        layers += [
            nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1),
            nn.InstanceNorm2d(ngf * mult * 2),
            nn.ReLU(True)
        ]
    layers += [PlainResnetBlock(ngf * 4) for _ in range(blocks)]
    for mult in (4, 2):
        layers += [
            nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, 1),
            nn.InstanceNorm2d(ngf * mult // 2),
            nn.ReLU(True)
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def plain_discriminator(ndf=64):
    return nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.InstanceNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1),
        nn.InstanceNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1), nn.InstanceNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 8, 1, 4, 1, 1))


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


def test_256px_step_matches_the_paper_in_plain_pytorch():
    random.seed(0)
    torch.manual_seed(0)
    model, optim = build(model_cfg(base_channels=64, num_blocks=9))
    nets = dict(
        G_A=(model.generator_a, plain_generator()),
        G_B=(model.generator_b, plain_generator()),
        D_A=(model.discriminator_a, plain_discriminator()),
        D_B=(model.discriminator_b, plain_discriminator()))
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
    # Both optimizers took the same step.
    for name, (our_net, plain_net) in nets.items():
        for p, q in zip(our_net.parameters(), plain_net.parameters()):
            assert torch.allclose(p, q, atol=1e-5), name
