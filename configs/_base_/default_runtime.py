default_scope = 'cyclegan_plugin'
# Safe (weights_only) and strict checkpoint loading, exact resume state.
runner_type = 'cyclegan_plugin.ExactResumeRunner'
# One DDP wrapper per network (generators and discriminators step apart).
# Wrappers are looked up outside the default scope, hence the prefix.
model_wrapper_cfg = dict(
    type='cyclegan_plugin.PerNetworkDistributedDataParallel')

# Iteration-based bookkeeping: a Selfie2Anime run is 680,000 iterations.
checkpoint_interval = 10000
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # Training is counted in iterations, so are validation metrics (by
    # epoch they would all be logged at step 0).
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Crash-safe: write, fsync, rename, then update last_checkpoint, then
    # delete old ones. Also saves when training stops early (SIGTERM).
    checkpoint=dict(
        type='cyclegan_plugin.AtomicCheckpointHook',
        interval=checkpoint_interval,
        max_keep_ckpts=5,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Skips NaN/Inf updates; stops after this many bad iterations in a row.
    nonfinite_guard=dict(type='cyclegan_plugin.NonFiniteGuardHook', max_consecutive=10),
)

# nonfinite_skips is a running total: show its latest value (a window of
# one), not a mean over the window.
log_processor = dict(
    type='LogProcessor',
    by_epoch=False,
    window_size=100,
    custom_cfg=[
        dict(data_src='nonfinite_skips', method_name='mean', window_size=1)
    ])

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
randomness = dict(seed=0)

log_level = 'INFO'
load_from = None
resume = False
