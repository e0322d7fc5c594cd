"""tools/train.py: the README's tiny-run recipe and --tensorboard."""
import runpy
import uuid
from pathlib import Path

import pytest
from mmengine.config import Config
from tensorboard.backend.event_processing.event_accumulator import \
    EventAccumulator

from cyclegan_plugin.datasets.toy_faces import make_toy_faces

REPO = Path(__file__).resolve().parents[2]
train = runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='train')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('toy_faces')
    make_toy_faces(root, size=32, n_train=2, n_test=2)
    return str(root)


def run_train(config: str, work_dir: Path, *args: str) -> None:
    options = [a for a in args if '=' in a]
    flags = [a for a in args if '=' not in a]
    train['main']([
        str(REPO / 'configs' / config), '--work-dir',
        str(work_dir), *flags, '--cfg-options',
        f'experiment_name=test-{uuid.uuid4().hex}', *options
    ])


def saved_config(work_dir: Path) -> Config:
    [path] = work_dir.glob('*/vis_data/config.py')
    return Config.fromfile(str(path))


def test_the_tiny_run_recipe_shrinks_the_paper_config(data_root, tmp_path):
    # README, "Make a run tiny": image size, width, blocks, iterations on
    # the 200-epoch paper config; no max_epochs=None needed.
    work_dir = tmp_path / 'tiny'
    run_train('cyclegan_selfie2anime.py', work_dir, 'load_size=36',
              'crop_size=32', 'model.generator.base_channels=8',
              'model.discriminator.base_channels=8',
              'model.generator.num_blocks=1', 'train_cfg.max_iters=2',
              f'data_root={data_root}', 'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False')
    assert (work_dir / 'iter_2.pth').is_file()
    cfg = saved_config(work_dir)
    resize, crop, _ = cfg.train_dataloader.dataset.pipeline[1]['transforms']
    assert resize['scale'] == (36, 36) and crop['crop_size'] == 32
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == (32, 32)
    assert cfg.train_cfg.max_iters == 2 and 'max_epochs' not in cfg.train_cfg
    assert cfg.model.generator.num_blocks == 1


def test_tensorboard_flag_writes_an_event_file(data_root, tmp_path):
    work_dir = tmp_path / 'tb'
    run_train('cyclegan_toyfaces.py', work_dir, '--tensorboard',
              f'data_root={data_root}', 'train_cfg.max_iters=2',
              'default_hooks.logger.interval=1',
              'model.generator.base_channels=8',
              'model.generator.num_blocks=1',
              'model.discriminator.base_channels=8')
    [events] = work_dir.glob('*/vis_data/events.out.tfevents.*')
    accumulator = EventAccumulator(str(events.parent))
    accumulator.Reload()
    assert [event.step for event in accumulator.Scalars('g_adv_a')] == [1, 2]
    # LocalVisBackend still writes its scalars.json next to it.
    assert (events.parent / 'scalars.json').is_file()


@pytest.mark.parametrize('sampler, restarts', [
    ('cyclegan_plugin.ResumableInfiniteSampler', False),
    ('DefaultSampler', True),
])
def test_the_demo_config_runs_past_its_data_without_a_restart_warning(
        data_root, tmp_path, sampler, restarts):
    # 2 training images, batches of 1, 5 iterations: the stream passes the
    # end of the dataset twice. mmengine warns ("use InfiniteSampler") when
    # a dataloader runs out; the demo's sampler never does. DefaultSampler
    # shows that the check sees the warning.
    work_dir = tmp_path / 'demo'
    run_train('cyclegan_toyfaces.py', work_dir, f'data_root={data_root}',
              'train_cfg.max_iters=5', 'train_cfg.val_interval=5',
              'train_dataloader.batch_size=1',
              f'train_dataloader.sampler.type={sampler}',
              'model.generator.base_channels=8',
              'model.generator.num_blocks=1',
              'model.discriminator.base_channels=8')
    assert (work_dir / 'iter_5.pth').is_file()
    [log] = work_dir.glob('*/*.log')
    assert ('Reach the end of the dataloader' in log.read_text()) is restarts
