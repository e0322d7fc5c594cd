"""The config text of a tiny CycleGAN tested by ``tools/test.py``.

Tests of the test tool and of the translation writer write it next to a
checkpoint of the same tiny model; each adds its own lines (runner type,
model wrapper, log level).
"""

TEST_CONFIG = """
default_scope = 'cyclegan_plugin'
model = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=8, num_layers=1))
test_dataloader = dict(
    batch_size={batch_size},
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='UnpairedImageDataset',
        data_root={data_root!r},
        test_mode=True,
        pipeline=[
            dict(type='LoadRGBImage', keys=['img']),
            dict(type='Resize', scale=({size}, {size}), keep_ratio=False),
            dict(type='PackCycleGANInputs'),
        ]))
test_cfg = dict(type='TestLoop')
test_evaluator = [dict(type='CycleConsistency')]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


def tiny_test_config(data_root: str,
                     size: int,
                     batch_size: int = 1,
                     extra: str = '') -> str:
    """Config text testing 8-channel, 1-block networks on ``data_root``'s
    test folders, resized to ``size`` square; ``extra`` is appended."""
    return TEST_CONFIG.format(
        data_root=data_root, size=size, batch_size=batch_size) + extra
