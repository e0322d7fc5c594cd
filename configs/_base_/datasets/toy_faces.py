# Toy faces: small synthetic domains rendered by
# cyclegan_plugin/datasets/toy_faces.py into data/toy_faces with the
# trainA/trainB/testA/testB layout. The test images of A and B with the same
# file stem show the same face, so the test set is paired and the metrics
# can compare a translation with its ground truth (gt_img).
dataset_type = 'cyclegan_plugin.UnpairedImageDataset'
data_root = 'data/toy_faces'
image_size = 64  # tools/make_toy_faces.py's default
# Training at the test's scale: domain B's outlines are 1 px wide at 64 px,
# and an upscale to 72 px before cropping blurs them over two (on the demo,
# against 72 px: a2b -0.1 to +0.2 dB, b2a -0.1 to +0.7 dB, a2b SSIM +0.01
# to +0.04, over three seeds on an AMD EPYC and seed 0 on an Intel Xeon;
# README, "The demo").
load_size = image_size
# Training sees random 32 px crops (a quarter of a face), half the cost of
# whole faces per step; the generator is fully convolutional and is tested
# on the whole image.
train_crop_size = 32

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
            dict(type='cyclegan_plugin.RandomCrop', crop_size=train_crop_size),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        ]),
    dict(type='cyclegan_plugin.PackCycleGANInputs'),
]
# gt_img is resized exactly like img so the two can be compared.
test_pipeline = [
    dict(type='cyclegan_plugin.LoadRGBImage', keys=['img', 'gt_img']),
    dict(
        type='TransformBroadcaster',
        mapping={'img': ['img', 'gt_img']},
        auto_remap=True,
        transforms=[
            dict(
                type='Resize',
                scale=(image_size, image_size),
                keep_ratio=False,
                interpolation='bicubic',
                backend='pillow'),
        ]),
    dict(type='cyclegan_plugin.PackCycleGANInputs'),
]

# ResumableInfiniteSampler hands the dataset stream positions, from which it
# draws a fresh B partner for every A image each epoch (and resumes exactly).
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='cyclegan_plugin.ResumableInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        paired=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        paired=True,
        pipeline=test_pipeline))
