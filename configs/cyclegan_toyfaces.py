# The demo: CycleGAN on the synthetic toy faces (tools/make_toy_faces.py),
# sized to train in about 12 minutes on two CPU cores. The architecture and
# losses are the paper's; width, depth, learning rate, identity weight and
# length are the demo's (the paper's settings live in
# cyclegan_selfie2anime.py). Measured on toy faces: a stronger identity term
# (10 instead of 5) and lr 5e-4 learn the colour mapping in a few thousand
# iterations, where the paper's values had not (README, "The demo").
_base_ = [
    './_base_/models/cyclegan_resnet9.py',
    './_base_/datasets/toy_faces.py',
    './_base_/schedules/cyclegan_200e.py',
    './_base_/default_runtime.py',
]

model = dict(
    generator=dict(base_channels=16, num_blocks=3),
    discriminator=dict(base_channels=16),
    identity_loss=dict(loss_weight=10.0))

# 64 px images decode in well under a millisecond: loading in the main
# process leaves both cores to the training step.
train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)

lr = 5e-4
optim_wrapper = dict(
    generators=dict(optimizer=dict(lr=lr)),
    discriminators=dict(optimizer=dict(lr=lr)))

# Constant, then linear decay to zero, as in the paper, in iterations.
num_iters_constant = 2500
num_iters_decay = 2500
train_cfg = dict(
    _delete_=True,
    type='CycleGANTrainLoop',
    max_iters=num_iters_constant + num_iters_decay,
    val_interval=500)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.0,
        by_epoch=False,
        begin=num_iters_constant,
        end=num_iters_constant + num_iters_decay)
]

# The test pairs share geometry, so translations are scored against ground
# truth. KID/FID here use a seeded random projection instead of Inception
# (no weights download in the demo): smoke values, not comparable with
# published numbers. Set feature_extractor=None (TF-Inception) for real ones.
random_features = dict(type='RandomProjectionFeatures', feat_dim=64,
                       pool_size=8)
val_evaluator = [
    dict(type='KID', feature_extractor=random_features, subset_size=50),
    dict(type='FID', feature_extractor=random_features),
    dict(type='PairedPSNR'),
    dict(type='PairedSSIM'),
    dict(type='CycleConsistency'),
]
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=1000, max_keep_ckpts=2))
custom_hooks = [dict(type='CycleGANVisualizationHook', interval=1000)]
