from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.hooks import SampleGridHook
from cyclegan_plugin.registry import MODELS
from cyclegan_plugin.visualization.grid import GAP

SIZE = 32
MODEL = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=8, num_layers=1))
ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy')
    make_toy_faces(root, size=SIZE, n_train=2, n_test=3, seed=0)
    return root


def dataset_cfg(data_root, test_mode=True):
    pipeline = (['img'] if test_mode else ['img_a', 'img_b'])
    return dict(
        type='UnpairedImageDataset',
        data_root=str(data_root),
        test_mode=test_mode,
        pipeline=[
            dict(type='LoadRGBImage', keys=pipeline),
            dict(type='PackCycleGANInputs')
        ])


def read_rgb(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def find_rows(grid, image):
    """Top rows at which ``image`` appears in the grid's first column."""
    height = image.shape[0]
    return [
        y for y in range(grid.shape[0] - height + 1)
        if np.array_equal(grid[y:y + height, :image.shape[1]], image)
    ]


def test_grids_during_and_at_the_end_of_training(data_root, tmp_path,
                                                 single_thread):
    work_dir = tmp_path / 'work'
    runner = Runner(
        model=MODEL,
        work_dir=str(work_dir),
        experiment_name=f'vis-{tmp_path.name}',
        train_dataloader=dict(
            batch_size=1,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dataset_cfg(data_root, test_mode=False)),
        train_cfg=dict(type='ExactResumeTrainLoop', max_iters=3),
        optim_wrapper=dict(
            constructor='PerGroupOptimWrapperConstructor',
            generators=ADAM,
            discriminators=ADAM),
        test_dataloader=dict(
            batch_size=1,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dataset_cfg(data_root)),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=dict(type='CycleConsistency'),
        custom_hooks=[
            dict(type='SampleGridHook', interval=2, num_samples=2)
        ],
        visualizer=dict(
            type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=100)),
        default_scope='cyclegan_plugin',
        log_level='WARNING')
    runner.train()

    # Every 2 iterations, and once more at the end (iteration 3).
    grids = sorted(p.name for p in (work_dir / 'vis').iterdir())
    assert grids == ['iter_000002.png', 'iter_000003.png']
    grid = read_rgb(work_dir / 'vis' / 'iter_000003.png')
    assert grid.shape[1] == 3 * SIZE + 2 * GAP

    # Rows of real A, then rows of real B, each with its own header.
    rows = [
        find_rows(grid, read_rgb(data_root / folder / f'0000{i}.png'))
        for folder in ('testA', 'testB') for i in range(2)
    ]
    assert all(len(found) == 1 for found in rows), rows
    tops = [found[0] for found in rows]
    assert tops[1] == tops[0] + SIZE + GAP
    assert tops[2] > tops[1] + SIZE + GAP  # the B header in between
    assert tops[3] == tops[2] + SIZE + GAP
    assert grid.shape[0] == tops[3] + SIZE

    # The same grid went to the visualizer's backends.
    logged = list(work_dir.glob('*/vis_data/vis_image/cyclegan_samples_3.png'))
    assert len(logged) == 1
    np.testing.assert_array_equal(read_rgb(logged[0]), grid)


class RecordingVisualizer:

    def __init__(self):
        self.images = []

    def add_image(self, name, image, step):
        self.images.append((name, image.shape, step))


def fake_runner(tmp_path, cfg=None):
    model = MODELS.build(MODEL)
    model.train()
    return SimpleNamespace(
        model=model,
        work_dir=str(tmp_path),
        cfg=Config(cfg or {}),
        iter=0,
        visualizer=RecordingVisualizer())


def test_chosen_indices_and_explicit_dataset(data_root, tmp_path):
    runner = fake_runner(tmp_path)
    hook = SampleGridHook(
        indices=[4, 1], dataset=dataset_cfg(data_root))
    hook.before_train(runner)
    path = hook.visualize(runner, step=7)
    assert path == str(tmp_path / 'vis' / 'iter_000007.png')
    grid = read_rgb(path)
    # A rows first: testA/00001 (index 1), then testB/00001 (index 3 + 1).
    top_a = find_rows(grid, read_rgb(data_root / 'testA' / '00001.png'))
    top_b = find_rows(grid, read_rgb(data_root / 'testB' / '00001.png'))
    assert len(top_a) == len(top_b) == 1 and top_a[0] < top_b[0]
    assert runner.visualizer.images == [('cyclegan_samples', grid.shape, 7)]
    assert runner.model.training  # train mode is restored


def test_uses_the_val_dataloader_of_the_config(data_root, tmp_path):
    cfg = dict(val_dataloader=dict(dataset=dataset_cfg(data_root)))
    runner = fake_runner(tmp_path, cfg)
    hook = SampleGridHook(num_samples=1, out_dir=str(tmp_path))
    hook.before_train(runner)
    grid = read_rgb(hook.visualize(runner, step=1))
    assert len(find_rows(grid,
                         read_rgb(data_root / 'testA' / '00000.png'))) == 1
    assert len(find_rows(grid,
                         read_rgb(data_root / 'testB' / '00000.png'))) == 1


def test_clear_errors(data_root, tmp_path):
    with pytest.raises(ValueError, match='test_mode=True'):
        SampleGridHook(
            dataset=dataset_cfg(data_root, test_mode=False)).before_train(
                fake_runner(tmp_path))
    with pytest.raises(ValueError, match='val_dataloader or test_dataloader'):
        SampleGridHook().before_train(fake_runner(tmp_path))
    with pytest.raises(ValueError, match='positive'):
        SampleGridHook(interval=0)
