# CycleGAN with the paper's 256 px networks: ResNet-9 generators and 70x70
# PatchGAN discriminators, LSGAN loss, lambda = 10, identity 0.5 * lambda.
model = dict(
    type='cyclegan_plugin.CycleGAN',
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
    gan_loss=dict(type='cyclegan_plugin.GANLoss', gan_type='lsgan'),
    cycle_loss=dict(type='cyclegan_plugin.L1Loss', loss_weight=10.0),
    identity_loss=dict(type='cyclegan_plugin.L1Loss', loss_weight=5.0),
    buffer_size=50)
