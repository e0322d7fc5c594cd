"""Our parts inside MMagic, and MMagic's parts inside ours.

1. MMagic's own ``CycleGAN``, from MMagic's horse2zebra config under
   ``default_scope='mmagic'``, trains with our generator and discriminator
   through mmengine's ``Runner`` as MMagic's ``tools/train.py`` sets it up.
2. Our ``CycleGAN`` trains with MMagic's ``ResnetGenerator`` through our
   ``tools/train.py``.
"""
import copy
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 32


def write_unpaired_folders(root: str, count: int = 3) -> None:
    """``trainA``/``trainB``/``testA``/``testB`` of random 40 px images."""
    rng = np.random.default_rng(0)
    for split in ('trainA', 'trainB', 'testA', 'testB'):
        folder = osp.join(root, split)
        os.makedirs(folder)
        for i in range(count):
            pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(osp.join(folder, f'{i}.png'))


def mmagic_config_file(mmagic, name: str) -> str:
    return osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs', name)


def test_mmagic_cyclegan_trains_with_our_networks(mmagic, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cyclegan_plugin.models.discriminators import PatchDiscriminator
    from cyclegan_plugin.models.generators import ResnetGenerator

    data_root = str(tmp_path / 'horse2zebra')
    write_unpaired_folders(data_root)
    cfg = Config.fromfile(
        mmagic_config_file(
            mmagic,
            'cyclegan/cyclegan_lsgan-resnet-in_1xb1-270kiters_horse2zebra.py'))
    assert cfg.default_scope == 'mmagic'
    cfg.model.generator = dict(
        type='cyclegan_plugin.ResnetGenerator', base_channels=8, num_blocks=1)
    cfg.model.discriminator = dict(
        type='cyclegan_plugin.PatchDiscriminator',
        base_channels=8,
        num_layers=1)
    broadcaster = cfg.train_dataloader.dataset.pipeline[2]
    broadcaster.transforms = [
        dict(type='Resize', scale=(SIZE + 4, SIZE + 4)),
        dict(type='Crop', keys=['img'], crop_size=(SIZE, SIZE),
             random_crop=True),
    ]
    cfg.train_dataloader.update(
        batch_size=1, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_cfg = dict(by_epoch=False, max_iters=3, val_interval=1000)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.custom_hooks = []
    cfg.param_scheduler = None
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'mmagic-interop-{id(cfg)}'

    runner = Runner.from_cfg(cfg)
    generator = runner.model.generators['zebra']
    discriminator = runner.model.discriminators['zebra']
    assert type(generator) is ResnetGenerator
    assert type(discriminator) is PatchDiscriminator
    before = copy.deepcopy(generator.state_dict())
    runner.train()
    after = generator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    losses = runner.message_hub.log_scalars
    for key in ('train/loss_gan_g_zebra', 'train/cycle_loss',
                'train/loss_gan_d_zebra'):
        assert key in losses, sorted(losses)
        assert np.isfinite(losses[key].current())


def test_our_cyclegan_trains_with_mmagics_generator(mmagic, tmp_path):
    from cyclegan_plugin import config_path
    from cyclegan_plugin.datasets.toy_faces import make_toy_faces
    from cyclegan_plugin.engine import load_checkpoint_file

    make_toy_faces(tmp_path / 'data', size=SIZE, n_train=4, n_test=2)
    config = tmp_path / 'cyclegan_mmagic_generator.py'
    config.write_text(f"""
_base_ = [{config_path('cyclegan_toyfaces.py')!r}]
train_dataloader = dict(dataset=dict(data_root={str(tmp_path / 'data')!r}))
val_dataloader = dict(dataset=dict(data_root={str(tmp_path / 'data')!r}))
test_dataloader = val_dataloader
model = dict(
    generator=dict(
        _delete_=True,
        type='mmagic.ResnetGenerator',
        in_channels=3,
        out_channels=3,
        base_channels=8,
        num_blocks=1,
        norm_cfg=dict(type='IN'),
        padding_mode='reflect'),
    discriminator=dict(base_channels=8, num_layers=1))
train_cfg = dict(max_iters=2, val_interval=100)
""")
    work_dir = tmp_path / 'work'
    result = subprocess.run([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dir)
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = load_checkpoint_file(str(work_dir / 'iter_2.pth'))
    weights = [k for k in checkpoint['state_dict'] if 'generator_a' in k]
    # MMagic's generator wraps each conv in an mmcv ConvModule (`.conv.`).
    assert weights and any('.conv.' in key for key in weights), weights[:3]
    assert "type='mmagic.ResnetGenerator'" in checkpoint['meta']['cfg']
