# CUT with the paper's 256 px networks (Park et al. 2020): ResNet-9
# generator, 70x70 PatchGAN, LSGAN, PatchNCE on the padded input, both
# downsampling convs and residual blocks 1 and 5, 256 patches per layer,
# a 2-layer 256-channel MLP head, temperature 0.07, lambda_GAN = lambda_NCE
# = 1, NCE identity on B. Not in the reference: its anti-aliased
# down/upsampling (this generator uses strided convs and transposed convs).
model = dict(
    type='cyclegan_plugin.CUT',
    data_preprocessor=dict(type='cyclegan_plugin.CycleGANDataPreprocessor'),
    generator=dict(
        type='cyclegan_plugin.ResnetGenerator',
        base_channels=64,
        num_blocks=9,
        norm='instance',
        padding_mode='reflect',
        upsample='deconv'),
    discriminator=dict(
        type='cyclegan_plugin.PatchDiscriminator',
        base_channels=64,
        num_layers=3,
        norm='instance'),
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
