"""Another OpenMMLab package builds its own model from our parts.

The test writes a small package, ``myproj``, into a temporary folder: its
own scope and registry child, and a one-sided GAN derived from our
``BaseTranslationModel`` whose config names ``cyclegan_plugin.*`` parts.
Its config inherits our runtime config (by the path ``config_path``
gives) under its own ``default_scope``; it trains through
``tools/train.py``, resumes, and is evaluated by ``tools/test.py``, each
as a fresh process.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cyclegan_plugin import config_path
from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.engine import load_checkpoint_file

REPO = Path(__file__).resolve().parents[2]

REGISTRY = '''
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='myproj',
                  locations=['myproj.models'])
'''

MODELS = '''
import torch

from cyclegan_plugin.models import BaseTranslationModel
from myproj.registry import MODELS


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
experiment_name = 'one_sided'
log_level = 'WARNING'
model = dict(
    type='myproj.OneSidedGAN',
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
    return output


def test_a_one_sided_gan_of_another_package_trains_resumes_and_tests(tmp_path):
    make_toy_faces(tmp_path / 'data', size=32, n_train=4, n_test=2, seed=0)
    write_package(tmp_path)
    config = tmp_path / 'one_sided.py'
    config.write_text(
        CONFIG.format(
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
    log = run_tool(
        'train.py',
        str(config),
        '--work-dir',
        str(work),
        '--resume',
        root=tmp_path)
    assert 'Traceback' not in log
    final = load_checkpoint_file(str(work / 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    assert set(final['state_dict']) >= {
        'generator.model.0.weight', 'discriminator.model.0.weight',
        'history._extra_state'
    }

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
    # No reconstruction in a one-sided model: real and fake panels only.
    panels = sorted(p.name for p in (out / 'gallery' / 'a2b').iterdir())
    assert panels and all(
        p.endswith(('_real.png', '_fake.png')) for p in panels)
    assert (out / 'gallery_a2b.png').is_file()
