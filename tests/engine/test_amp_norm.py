"""Instance norm stays numerically safe under bf16 autocast."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cyclegan_plugin.registry import MODELS


def hard_input() -> torch.Tensor:
    """(2, 4, 16, 16) maps of 64 + {-0.5, 0, 0.5}: exact in bf16, but a
    large mean over a small spread, where low-precision statistics fail."""
    gen = torch.Generator().manual_seed(0)
    return 64 + 0.5 * torch.randint(-1, 2, (2, 4, 16, 16), generator=gen)


@pytest.mark.parametrize('network', [
    dict(type='ResnetGenerator', base_channels=4, num_blocks=1),
    dict(type='PatchDiscriminator', base_channels=4, num_layers=2),
])
def test_every_norm_layer_normalises_bf16_maps_in_fp32(network):
    x = hard_input()
    reference = F.instance_norm(x)
    norms = [
        m for m in MODELS.build(network).modules()
        if isinstance(m, nn.InstanceNorm2d)
    ]
    assert norms
    for norm in norms:
        with torch.autocast('cpu', torch.bfloat16):
            out = norm(x.bfloat16())
        assert out.dtype == torch.bfloat16
        # Only the output's rounding: half a bf16 step at |y| < 2.
        torch.testing.assert_close(
            out.float(), reference, atol=2.0**-8, rtol=0)


def test_the_input_defeats_bf16_statistics():
    # Guards the test above: the plain kernel on bf16 misses by far more.
    x = hard_input()
    error = (F.instance_norm(x.bfloat16()).float() -
             F.instance_norm(x)).abs().max()
    assert error > 2.0**-5
