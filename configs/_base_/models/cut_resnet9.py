# CUT with the paper's 256 px networks (Park et al. 2020): ResNet-9
# generator, 70x70 PatchGAN, LSGAN, PatchNCE on the padded input, both
# downsampling convs and residual blocks 1 and 5, 256 patches per layer,
# a 2-layer 256-channel MLP head, temperature 0.07, lambda_GAN = lambda_NCE
# = 1, NCE identity on B. Not in the reference: its anti-aliased
# down/upsampling (this generator uses strided convs and transposed convs).
# The networks are CycleGAN's, taken from its base config.
_base_ = ['./cyclegan_resnet9.py']

model = dict(
    _delete_=True,
    type='cyclegan_plugin.CUT',
    data_preprocessor=dict(type='cyclegan_plugin.CycleGANDataPreprocessor'),
    generator={{_base_.model.generator}},
    discriminator={{_base_.model.discriminator}},
    patch_sampler=dict(
        type='cyclegan_plugin.PatchSampleMLP', channels=256, num_patches=256),
    gan_loss=dict(type='cyclegan_plugin.GANLoss', gan_type='lsgan'),
    nce_loss=dict(
        type='cyclegan_plugin.PatchNCELoss', temperature=0.07,
        loss_weight=1.0),
    nce_layers=('input', 'down1', 'down2', 'block1', 'block5'),
    gan_weight=1.0,
    nce_identity=True,
    flip_equivariance=False)
