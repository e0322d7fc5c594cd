# CUT with the paper's 256 px networks (Park et al. 2020): ResNet-9
# generator and PatchGAN with anti-aliased down/upsampling (the
# reference's defaults), LSGAN, PatchNCE on the padded input, both downsampling
# convs and residual blocks 1 and 5, 256 patches per layer, a 2-layer
# 256-channel MLP head, temperature 0.07, lambda_GAN = lambda_NCE = 1, NCE
# identity on B. G, D and the MLP are initialised as in the reference:
# Xavier-normal weights with gain 0.02, N(1, 0.02) batch norm scales, zero
# biases (CycleGAN's networks use N(0, 0.02)).
xavier_init_cfg = [
    dict(
        type='Xavier',
        layer=['Conv2d', 'ConvTranspose2d', 'Linear'],
        gain=0.02,
        distribution='normal',
        bias=0.0),
    dict(type='Normal', layer='BatchNorm2d', mean=1.0, std=0.02, bias=0.0),
]
model = dict(
    type='cyclegan_plugin.CUT',
    data_preprocessor=dict(type='cyclegan_plugin.CycleGANDataPreprocessor'),
    generator=dict(
        type='cyclegan_plugin.ResnetGenerator',
        base_channels=64,
        num_blocks=9,
        norm='instance',
        padding_mode='reflect',
        downsample='antialias',
        upsample='antialias',
        init_cfg=xavier_init_cfg),
    discriminator=dict(
        type='cyclegan_plugin.PatchDiscriminator',
        base_channels=64,
        num_layers=3,
        norm='instance',
        downsample='antialias',
        init_cfg=xavier_init_cfg),
    patch_sampler=dict(
        type='cyclegan_plugin.PatchSampleMLP',
        channels=256,
        num_patches=256,
        init_cfg=xavier_init_cfg),
    gan_loss=dict(type='cyclegan_plugin.GANLoss', gan_type='lsgan'),
    nce_loss=dict(
        type='cyclegan_plugin.PatchNCELoss', temperature=0.07,
        loss_weight=1.0),
    nce_layers=('input', 'down1', 'down2', 'block1', 'block5'),
    gan_weight=1.0,
    nce_identity=True,
    flip_equivariance=False)
