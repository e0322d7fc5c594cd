"""Networks laid out as the reference implementation lays out its own.

junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``: its
``ResnetGenerator`` and ``NLayerDiscriminator`` keep every layer in one
``nn.Sequential`` called ``model``, with explicit ``ReflectionPad2d``
entries (so the first conv is ``model.1`` and a residual block's first conv
``model.<i>.conv_block.1``), convs without bias before batch norm, and
instance norm without affine parameters or statistics. Files of PyTorch
< 0.4 still hold running statistics of those instance norms; ``old=True``
builds that layout. Written here from the layout alone, so that the
converter is tested against the reference's names without it installed.
"""
from pathlib import Path

import torch
from torch import nn


def norm_layer(norm: str, channels: int, old: bool = False) -> nn.Module:
    if norm == 'batch':
        return nn.BatchNorm2d(channels)
    return nn.InstanceNorm2d(
        channels, affine=False, track_running_stats=old)


class ReferenceBlock(nn.Module):
    """pad, conv, norm, ReLU, pad, conv, norm, plus the input."""

    def __init__(self, dim: int, norm: str, old: bool = False):
        super().__init__()
        bias = norm != 'batch'
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias),
            norm_layer(norm, dim, old), nn.ReLU(True), nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim, old))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ReferenceNetwork(nn.Module):

    def __init__(self, layers):
        super().__init__()
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def reference_generator(ngf: int = 8, n_blocks: int = 2,
                        norm: str = 'instance',
                        old: bool = False) -> ReferenceNetwork:
    bias = norm != 'batch'
    layers = [
        nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=bias),
        norm_layer(norm, ngf, old), nn.ReLU(True)
    ]
    for mult in (1, 2):
        layers += [
            nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1,
                      bias=bias),
            norm_layer(norm, ngf * mult * 2, old), nn.ReLU(True)
        ]
    layers += [ReferenceBlock(ngf * 4, norm, old) for _ in range(n_blocks)]
    for mult in (4, 2):
        layers += [
            nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2,
                               padding=1, output_padding=1, bias=bias),
            norm_layer(norm, ngf * mult // 2, old), nn.ReLU(True)
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return ReferenceNetwork(layers)


def reference_discriminator(ndf: int = 8, n_layers: int = 2,
                            norm: str = 'instance',
                            old: bool = False) -> ReferenceNetwork:
    bias = norm != 'batch'
    layers = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    mult = 1
    for n in range(1, n_layers + 1):
        previous, mult = mult, min(2**n, 8)
        layers += [
            nn.Conv2d(ndf * previous, ndf * mult, 4,
                      stride=2 if n < n_layers else 1, padding=1, bias=bias),
            norm_layer(norm, ndf * mult, old), nn.LeakyReLU(0.2)
        ]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
    return ReferenceNetwork(layers)


def randomize_norm_statistics(network: nn.Module) -> None:
    """Gives batch norms non-trivial affine parameters and statistics, so
    that a converter dropping or misplacing them is seen."""
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)


def save_reference(network: ReferenceNetwork, path: Path,
                   old_twin: ReferenceNetwork = None) -> None:
    """Saves as the reference's ``save_networks`` does: the bare state dict.
    With ``old_twin`` (the same layout built with ``old=True``) the file
    holds the instance norm statistics of PyTorch < 0.4 files, in the
    legacy (non-zip) format."""
    if old_twin is None:
        torch.save(network.state_dict(), path)
        return
    old_twin.load_state_dict(network.state_dict(), strict=False)
    for module in old_twin.modules():
        if isinstance(module, nn.InstanceNorm2d):
            module.running_mean.normal_(0, 1)
            module.running_var.uniform_(0.5, 2)
    torch.save(old_twin.state_dict(), path,
               _use_new_zipfile_serialization=False)
