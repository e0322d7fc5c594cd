"""Export one CycleGAN generator to ONNX or TorchScript and check it.

The exported model maps a float32 batch (N, 3, H, W) in [-1, 1] (RGB,
``x / 127.5 - 1``) to its translation of the same shape in [-1, 1]; N, H and
W are dynamic, H and W must be multiples of 4 (of ``2 ** num_downsamples``).
Both formats are produced by tracing, with torch 2.14's TorchScript-based
exporters: ``torch.onnx.export(dynamo=False)`` needs only the ``onnx``
package (the dynamo exporter would also need ``onnxscript``) and is much
faster for this plain convolutional graph (0.7 s against 14 s for a small
generator on two CPU cores). torch marks both tracers deprecated and warns
so; they still work there.
"""
import warnings
from typing import Callable, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from .translator import build_model

FORMATS = ('onnx', 'torchscript')
OPSET_VERSION = 17
INPUT_NAME = 'image'
OUTPUT_NAME = 'translation'


def load_generator(config: Union[str, Config], checkpoint: str,
                   direction: str) -> nn.Module:
    """The generator of ``direction`` (for CycleGAN ``'a2b'``: G_A,
    ``'b2a'``: G_B) of a trained translation model, on the CPU in eval
    mode; an unknown direction is refused with the model's ones."""
    return build_model(config, checkpoint).generator_for(direction)


def export_generator(generator: nn.Module,
                     out_file: str,
                     fmt: str,
                     size: int = 256) -> None:
    """Traces ``generator`` on a (1, 3, size, size) input and saves it.

    Args:
        generator: An image-to-image generator in eval mode, on the CPU.
        out_file: The file to write.
        fmt: ``'onnx'`` or ``'torchscript'``.
        size: Side of the example input; a multiple of 4.
    """
    if fmt not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}.')
    example = _random_input((1, 3, size, size))
    with warnings.catch_warnings():
        # The generator's check that H and W are multiples of 4 is a Python
        # `if` on the example's shape: it holds there and leaves no trace in
        # the graph, which is what we want.
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        # Instance norm without running statistics always normalises with
        # the image's own statistics; the exporter flags that as train mode.
        warnings.filterwarnings('ignore', message='.*instance_norm.*')
        # The exporter reverses the amounts of reflection padding with a
        # step -1 slice it cannot constant-fold; the graph is still exact.
        warnings.filterwarnings('ignore', message='Constant folding.*Slice')
        with torch.no_grad():
            if fmt == 'onnx':
                _export_onnx(generator, example, out_file)
            else:
                torch.jit.trace(generator, example).save(out_file)


def _export_onnx(generator: nn.Module, example: torch.Tensor,
                 out_file: str) -> None:
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    torch.onnx.export(
        generator, (example, ),
        out_file,
        dynamo=False,
        opset_version=OPSET_VERSION,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={
            INPUT_NAME: axes,
            OUTPUT_NAME: axes
        })


def check_export(generator: nn.Module,
                 out_file: str,
                 fmt: str,
                 size: int = 256) -> float:
    """Runs the exported model and ``generator`` on the same random inputs,
    (1, 3, size, size) and a batch of 2 of another size, and returns the
    largest absolute difference of their outputs.

    ONNX models run in onnxruntime (the optional extra ``onnxruntime``).

    Raises:
        ImportError: ``fmt='onnx'`` and onnxruntime is not installed.
    """
    run = _RUNNERS[fmt](out_file)
    multiple = getattr(generator, 'size_multiple', 4)
    error = 0.0
    for shape in ((1, 3, size, size), (2, 3, size + multiple, size)):
        inputs = _random_input(shape)
        with torch.no_grad():
            expected = generator(inputs).numpy()
        error = max(error, float(np.abs(run(inputs) - expected).max()))
    return error


def _random_input(shape: Tuple[int, ...]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(shape, generator=generator) * 2 - 1


def _onnx_runner(out_file: str) -> Callable[[torch.Tensor], np.ndarray]:
    import onnxruntime  # optional: only needed for the check
    session = onnxruntime.InferenceSession(
        out_file, providers=['CPUExecutionProvider'])
    return lambda inputs: session.run(None, {INPUT_NAME: inputs.numpy()})[0]


def _torchscript_runner(out_file: str) -> Callable[[torch.Tensor], np.ndarray]:
    module = torch.jit.load(out_file, map_location='cpu')

    def run(inputs: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return module(inputs).numpy()

    return run


_RUNNERS = {'onnx': _onnx_runner, 'torchscript': _torchscript_runner}
