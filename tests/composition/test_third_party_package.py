"""Another OpenMMLab package builds its own models from our parts.

The test writes a small package, ``myproj``, into a temporary folder: its
own scope with a child of every mmengine registry, and two one-sided GANs
whose configs name ``cyclegan_plugin.*`` parts: ``StandaloneOneSidedGAN``
on mmengine's ``BaseModel`` alone (it declares by hand what our engine
reads), and ``OneSidedGAN`` derived from our ``BaseTranslationModel``.
Their config inherits our runtime config (by the path ``config_path``
gives) under the package's own ``default_scope``; each model trains
through ``tools/train.py``, resumes, is evaluated by ``tools/test.py`` and
translates with ``tools/translate.py``, each a fresh process, and none of
them warns that a registry lookup failed.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from cyclegan_plugin import config_path
from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.engine import load_checkpoint_file

REPO = Path(__file__).resolve().parents[2]

REGISTRY = '''
import mmengine.registry as root
from mmengine.registry import Registry


def _child(parent, locations=()):
    return Registry(parent.name, parent=parent, scope='myproj',
                    locations=list(locations))


# A child of every mmengine root registry, as OpenMMLab projects have:
# mmengine looks each type up in the registry of the default scope first,
# and where that scope has none it warns and falls back.
MODELS = _child(root.MODELS, ['myproj.models'])
RUNNERS = _child(root.RUNNERS)
RUNNER_CONSTRUCTORS = _child(root.RUNNER_CONSTRUCTORS)
LOOPS = _child(root.LOOPS)
HOOKS = _child(root.HOOKS)
STRATEGIES = _child(root.STRATEGIES)
DATASETS = _child(root.DATASETS)
DATA_SAMPLERS = _child(root.DATA_SAMPLERS)
TRANSFORMS = _child(root.TRANSFORMS)
MODEL_WRAPPERS = _child(root.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(root.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(root.OPTIMIZERS)
OPTIM_WRAPPERS = _child(root.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(root.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(root.PARAM_SCHEDULERS)
METRICS = _child(root.METRICS)
EVALUATOR = _child(root.EVALUATOR)
TASK_UTILS = _child(root.TASK_UTILS)
VISUALIZERS = _child(root.VISUALIZERS)
VISBACKENDS = _child(root.VISBACKENDS)
LOG_PROCESSORS = _child(root.LOG_PROCESSORS)
INFERENCERS = _child(root.INFERENCERS)
FUNCTIONS = _child(root.FUNCTIONS)
'''

MODELS = '''
import torch
from mmengine.model import BaseModel

from cyclegan_plugin.models import (BaseTranslationModel,
                                    CycleGANDataPreprocessor)
from myproj.registry import MODELS


@MODELS.register_module()
class StandaloneOneSidedGAN(BaseModel):
    """G: A -> B with an adversarial loss and an L1 tie to the input, on
    mmengine's BaseModel alone. It declares what cyclegan_plugin's engine
    reads: OPTIMIZER_GROUPS (optimizer constructor), generator_for and
    translate (translator), and test outputs with real_img and fake_img
    (hooks, metrics)."""

    OPTIMIZER_GROUPS = dict(generator=('generator',),
                            discriminator=('discriminator',))

    def __init__(self, generator, discriminator, gan_loss, history,
                 l1_weight=1.0):
        super().__init__(data_preprocessor=dict(
            type='cyclegan_plugin.CycleGANDataPreprocessor'))
        self.generator = MODELS.build(generator)
        self.discriminator = MODELS.build(discriminator)
        self.gan_loss = MODELS.build(gan_loss)
        self.history = MODELS.build(history)
        self.l1_weight = l1_weight

    def train_step(self, data, optim_wrapper):
        batch = self.data_preprocessor(data, True)['inputs']
        g_optim = optim_wrapper['generator']
        d_optim = optim_wrapper['discriminator']
        # G step: D passes gradients back to the fake, not into itself.
        self.discriminator.requires_grad_(False)
        with g_optim.optim_context(self):
            fake_b = self.generator(batch['img_a'])
            g_adv = self.gan_loss(self.discriminator(fake_b), True)
            l1 = self.l1_weight * (fake_b - batch['img_a']).abs().mean()
        g_optim.update_params(g_adv + l1)
        self.discriminator.requires_grad_(True)
        with d_optim.optim_context(self):
            fake = self.history.query(fake_b)  # detached
            d = 0.5 * (self.gan_loss(self.discriminator(batch['img_b']),
                                     True, is_disc=True) +
                       self.gan_loss(self.discriminator(fake), False,
                                     is_disc=True))
        d_optim.update_params(d)
        return dict(g_adv=g_adv.item(), l1=l1.item(), d=d.item())

    @torch.no_grad()
    def test_step(self, data):
        data = self.data_preprocessor(data, False)
        images, samples = data['inputs']['img'], data['data_samples']
        is_a = torch.tensor([s.domain == 'a' for s in samples])
        fake = images.clone()  # B images pass through: one direction only
        if is_a.any():
            fake[is_a] = self.generator(images[is_a])
        outputs = []
        for sample, real_img, fake_img in zip(
                samples, CycleGANDataPreprocessor.to_uint8(images).cpu(),
                CycleGANDataPreprocessor.to_uint8(fake).cpu()):
            output = sample.clone()
            output.set_data(dict(real_img=real_img, fake_img=fake_img))
            outputs.append(output)
        return outputs

    val_step = test_step

    def generator_for(self, direction):
        if direction != 'a2b':
            raise ValueError(f'translates a2b only, got {direction!r}')
        return self.generator

    def translate(self, images, direction='a2b'):
        return self.generator_for(direction)(images)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode != 'tensor':
            raise ValueError('train with train_step, test with test_step')
        return self.translate(inputs)


@MODELS.register_module()
class OneSidedGAN(BaseTranslationModel):
    """G: A -> B with an adversarial loss and an L1 tie to the input."""

    GENERATORS = dict(a2b='generator')
    OPTIMIZER_GROUPS = dict(generator=('generator',),
                            discriminator=('discriminator',))

    def __init__(self, generator, discriminator, gan_loss, history,
                 l1_weight=1.0):
        super().__init__(data_preprocessor=dict(
            type='cyclegan_plugin.CycleGANDataPreprocessor'))
        self.generator = self.build_part(generator)
        self.discriminator = self.build_part(discriminator)
        self.gan_loss = self.build_part(gan_loss)
        self.history = self.build_part(history)
        self.l1_weight = l1_weight

    def train_steps(self):
        return [('generator', self._generator_step),
                ('discriminator', self._discriminator_step)]

    def _generator_step(self, batch):
        batch['fake_b'] = fake = self.generator(batch['img_a'])
        return dict(
            g_adv=self.gan_loss(self.discriminator(fake), True),
            l1=self.l1_weight * (fake - batch['img_a']).abs().mean())

    def _discriminator_step(self, batch):
        fake = self.history.query(batch['fake_b'])
        real = self.gan_loss(self.discriminator(batch['img_b']), True,
                             is_disc=True)
        return dict(d=0.5 * (real + self.gan_loss(
            self.discriminator(fake), False, is_disc=True)))

    def predict(self, images, is_a):
        return dict(fake_img=self.generator(images))
'''

# Text-style configs cannot call functions, so the absolute path that
# cyclegan_plugin.config_path returns is written into the config.
CONFIG = '''
_base_ = [{runtime!r}]
custom_imports = dict(imports=['myproj.models'], allow_failed_imports=False)
default_scope = 'myproj'
experiment_name = {model!r}
log_level = 'WARNING'
model = dict(
    type='myproj.{model}',
    generator=dict(type='cyclegan_plugin.ResnetGenerator', base_channels=8,
                   num_blocks=1),
    discriminator=dict(type='cyclegan_plugin.PatchDiscriminator',
                       base_channels=8, num_layers=1),
    gan_loss=dict(type='cyclegan_plugin.GANLoss', gan_type='lsgan'),
    history=dict(type='cyclegan_plugin.ImageHistoryBuffer', buffer_size=2))
adam = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
optim_wrapper = dict(
    constructor='cyclegan_plugin.PerGroupOptimWrapperConstructor',
    generator=adam, discriminator=adam)
pipeline = [
    dict(type='cyclegan_plugin.LoadRGBImage', keys=['img_a', 'img_b']),
    dict(type='cyclegan_plugin.PackCycleGANInputs'),
]
test_pipeline = [
    dict(type='cyclegan_plugin.LoadRGBImage', keys=['img', 'gt_img']),
    dict(type='cyclegan_plugin.PackCycleGANInputs'),
]
train_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='cyclegan_plugin.ResumableInfiniteSampler'),
    dataset=dict(type='cyclegan_plugin.UnpairedImageDataset',
                 data_root={data_root!r}, pipeline=pipeline))
train_cfg = dict(type='cyclegan_plugin.ExactResumeTrainLoop', max_iters=4)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
custom_hooks = [
    dict(type='cyclegan_plugin.SampleGridHook', interval=2, num_samples=1)
]
test_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='cyclegan_plugin.UnpairedImageDataset',
                 data_root={data_root!r}, test_mode=True, paired=True,
                 pipeline=test_pipeline))
test_cfg = dict(type='TestLoop')
test_evaluator = [dict(type='cyclegan_plugin.PairedPSNR')]
'''


def write_package(root: Path) -> None:
    package = root / 'myproj'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'registry.py').write_text(REGISTRY)
    (package / 'models.py').write_text(textwrap.dedent(MODELS))


def run_tool(tool: str, *args: str, root: Path) -> str:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(root), str(REPO)]),
        OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / tool), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    # Every lookup under default_scope='myproj' finds myproj's registry.
    assert 'Failed to search registry' not in output, output[-3000:]
    return output


@pytest.mark.parametrize('model', ['StandaloneOneSidedGAN', 'OneSidedGAN'])
def test_a_one_sided_gan_of_another_package_trains_resumes_and_tests(
        model, tmp_path):
    make_toy_faces(tmp_path / 'data', size=32, n_train=4, n_test=2, seed=0)
    write_package(tmp_path)
    config = tmp_path / f'{model}.py'
    config.write_text(
        CONFIG.format(
            model=model,
            runtime=config_path('_base_/default_runtime.py'),
            data_root=str(tmp_path / 'data')))
    work = tmp_path / 'work'

    run_tool(
        'train.py',
        str(config),
        '--work-dir',
        str(work),
        '--cfg-options',
        'train_cfg.max_iters=2',
        root=tmp_path)
    first = load_checkpoint_file(str(work / 'iter_2.pth'))
    assert set(first['optimizer']) == {'generator', 'discriminator'}
    run_tool(
        'train.py',
        str(config),
        '--work-dir',
        str(work),
        '--resume',
        root=tmp_path)
    final = load_checkpoint_file(str(work / 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    assert set(final['state_dict']) >= {
        'generator.model.0.weight', 'discriminator.model.0.weight',
        'history._extra_state'
    }
    # Sample grids of the test images, from both runs.
    assert sorted(p.name for p in (work / 'vis').iterdir()) == [
        'iter_000002.png', 'iter_000004.png'
    ]
    # The resumed run went on from iteration 2's weights.
    weight = 'generator.model.0.weight'
    assert not torch.equal(first['state_dict'][weight],
                           final['state_dict'][weight])

    out = tmp_path / 'results'
    run_tool(
        'test.py',
        str(config),
        str(work / 'iter_4.pth'),
        '--work-dir',
        str(work),
        '--out',
        str(out),
        root=tmp_path)
    metrics = json.loads((out / 'metrics.json').read_text())['metrics']
    assert {'psnr_a2b', 'psnr_id_a2b'} <= set(metrics)
    # No reconstruction in a one-sided model: real and fake panels, and
    # the paired test set's gt and error map.
    panels = sorted(p.name for p in (out / 'gallery' / 'a2b').iterdir())
    assert panels and {p.rsplit('_', 1)[1] for p in panels} == {
        'real.png', 'fake.png', 'gt.png', 'error.png'}
    assert (out / 'gallery_a2b.png').is_file()

    translated = tmp_path / 'translated'
    run_tool(
        'translate.py',
        str(config),
        str(work / 'iter_4.pth'),
        str(tmp_path / 'data' / 'testA'),
        '--out',
        str(translated),
        root=tmp_path)
    sources = sorted(p.stem for p in (tmp_path / 'data' / 'testA').iterdir())
    assert sorted(p.stem for p in translated.iterdir()) == sources
