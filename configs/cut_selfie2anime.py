# CUT on Selfie2Anime with the paper's settings: batch 1, 256 px, LSGAN,
# lambda_NCE = 1 with the NCE identity term, no history buffer, D updated
# before G, 200 + 200 epochs.
_base_ = [
    './_base_/models/cut_resnet9.py',
    './_base_/datasets/selfie2anime.py',
    './_base_/schedules/cut_400e.py',
    './_base_/default_runtime.py',
]

# Channels-last networks train faster on AVX-512 CPUs at 256 px and batch
# 1: a FastCUT step takes 0.91x the time in fp32 and 0.78x in bf16 on a
# 2-core Xeon, a CUT step 0.98x and 0.91x; on a 2-core AVX2-only EPYC 1.48x
# and 1.37x in fp32 (README, "Performance"). So on where torch's CPU
# kernels are AVX-512; elsewhere, GPUs unmeasured, the usual layout.
channels_last = dict(cpu='AVX512')

# CUT translates A -> B only: the b2a rows are the identity baseline.
test_evaluator = [
    dict(type='cyclegan_plugin.KID', num_subsets=100, subset_size=100, seed=0),
    dict(type='cyclegan_plugin.FID'),
]
val_dataloader = None
val_cfg = None
val_evaluator = None

custom_hooks = [dict(type='cyclegan_plugin.SampleGridHook', interval=5000)]
