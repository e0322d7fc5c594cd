"""The instance norm and the padded conv compute what PyTorch's do, with
fewer copies."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cyclegan_plugin.models.layers import (BlurDownsample, BlurUpsample,
                                           Conv2d, InstanceNorm2d)
from cyclegan_plugin.registry import MODELS


def graph_nodes(output: torch.Tensor) -> set:
    """The names of the autograd nodes ``output`` was computed through."""
    seen, stack, names = set(), [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.parametrize('batch', [1, 2])
def test_instance_norm_is_pytorchs_bit_for_bit_forward_and_backward(batch):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 6, 16, 16, generator=gen) * 3 + 5
    x.requires_grad_()
    grad = torch.randn(batch, 6, 16, 16, generator=gen)
    ours = F.relu_(InstanceNorm2d(6)(x))
    (ours_grad, ) = torch.autograd.grad(ours, x, grad)
    theirs = F.relu_(F.instance_norm(x))
    (their_grad, ) = torch.autograd.grad(theirs, x, grad)
    assert torch.equal(ours, theirs)
    assert torch.equal(ours_grad, their_grad)


def test_the_inplace_relu_after_a_norm_needs_no_copy_in_backward():
    generator = MODELS.build(
        dict(type='ResnetGenerator', base_channels=4, num_blocks=1))
    nodes = graph_nodes(generator(torch.zeros(1, 3, 16, 16)))
    assert 'NativeBatchNormBackward0' in nodes
    assert 'CopySlices' not in nodes
    # Guards the check: PyTorch's own instance norm returns a view, and the
    # in-place ReLU on it is recorded as CopySlices.
    x = torch.ones(1, 2, 4, 4, requires_grad=True) * torch.arange(16.).view(
        1, 1, 4, 4)
    assert 'CopySlices' in graph_nodes(F.relu_(F.instance_norm(x)))


@pytest.mark.parametrize('batch', [1, 3])
def test_channels_last_images_stay_channels_last_through_the_norm(batch):
    # Each image's instance norm is its batch norm, which has a
    # channels-last kernel; PyTorch's instance norm converts to the
    # usual layout, and the next conv converts back.
    cl = torch.channels_last
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 6, 16, 16, generator=gen) * 3 + 5
    x[-1] = x[-1] * 4 - 7  # images with their own statistics
    grad = torch.randn(batch, 6, 16, 16, generator=gen)
    x_cl = x.contiguous(memory_format=cl).requires_grad_()
    ours = F.relu_(InstanceNorm2d(6)(x_cl))
    (ours_grad, ) = torch.autograd.grad(ours, x_cl, grad)
    x.requires_grad_()
    theirs = F.relu_(F.instance_norm(x))
    (their_grad, ) = torch.autograd.grad(theirs, x, grad)
    assert ours.is_contiguous(memory_format=cl)
    assert not F.instance_norm(x_cl).is_contiguous(memory_format=cl)
    # Another kernel, so another rounding.
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours_grad, their_grad, rtol=0, atol=1e-5)


@pytest.mark.parametrize('batch', [1, 2])
def test_a_channels_last_generator_keeps_every_norm_channels_last(batch):
    generator = MODELS.build(
        dict(type='ResnetGenerator', base_channels=4, num_blocks=2))
    generator.to(memory_format=torch.channels_last)
    layouts = []
    for module in generator.modules():
        if isinstance(module, nn.InstanceNorm2d):
            module.register_forward_hook(
                lambda m, args, out: layouts.append(
                    out.is_contiguous(memory_format=torch.channels_last)))
    generator(torch.randn(batch, 3, 16, 16)).sum().backward()
    assert len(layouts) == 9 and all(layouts)


@pytest.mark.parametrize('padding_mode', ['reflect', 'replicate', 'zeros'])
def test_conv_pads_bf16_in_bf16_with_the_same_result(padding_mode):
    gen = torch.Generator().manual_seed(0)
    ours = Conv2d(4, 5, 3, padding=1, padding_mode=padding_mode)
    theirs = nn.Conv2d(4, 5, 3, padding=1, padding_mode=padding_mode)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 4, 8, 8, generator=gen).bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = ours(x)
        expected = theirs(x)
        padded = F.pad(x, (1, 1, 1, 1), mode='reflect')
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, expected)
    # What the conv avoids: autocast pads in fp32.
    assert padded.dtype == torch.float32
    # fp32 is nn.Conv2d's own path.
    y = torch.randn(2, 4, 8, 8, generator=gen)
    assert torch.equal(ours(y), theirs(y))


def test_no_padding_copy_to_fp32_in_a_bf16_generator():
    generator = MODELS.build(
        dict(type='ResnetGenerator', base_channels=4, num_blocks=2))
    pads = []

    def record(module, inputs, output):
        pads.append(inputs[0].dtype)

    hooks = [
        m.register_forward_hook(record) for m in generator.modules()
        if isinstance(m, nn.Conv2d) and m.padding_mode == 'reflect'
    ]
    calls = []
    original = F.pad

    def spy(x, *args, **kwargs):
        out = original(x, *args, **kwargs)
        calls.append((x.dtype, out.dtype))
        return out

    try:
        F.pad = spy
        with torch.autocast('cpu', dtype=torch.bfloat16):
            generator(torch.zeros(1, 3, 16, 16))
    finally:
        F.pad = original
        for hook in hooks:
            hook.remove()
    # The first 7x7 conv gets the fp32 image; every later padded conv a
    # bf16 activation, which stays bf16.
    assert pads[0] == torch.float32 and len(pads) == 6
    assert calls[1:] == [(torch.bfloat16, torch.bfloat16)] * 5


@pytest.mark.parametrize('blur', [BlurDownsample, BlurUpsample])
def test_the_blurs_pad_bf16_in_bf16_with_the_same_result(blur, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    module = blur(4)
    x = torch.randn(2, 4, 8, 8, generator=gen).bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # What the blur did before: autocast's fp32 padding.
        expected = module(x.float()).bfloat16()
        pads = []
        original = F.pad

        def spy(y, *args, **kwargs):
            out = original(y, *args, **kwargs)
            pads.append(out.dtype)
            return out

        monkeypatch.setattr(F, 'pad', spy)
        out = module(x)
    assert pads == [torch.bfloat16]
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, expected)
