"""Validation metrics are logged at the iteration they were computed."""
import glob
import json
import os.path as osp

from tiny_training import tiny_cfg

from cyclegan_plugin.cli import build_runner
from cyclegan_plugin.datasets.toy_faces import make_toy_faces


def test_validation_metrics_land_at_their_iterations(tmp_path):
    make_toy_faces(tmp_path / 'data', size=32, n_train=4, n_test=2, seed=0)
    val_loader = dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='UnpairedImageDataset',
            data_root=str(tmp_path / 'data'),
            test_mode=True,
            pipeline=[
                dict(type='LoadRGBImage', keys=['img']),
                dict(type='PackCycleGANInputs'),
            ]))
    cfg = tiny_cfg(
        str(tmp_path / 'data'),
        str(tmp_path / 'work'),
        4,
        train_cfg=dict(val_interval=2),
        val_dataloader=val_loader,
        val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='CycleConsistency'))
    build_runner(cfg).train()
    [scalars] = glob.glob(
        osp.join(str(tmp_path / 'work'), '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        records = [json.loads(line) for line in f]
    steps = [r['step'] for r in records if 'cycle_l1_a' in r]
    assert steps == [2, 4]
