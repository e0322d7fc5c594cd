# CycleGAN on Selfie2Anime with the paper's settings: ResNet-9 generators,
# 70x70 PatchGANs, LSGAN, lambda = 10, identity 5, Adam(2e-4, 0.5, 0.999),
# batch 1, 256 px, 100 + 100 epochs (680,000 iterations on 3,400 images).
# Data: `python tools/prepare_selfie2anime.py ARCHIVE` (see the README).
_base_ = [
    './_base_/models/cyclegan_resnet9.py',
    './_base_/datasets/selfie2anime.py',
    './_base_/schedules/cyclegan_200e.py',
    './_base_/default_runtime.py',
]

# Channels-last networks train faster on AVX-512 CPUs at 256 px and batch
# 1: a step takes 0.87x the time in fp32 and 0.72x in bf16 on a 2-core
# Xeon, but 1.39x in fp32 on a 2-core AVX2-only EPYC (README,
# "Performance"). So on where torch's CPU kernels are AVX-512; elsewhere,
# GPUs unmeasured, the usual layout.
channels_last = dict(cpu='AVX512')

# KID x100 and FID on TF-Inception pool features, as U-GAT-IT reports them,
# computed by tools/test.py. Needs the Inception weights file (README,
# "Evaluate"). As in the paper, training itself does not validate; the
# sample grids of SampleGridHook show progress.
test_evaluator = [
    dict(type='cyclegan_plugin.KID', num_subsets=100, subset_size=100, seed=0),
    dict(type='cyclegan_plugin.FID'),
    dict(type='cyclegan_plugin.CycleConsistency'),
]
val_dataloader = None
val_cfg = None
val_evaluator = None

custom_hooks = [dict(type='cyclegan_plugin.SampleGridHook', interval=5000)]
