import runpy
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from mmengine.config import Config

from cyclegan_plugin.apis import check_export, export_generator, load_generator
from cyclegan_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4  # fp32, max abs error on outputs in [-1, 1]

CONFIG = """
model = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=8, num_layers=1))
"""


@pytest.fixture
def model_files(tmp_path):
    config = tmp_path / 'tiny.py'
    config.write_text(CONFIG)
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return str(config), str(checkpoint), model


def run_tool(*args):
    runpy.run_path(str(REPO / 'tools' / 'export.py'))['main'](list(args))


def reference(model, direction, inputs):
    generator = model.generator_a if direction == 'a2b' else (
        model.generator_b)
    with torch.no_grad():
        return generator.eval()(inputs).numpy()


@pytest.mark.parametrize('direction', ['a2b', 'b2a'])
def test_onnx_export_matches_pytorch(model_files, tmp_path, capsys, direction):
    config, checkpoint, model = model_files
    out = tmp_path / f'g_{direction}.onnx'
    run_tool(config, checkpoint, '--direction', direction, '--format', 'onnx',
             '--out', str(out), '--size', '32')
    assert 'max abs error' in capsys.readouterr().out
    session = onnxruntime.InferenceSession(
        str(out), providers=['CPUExecutionProvider'])
    # Another batch size and shape than the export's example input.
    inputs = torch.rand(3, 3, 24, 40) * 2 - 1
    got = session.run(None, {'image': inputs.numpy()})[0]
    expected = reference(model, direction, inputs)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE


def test_torchscript_export_matches_pytorch(model_files, tmp_path, capsys):
    config, checkpoint, model = model_files
    out = tmp_path / 'g.pt'
    run_tool(config, checkpoint, '--direction', 'b2a', '--format',
             'torchscript', '--out', str(out), '--size', '32')
    assert 'max abs error' in capsys.readouterr().out
    module = torch.jit.load(str(out))
    inputs = torch.rand(2, 3, 36, 20) * 2 - 1
    with torch.no_grad():
        got = module(inputs).numpy()
    expected = reference(model, 'b2a', inputs)
    assert np.abs(got - expected).max() <= TOLERANCE
    # G_B, not G_A, was exported.
    assert np.abs(got - reference(model, 'a2b', inputs)).max() > 1e-2


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_check_catches_an_export_that_differs(model_files, tmp_path, fmt):
    config, checkpoint, _ = model_files
    generator = load_generator(config, checkpoint, 'a2b')
    out = str(tmp_path / f'g.{fmt}')
    export_generator(generator, out, fmt, size=16)
    assert check_export(generator, out, fmt, size=16) <= TOLERANCE
    with torch.no_grad():
        generator.model[-2].bias.add_(0.1)
    assert check_export(generator, out, fmt, size=16) > 1e-2


def test_tool_fails_when_the_export_differs(model_files, tmp_path):
    config, checkpoint, _ = model_files
    # onnxruntime's kernels round differently from PyTorch's, so its error
    # is tiny but not zero.
    with pytest.raises(SystemExit, match='differs from PyTorch'):
        run_tool(config, checkpoint,
                 '--direction', 'a2b', '--format', 'onnx', '--out',
                 str(tmp_path / 'g.onnx'), '--size', '16', '--atol', '0')
