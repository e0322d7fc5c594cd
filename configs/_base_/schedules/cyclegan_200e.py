# The paper's schedule: Adam(2e-4, betas=(0.5, 0.999)) for both optimizers,
# 100 epochs at a constant learning rate, then 100 epochs of linear decay to
# zero. The loop and the decay are written in epochs and run per iteration,
# so they stay right for any dataset size.
optim_wrapper = dict(
    constructor='cyclegan_plugin.PerGroupOptimWrapperConstructor',
    generators=dict(
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminators=dict(
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))

num_epochs_constant = 100
num_epochs_decay = 100
train_cfg = dict(
    type='cyclegan_plugin.ExactResumeTrainLoop',
    max_epochs=num_epochs_constant + num_epochs_decay,
    val_interval=None)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

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
