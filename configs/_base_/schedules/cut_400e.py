# CUT's schedule: Adam(2e-4, betas=(0.5, 0.999)), 200 epochs at a constant
# learning rate, then 200 of linear decay to zero. The generator group
# holds G and the patch sampler MLP (see cyclegan_plugin/models/cut.py).
_base_ = ['./cyclegan_200e.py']

optim_wrapper = dict(
    _delete_=True,
    constructor='cyclegan_plugin.PerGroupOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminator=dict(
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
num_epochs_constant = 200
num_epochs_decay = 200
train_cfg = dict(max_epochs=num_epochs_constant + num_epochs_decay)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.0,
        by_epoch=True,
        begin=num_epochs_constant,
        end=num_epochs_constant + num_epochs_decay,
        convert_to_iter_based=True)
]
