"""Tiny, deterministic CycleGAN trainings on toy faces for engine tests.

32 px images cropped to 28, 8 base channels, one residual block, history
buffers of 2 (full after two iterations, so later ones swap), 4 images per
domain (a run of 6 iterations crosses an epoch boundary).
"""
import copy
import os.path as osp
import uuid

import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUNTIME_CFG = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')
ADAM = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))


def tiny_cfg(data_root: str, work_dir: str, max_iters: int,
             **overrides) -> Config:
    """The shipped runtime config with a tiny model, data and schedule."""
    cfg = Config.fromfile(RUNTIME_CFG)
    cfg.merge_from_dict(
        dict(
            # A unique name: mmengine shares one message hub per name.
            experiment_name=f'test-{uuid.uuid4().hex}',
            work_dir=work_dir,
            log_level='WARNING',
            model=dict(
                type='CycleGAN',
                generator=dict(
                    type='ResnetGenerator', base_channels=8, num_blocks=1),
                discriminator=dict(type='PatchDiscriminator', base_channels=8),
                buffer_size=2),
            optim_wrapper=dict(
                constructor='PerGroupOptimWrapperConstructor',
                generators=copy.deepcopy(ADAM),
                discriminators=copy.deepcopy(ADAM)),
            train_cfg=dict(type='ExactResumeTrainLoop', max_iters=max_iters),
            param_scheduler=[
                dict(
                    type='LinearLR',
                    start_factor=1.0,
                    end_factor=0.1,
                    by_epoch=False,
                    begin=1,
                    end=6)
            ],
            train_dataloader=dict(
                batch_size=1,
                num_workers=0,
                sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
                dataset=dict(
                    type='UnpairedImageDataset',
                    data_root=data_root,
                    pipeline=[
                        dict(type='LoadRGBImage', keys=['img_a', 'img_b']),
                        dict(
                            type='TransformBroadcaster',
                            mapping={'img': ['img_a', 'img_b']},
                            auto_remap=True,
                            share_random_params=False,
                            transforms=[
                                dict(type='RandomCrop', crop_size=28),
                                dict(
                                    type='RandomFlip',
                                    prob=0.5,
                                    direction='horizontal'),
                            ]),
                        dict(type='PackCycleGANInputs'),
                    ])),
            default_hooks=dict(
                logger=dict(interval=1),
                checkpoint=dict(interval=1000, max_keep_ckpts=2)),
            randomness=dict(seed=0, deterministic=True),
            env_cfg=dict(cudnn_benchmark=False)))
    cfg.merge_from_dict(overrides)
    return cfg


def model_state(runner) -> dict:
    """A copy of the model's state, history buffers included."""
    return copy.deepcopy(runner.model.state_dict())


def assert_states_equal(expected: dict, actual: dict) -> None:
    """Bitwise equality of two (nested) state dicts."""
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        if isinstance(value, dict):
            assert_states_equal(value, actual[key])
        elif isinstance(value, torch.Tensor):
            assert torch.equal(value, actual[key]), key
        else:
            assert value == actual[key], key
