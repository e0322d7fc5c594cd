# CUT on the toy faces: the demo's data, schedule and metrics
# (cyclegan_toyfaces.py) with CUT's objective in place of the cycle. The
# networks are sized like the demo's (16 base channels; 5 residual blocks,
# since CUT taps block 5) with batch-norm generators for the same reason;
# PatchNCE on 64 patches of 64-channel projections. A -> B only.
# The CUT arguments not given are the paper's (the class defaults); the
# init is CUT's (see _base_/models/cut_resnet9.py). The down/upsampling is
# the demo's strided and transposed convs, not CUT's anti-aliased ones,
# which run those four convs on 4x the pixels.
_base_ = ['./cyclegan_toyfaces.py']

xavier_init_cfg = [
    dict(
        type='Xavier',
        layer=['Conv2d', 'ConvTranspose2d', 'Linear'],
        gain=0.02,
        distribution='normal',
        bias=0.0),
    dict(type='Normal', layer='BatchNorm2d', mean=1.0, std=0.02, bias=0.0),
]
model = dict(
    _delete_=True,
    type='cyclegan_plugin.CUT',
    generator=dict(
        type='cyclegan_plugin.ResnetGenerator',
        base_channels=16,
        num_blocks=5,
        norm='batch',
        init_cfg=xavier_init_cfg),
    discriminator=dict(
        type='cyclegan_plugin.PatchDiscriminator',
        base_channels=16,
        init_cfg=xavier_init_cfg),
    patch_sampler=dict(
        type='cyclegan_plugin.PatchSampleMLP',
        channels=64,
        num_patches=64,
        init_cfg=xavier_init_cfg))
optim_wrapper = dict(
    _delete_=True,
    constructor='cyclegan_plugin.PerGroupOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=5e-4, betas=(0.5, 0.999))),
    discriminator=dict(
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.999))))
# No reconstructions: no cycle metric.
val_evaluator = [
    dict(type='cyclegan_plugin.PairedPSNR'),
    dict(type='cyclegan_plugin.PairedSSIM'),
    dict(type='cyclegan_plugin.Checkerboard'),
]
test_evaluator = val_evaluator
