"""Marks for tests of features that an older supported torch lacks.

The MMagic 1.2 stack runs torch 2.1: its CPU autocast has no fp16 loss
scaler (``torch.amp.GradScaler`` arrived in torch 2.3), so fp16 training
on the CPU is refused there with a one-line error, and its tests skip.
"""
import pytest
import torch

needs_cpu_fp16 = pytest.mark.skipif(
    not hasattr(torch.amp, 'GradScaler'),
    reason=f'fp16 loss scaling on the CPU needs torch >= 2.3, this is '
    f'{torch.__version__}')
