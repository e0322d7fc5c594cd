"""Export one CycleGAN generator to ONNX or TorchScript and check it.

The contract of an exported file, also stored in it (:func:`read_contract`:
ONNX ``metadata_props``, TorchScript extra file ``contract.json``):

* input ``image``: float32 (N, 3, H, W), NCHW, RGB, in [-1, 1]
  (``x / 127.5 - 1`` of uint8 pixels); N, H and W are dynamic, H and W at
  least ``min_side`` (5 for the ResNet generators), any other value;
* output ``translation``: float32 of the input's shape, RGB in [-1, 1]
  (``round((y + 1) * 127.5)`` clipped to 0..255 gives uint8 pixels).

The exported graph is :class:`AnySizeGenerator`: it pads by reflection to
a multiple of 4 and crops back, exactly as :class:`Translator` does, so the
two give the same translation. A too-small input raises ``ValueError`` in
PyTorch and in TorchScript (as ``torch.jit.Error``); ONNX has no way to
raise, and ONNX Runtime fails inside a ``Pad`` node (``INVALID_ARGUMENT:
... Pad reflect requires axis length >= 2``).

Both formats are produced by tracing the generator, with torch 2.14's
TorchScript-based exporters: ``torch.onnx.export(dynamo=False)`` needs only
the ``onnx`` package (the dynamo exporter would also need ``onnxscript``)
and is much faster for this plain convolutional graph (0.7 s against 14 s
for a small generator on two CPU cores). The TorchScript file scripts the
pad-and-crop wrapper around the traced generator, so it keeps the size
check. torch marks both tracers deprecated and warns so; they still work
there.
"""
import inspect
import json
import warnings
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from cyclegan_plugin.version import __version__
from .any_size import AnySizeGenerator
from .translator import build_model

FORMATS = ('onnx', 'torchscript')
OPSET_VERSION = 17
INPUT_NAME = 'image'
OUTPUT_NAME = 'translation'
TORCHSCRIPT_CONTRACT = 'contract.json'


class ExportContractError(ValueError):
    """An exported file lacks its contract or breaks it."""


def export_contract(generator: nn.Module,
                    direction: Optional[str] = None) -> Dict[str, str]:
    """What an exported file of ``generator`` takes and returns (see the
    module doc), as the string pairs both formats store."""
    smallest = AnySizeGenerator(generator).min_side
    contract = {
        'producer': f'cyclegan_plugin {__version__}',
        'input_name': INPUT_NAME,
        'output_name': OUTPUT_NAME,
        'dtype': 'float32',
        'layout': 'NCHW',
        'channels': 'RGB',
        'value_range': '[-1, 1]',
        'input_from_uint8': 'x / 127.5 - 1',
        'output_to_uint8': 'round((y + 1) * 127.5), clipped to 0..255',
        'min_side': str(smallest),
        'sizes': (f'any N; any H and W >= {smallest}; the output has the '
                  f"input's shape (reflection-padded inside, cropped back)"),
    }
    if direction is not None:
        contract['direction'] = direction
    return contract


def load_generator(config: Union[str, Config], checkpoint: str,
                   direction: str) -> nn.Module:
    """The generator of ``direction`` (for CycleGAN ``'a2b'``: G_A,
    ``'b2a'``: G_B) of a trained translation model, on the CPU in eval
    mode; an unknown direction is refused with the model's ones."""
    return build_model(config, checkpoint).generator_for(direction)


def export_generator(generator: nn.Module,
                     out_file: str,
                     fmt: str,
                     size: int = 256,
                     direction: Optional[str] = None) -> None:
    """Exports ``generator`` wrapped in :class:`AnySizeGenerator`, traced on
    a (1, 3, size, size) input, with :func:`export_contract` stored in the
    file.

    Args:
        generator: An image-to-image generator in eval mode, on the CPU.
        out_file: The file to write.
        fmt: ``'onnx'`` or ``'torchscript'``.
        size: Side of the example input; a multiple of 4.
        direction: Stored in the contract when given (``'a2b'``, ...).
    """
    if fmt not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}.')
    example = _random_input((1, 3, size, size))
    wrapped = AnySizeGenerator(generator)
    contract = export_contract(generator, direction)
    with warnings.catch_warnings():
        # The size checks (the wrapper's minimum, the generator's multiple
        # of 4) are Python `if`s on the example's shape: they hold there and
        # leave no trace in the graph, which is what we want.
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        # Instance norm without running statistics always normalises with
        # the image's own statistics; the exporter flags that as train mode.
        warnings.filterwarnings('ignore', message='.*instance_norm.*')
        # The exporter reverses the amounts of reflection padding with a
        # step -1 slice it cannot constant-fold; the graph is still exact.
        warnings.filterwarnings('ignore', message='Constant folding.*Slice')
        with torch.no_grad():
            if fmt == 'onnx':
                _export_onnx(wrapped, example, out_file, contract)
            else:
                traced = torch.jit.trace(generator, example)
                module = torch.jit.script(
                    AnySizeGenerator(traced, wrapped.size_multiple))
                module.save(
                    out_file,
                    _extra_files={TORCHSCRIPT_CONTRACT: json.dumps(contract)})


def _export_onnx(model: nn.Module, example: torch.Tensor, out_file: str,
                 contract: Dict[str, str]) -> None:
    import onnx  # needed by torch's exporter anyway
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    # The TorchScript-based exporter: the default on the newest torch is the
    # dynamo one; torch before 2.5 has only the former and no such flag.
    legacy = ({
        'dynamo': False
    } if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {})
    torch.onnx.export(
        model, (example, ),
        out_file,
        **legacy,
        opset_version=OPSET_VERSION,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={
            INPUT_NAME: axes,
            OUTPUT_NAME: axes
        })
    exported = onnx.load(out_file)
    for key, value in contract.items():
        exported.metadata_props.add(key=key, value=value)
    onnx.save(exported, out_file)


def read_contract(out_file: str, fmt: str) -> Dict[str, str]:
    """The contract stored in an exported file ({} if it holds none)."""
    if fmt == 'onnx':
        import onnx
        exported = onnx.load(out_file, load_external_data=False)
        return {prop.key: prop.value for prop in exported.metadata_props}
    extra = {TORCHSCRIPT_CONTRACT: ''}
    torch.jit.load(out_file, map_location='cpu', _extra_files=extra)
    return json.loads(extra[TORCHSCRIPT_CONTRACT] or '{}')


def check_export(generator: nn.Module,
                 out_file: str,
                 fmt: str,
                 size: int = 256) -> float:
    """Checks an exported file against its contract and ``generator``.

    The file must hold :func:`export_contract`; it runs on random inputs of
    (1, 3, size, size), of odd sizes (2, 3, size + 1, size // 2 + 1) and of
    the smallest allowed size, must return the input's shape, and is
    compared with ``generator`` in :class:`AnySizeGenerator` (what
    :class:`Translator` runs). ONNX models run in onnxruntime (the optional
    extra ``onnxruntime``).

    Returns:
        The largest absolute difference of the outputs.

    Raises:
        ExportContractError: The contract is missing or differs, or an
            output has another shape than its input.
        ImportError: ``fmt='onnx'`` and onnxruntime is not installed.
    """
    expected_contract = export_contract(generator)
    stored = read_contract(out_file, fmt)
    differing = sorted(key for key, value in expected_contract.items()
                       if stored.get(key) != value)
    if differing:
        raise ExportContractError(
            f'{out_file} does not state the export contract (differs in '
            f'{", ".join(differing)}); export it again with '
            f'tools/export.py.')
    run = _RUNNERS[fmt](out_file)
    reference = AnySizeGenerator(generator)
    smallest = reference.min_side
    error = 0.0
    for shape in ((1, 3, size, size), (2, 3, size + 1, size // 2 + 1),
                  (1, 3, smallest, smallest)):
        inputs = _random_input(shape)
        with torch.no_grad():
            expected = reference(inputs).numpy()
        got = run(inputs)
        if got.shape != expected.shape:
            raise ExportContractError(
                f'{out_file} maps an input of {shape} to {got.shape}, not to '
                f'the same shape; export it again with tools/export.py.')
        error = max(error, float(np.abs(got - expected).max()))
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
