# The demo: CycleGAN on the synthetic toy faces (tools/make_toy_faces.py),
# sized to train in 5-9 minutes on two CPU cores. The losses are the
# paper's, the adversarial one weighted 3; everything that makes it learn
# in minutes is the demo's own and was measured on toy faces (README, "The
# demo"); the paper's settings live in cyclegan_selfie2anime.py:
# - generators without down- or upsampling (num_downsamples=0): 3 residual
#   blocks of 16 channels at full resolution cost what 3 blocks of 64 at
#   quarter resolution cost, the sampling convs are gone, and with no
#   transposed conv there is no checkerboard (the Checkerboard metric fell
#   from +8 dB to about 0);
# - batch norm in the generators: instance norm drops each image's mean
#   colour, which the generator then has to guess back (30% of the A->B
#   squared error was that guess);
# - discriminators without norm layers: a 32 px crop leaves 8x8 to 3x3
#   maps at the deep layers, too small for instance-norm statistics
#   (+0.1 to +0.3 dB a2b, measured);
# - batches of 4 random 32 px crops of the 64 px images, tested on the
#   whole image: a batch step costs half that of 64 px crops;
# - a discriminator that learns 4x as fast as the generator (Adam lr 8e-4
#   against 2e-4) and an adversarial weight of 3: with the earlier lr 1e-4
#   against 5e-4 and weight 1 the discriminators sat near LSGAN's chance
#   value and a2b ended as a near-copy of its input. With the adversarial
#   loss alone, a generator trained against a discriminator at its own lr
#   still painted noise after 4,000 iterations, against one at 4x its lr
#   flat colours and outlines (README, "The demo"). GANLoss scales the
#   discriminators' loss by the same 3 (Adam's steps do not change with a
#   loss's scale, but for its eps), so the logged d_a and d_b read 3x
#   LSGAN's (0.75 at chance);
# - 3,500 iterations, 2,500 at the full learning rate and 1,000 decaying
#   (measured against 3,000 as 1,500 + 1,500: a2b +0.2 dB, b2a +0.1). The
#   identity weight is the paper's 5 (as good as an earlier demo's 10
#   after 1,000 iterations and 0.3 dB better both ways after 5,000) and
#   decays to 1 while the learning rate decays; below about 3.5 from the
#   start the translations rotate hue, a symmetry of the toy domains that
#   only the identity term pins;
# - no history buffer: the discriminators judge the current fakes. With
#   the late identity decay, a2b gained 0.24-0.45 dB on each of three
#   toy-face seeds, b2a moved -0.13 to +0.04 (README, "The demo");
# - Gaussian noise of std 0.05 (in [-1, 1] units, about the photos'
#   grain) on each fake before the other generator reconstructs it: a2b
#   is what the B -> A -> B cycle teaches G_A (a fresh G_A trained on that
#   cycle's pairs (G_B(b), b) scores what CycleGAN's own does), and G_B's
#   fake photos had no grain and carried traces of B's outlines that real
#   photos lack. a2b +0.24 / -0.03 / +0.53 / +0.22 dB on toy-face seeds
#   0 / 4242 / 31337 / 7, b2a -0.19 to +0.10; std 0.1 and 0.15 lost
#   (README, "The demo");
# - channels-last networks on the CPU: 0.84x the time per iteration of
#   the usual layout on a 2-core AVX-512 AMD EPYC and 0.94x on an
#   AVX2-only one (measured; the paper's networks lose there), which pays
#   for the 500 more iterations.
_base_ = [
    './_base_/models/cyclegan_resnet9.py',
    './_base_/datasets/toy_faces.py',
    './_base_/schedules/cyclegan_200e.py',
    './_base_/default_runtime.py',
]

model = dict(
    generator=dict(
        base_channels=16, num_blocks=3, num_downsamples=0, norm='batch'),
    discriminator=dict(base_channels=16, norm='none'),
    gan_loss=dict(loss_weight=3.0),
    buffer_size=0,
    cycle_noise_std=0.05)

# 64 px images decode in well under a millisecond: loading in the main
# process leaves both cores to the training step.
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)

optim_wrapper = dict(
    generators=dict(optimizer=dict(lr=2e-4)),
    discriminators=dict(optimizer=dict(lr=8e-4)))

channels_last = dict(cpu=True)

# Constant, then linear decay to zero, as in the paper, in iterations.
num_iters_constant = 2500
num_iters_decay = 1000
train_cfg = dict(
    _delete_=True,
    type='cyclegan_plugin.ExactResumeTrainLoop',
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
random_features = dict(type='cyclegan_plugin.RandomProjectionFeatures', feat_dim=64,
                       pool_size=8)
val_evaluator = [
    dict(type='cyclegan_plugin.KID', feature_extractor=random_features, subset_size=50),
    dict(type='cyclegan_plugin.FID', feature_extractor=random_features),
    dict(type='cyclegan_plugin.PairedPSNR'),
    dict(type='cyclegan_plugin.PairedSSIM'),
    dict(type='cyclegan_plugin.Checkerboard'),
    dict(type='cyclegan_plugin.CycleConsistency'),
]
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=1000, max_keep_ckpts=2))
custom_hooks = [
    dict(type='cyclegan_plugin.SampleGridHook', interval=1000),
    dict(type='cyclegan_plugin.LossWeightScheduleHook', loss='identity_loss',
         end_weight=1.0, begin=num_iters_constant,
         end=num_iters_constant + num_iters_decay),
]

# After training, tools/back_translate.py fine-tunes each generator on the
# other's pseudo-pairs (cyclegan_plugin/models/back_translation.py): G_A,
# then G_B, then G_A again, on batches of four 32 px crops as above.
back_translation = dict(
    stages=['a2b', 'b2a', 'a2b'],
    iters=1000,
    lr=2e-4,
    batch_size=4,
    crop_size=32)
