# CUT on the toy faces: the demo's data, schedule and metrics
# (cyclegan_toyfaces.py) with CUT's objective in place of the cycle. The
# networks are sized like the demo's (16 base channels; 5 residual blocks,
# since CUT taps block 5) with batch-norm generators for the same reason;
# PatchNCE on 64 patches of 64-channel projections. A -> B only.
# The CUT arguments not given are the paper's (the class defaults).
_base_ = ['./cyclegan_toyfaces.py']

model = dict(
    _delete_=True,
    type='cyclegan_plugin.CUT',
    generator=dict(
        type='cyclegan_plugin.ResnetGenerator',
        base_channels=16,
        num_blocks=5,
        norm='batch'),
    discriminator=dict(
        type='cyclegan_plugin.PatchDiscriminator', base_channels=16),
    patch_sampler=dict(
        type='cyclegan_plugin.PatchSampleMLP', channels=64, num_patches=64))
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
]
test_evaluator = val_evaluator
