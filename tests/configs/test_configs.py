"""Every config file loads and builds; the paper's config trains."""
import json
import runpy
from pathlib import Path

import pytest
import torch

from cyclegan_plugin import registry
from cyclegan_plugin.cli import load_config
from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.engine import load_checkpoint_file
from cyclegan_plugin.engine.memory_format import wants_channels_last
from cyclegan_plugin.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob(
    '*.py'))
LEAVES = [c for c in CONFIGS if '_base_' not in c]


@pytest.fixture(scope='module')
def tiny_faces(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('tiny_faces')
    make_toy_faces(root, size=32, n_train=3, n_test=2)
    return str(root)


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_file_loads(config):
    cfg = load_config(str(REPO / config))
    assert len(cfg.keys()) > 0


@pytest.mark.parametrize('config', LEAVES)
def test_leaf_configs_build_model_and_datasets(config, tiny_faces):
    cfg = load_config(str(REPO / config), {'data_root': tiny_faces})
    assert cfg.default_scope == 'cyclegan_plugin'
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == ('CUT' if 'cut' in config else 'CycleGAN')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg[loader] is None:  # no validation during training
            continue
        dataset = DATASETS.build(cfg[loader].dataset)
        assert len(dataset) > 0
        assert dataset[0]['inputs']


@pytest.mark.parametrize('capability', ['AVX2', 'AVX512'])
def test_paper_configs_train_channels_last_on_avx512_cpus_only(
        monkeypatch, capability):
    # Measured: 1.37-1.48x slower steps on an AVX2-only CPU (README).
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability',
                        lambda: capability)
    for config in LEAVES:
        setting = load_config(str(REPO / config)).get('channels_last', False)
        on_cpu = wants_channels_last(setting, 'cpu')
        if 'toyfaces' in config:  # small networks: the demo's gain on both
            assert on_cpu, config
        else:
            assert on_cpu is (capability == 'AVX512'), config
        assert not wants_channels_last(setting, 'cuda'), config


def test_selfie2anime_config_has_the_papers_settings():
    cfg = load_config(str(REPO / 'configs/cyclegan_selfie2anime.py'))
    model = MODELS.build(cfg.model)
    assert sum(p.numel()
               for p in model.generator_a.parameters()) == 11_378_179
    assert sum(p.numel()
               for p in model.discriminator_a.parameters()) == 2_764_737
    assert model.cycle_loss.loss_weight == 10
    assert model.identity_loss.loss_weight == 5
    assert model.gan_loss.gan_type == 'lsgan'
    assert model.history_a.buffer_size == 50
    assert model.cycle_noise_std == 0  # the reconstructions read the fakes
    assert cfg.train_dataloader.batch_size == 1
    for group in ('generators', 'discriminators'):
        optimizer = cfg.optim_wrapper[group].optimizer
        assert (optimizer.type, optimizer.lr,
                tuple(optimizer.betas)) == ('Adam', 2e-4, (0.5, 0.999))
    assert cfg.train_cfg.max_epochs == 200
    (decay, ) = cfg.param_scheduler
    assert (decay.begin, decay.end, decay.end_factor) == (100, 200, 0.0)
    assert decay.convert_to_iter_based


def test_selfie2anime_config_trains_on_a_tiny_folder(tmp_path, tiny_faces):
    """The real config, pointed at tiny data with ``data_root=`` alone and
    shrunk to a few 32 px iterations."""
    train = runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='t')
    pipeline = 'train_dataloader.dataset.pipeline.1.transforms'
    work_dir = tmp_path / 'work'
    train['main']([
        str(REPO / 'configs/cyclegan_selfie2anime.py'), '--work-dir',
        str(work_dir), '--cfg-options', f'data_root={tiny_faces}',
        'train_cfg.max_epochs=1', f'{pipeline}.0.scale=(36,36)',
        f'{pipeline}.1.crop_size=32', 'model.generator.base_channels=8',
        'model.generator.num_blocks=1', 'model.discriminator.base_channels=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'custom_hooks=[]'
    ])
    checkpoint = load_checkpoint_file(str(work_dir / 'iter_3.pth'))
    assert checkpoint['meta']['iter'] == 3
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert logs
    logged = [json.loads(line) for line in logs[-1].read_text().splitlines()]
    assert any('cycle_a' in entry for entry in logged)


def _type_names(node):
    """Every string under a ``type``/``runner_type``/``constructor`` key."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('type', 'runner_type', 'constructor') and isinstance(
                    value, str):
                yield value
            else:
                yield from _type_names(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _type_names(item)


@pytest.mark.parametrize('config', LEAVES)
def test_our_types_carry_the_scope_prefix(config):
    """A project with its own default_scope inherits our configs; mmengine
    then looks bare names up in that scope, where ours do not exist."""
    ours = set()
    for value in vars(registry).values():
        if isinstance(value, type(
                registry.MODELS)) and value.scope == registry.SCOPE:
            value.import_from_location()
            ours |= set(value.module_dict)
    cfg = load_config(str(REPO / config))
    bare = sorted({
        name
        for name in _type_names(cfg.to_dict()) if name in ours
    })
    assert not bare, f'{config}: prefix these with cyclegan_plugin.: {bare}'
