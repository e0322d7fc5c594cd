# Selfie2Anime (U-GAT-IT): domain A = selfies, domain B = anime faces,
# 3400 / 3400 training and 100 / 100 test images of 256 x 256.
# Build the layout with `python tools/prepare_selfie2anime.py ZIP`.
# Every dataloader reads `data_root` here, so a leaf config or
# `--cfg-options train_dataloader.dataset.data_root=PATH` (and the same for
# val_dataloader / test_dataloader) points a run elsewhere.
dataset_type = 'cyclegan_plugin.UnpairedImageDataset'
data_root = 'data/selfie2anime'
load_size = 286
crop_size = 256

# As in the paper: resize to 286, random 256 crop, random horizontal flip,
# each domain with its own random draws (share_random_params=False).
# backend='pillow' resizes like the reference implementation (PIL bicubic).
train_pipeline = [
    dict(type='cyclegan_plugin.LoadRGBImage', keys=['img_a', 'img_b']),
    dict(
        type='TransformBroadcaster',
        mapping={'img': ['img_a', 'img_b']},
        auto_remap=True,
        share_random_params=False,
        transforms=[
            dict(
                type='Resize',
                scale=(load_size, load_size),
                keep_ratio=False,
                interpolation='bicubic',
                backend='pillow'),
            dict(type='cyclegan_plugin.RandomCrop', crop_size=crop_size),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        ]),
    dict(type='cyclegan_plugin.PackCycleGANInputs'),
]
test_pipeline = [
    dict(type='cyclegan_plugin.LoadRGBImage', keys=['img']),
    dict(
        type='Resize',
        scale=(crop_size, crop_size),
        keep_ratio=False,
        interpolation='bicubic',
        backend='pillow'),
    dict(type='cyclegan_plugin.PackCycleGANInputs'),
]

# ResumableInfiniteSampler lets --resume start at the saved position
# without decoding the images seen before it (a run lasts 680,000 steps).
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='cyclegan_plugin.ResumableInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
# Test items hold one image each: all of testA, then all of testB.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline))
