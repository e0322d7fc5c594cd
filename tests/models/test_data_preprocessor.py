import pytest
import torch

from cyclegan_plugin.models import CycleGANDataPreprocessor


def test_rgb_order_and_range_are_kept():
    red = torch.zeros(3, 4, 4, dtype=torch.uint8)
    red[0] = 255
    data = dict(inputs=dict(img_a=[red, red], img_b=[red.flip(0), red]))
    out = CycleGANDataPreprocessor()(data, training=True)
    img_a = out['inputs']['img_a']
    assert img_a.shape == (2, 3, 4, 4) and img_a.dtype == torch.float32
    # Red stays in channel 0: a BGR swap anywhere would put it in 2.
    assert torch.all(img_a[:, 0] == 1) and torch.all(img_a[:, 1:] == -1)
    assert torch.all(out['inputs']['img_b'][0, 2] == 1)


def test_uint8_round_trip_is_exact():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    pixels = pixels.expand(1, 3, 16, 16)
    scaled = CycleGANDataPreprocessor.normalize(pixels)
    assert scaled.min() == -1 and scaled.max() == 1
    assert torch.equal(CycleGANDataPreprocessor.to_uint8(scaled), pixels)


def test_to_uint8_clamps_and_accepts_bf16():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0]).to(torch.bfloat16)
    assert CycleGANDataPreprocessor.to_uint8(x).tolist() == [
        0, 0, 128, 255, 255
    ]


@pytest.mark.parametrize('image', [
    torch.zeros(3, 4, 4),
    torch.zeros(4, 4, 4, dtype=torch.uint8),
])
def test_wrong_inputs_are_named(image):
    with pytest.raises(ValueError, match="inputs\\['img'\\]"):
        CycleGANDataPreprocessor()(dict(inputs=dict(img=[image])))
