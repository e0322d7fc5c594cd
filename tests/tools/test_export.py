import json
import runpy
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from mmengine.config import Config

from cyclegan_plugin.apis import (AnySizeGenerator, ExportContractError,
                                  Translator, check_export, export_contract,
                                  export_generator, load_generator,
                                  read_contract)
from cyclegan_plugin.models import CycleGANDataPreprocessor
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


def exported_runner(path, fmt):
    """A function from a float32 (N, 3, H, W) array to the file's output."""
    if fmt == 'onnx':
        session = onnxruntime.InferenceSession(
            str(path), providers=['CPUExecutionProvider'])
        return lambda x: session.run(None, {'image': x})[0]
    module = torch.jit.load(str(path))
    return lambda x: module(torch.from_numpy(x)).detach().numpy()


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_exports_keep_odd_sizes_and_match_the_translator(
        model_files, tmp_path, fmt):
    config, checkpoint, model = model_files
    out = tmp_path / f'g.{fmt}'
    run_tool(config, checkpoint, '--direction', 'a2b', '--format', fmt,
             '--out', str(out), '--size', '32')
    run = exported_runner(out, fmt)
    # The contract's input: RGB uint8 pixels as x / 127.5 - 1, NCHW.
    image = np.random.default_rng(0).integers(0, 256, (33, 17, 3), np.uint8)
    inputs = CycleGANDataPreprocessor.normalize(
        torch.from_numpy(image).permute(2, 0, 1)[None])
    got = run(inputs.numpy())
    assert got.shape == (1, 3, 33, 17)  # not 36 x 20
    with torch.no_grad():  # what Translator runs on each image
        expected = AnySizeGenerator(model.generator_a.eval())(inputs).numpy()
    assert np.abs(got - expected).max() <= TOLERANCE
    # The contract's output back to pixels gives the Translator's image, up
    # to a rounding step where the 1e-5 difference straddles one.
    pixels = CycleGANDataPreprocessor.to_uint8(torch.from_numpy(got))
    translated = Translator(config, checkpoint).translate(image)
    diff = pixels[0].permute(1, 2, 0).numpy().astype(int) - translated
    assert np.abs(diff).max() <= 1
    batch = torch.rand(2, 3, 21, 30).numpy() * 2 - 1
    assert run(batch).shape == batch.shape


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_the_contract_is_written_into_the_file(model_files, tmp_path, fmt):
    config, checkpoint, model = model_files
    out = tmp_path / f'g.{fmt}'
    run_tool(config, checkpoint, '--direction', 'b2a', '--format', fmt,
             '--out', str(out), '--size', '32')
    contract = read_contract(str(out), fmt)
    assert contract == export_contract(model.generator_b, 'b2a')
    assert contract['layout'] == 'NCHW' and contract['channels'] == 'RGB'
    assert contract['value_range'] == '[-1, 1]'
    assert contract['min_side'] == '5'
    # Readable with each runtime's own API, without this package.
    if fmt == 'onnx':
        session = onnxruntime.InferenceSession(
            str(out), providers=['CPUExecutionProvider'])
        stored = session.get_modelmeta().custom_metadata_map
    else:
        extra = {'contract.json': ''}
        torch.jit.load(str(out), _extra_files=extra)
        stored = json.loads(extra['contract.json'])
    assert stored == contract


def test_too_small_inputs_are_refused(model_files, tmp_path):
    config, checkpoint, _ = model_files
    generator = load_generator(config, checkpoint, 'a2b')
    for fmt in ('onnx', 'torchscript'):
        export_generator(generator, str(tmp_path / f'g.{fmt}'), fmt, 16)
    onnx_run = exported_runner(tmp_path / 'g.onnx', 'onnx')
    script_run = exported_runner(tmp_path / 'g.torchscript', 'torchscript')
    smallest = np.zeros((1, 3, 5, 5), np.float32)
    assert onnx_run(smallest).shape == script_run(smallest).shape == (1, 3,
                                                                      5, 5)
    too_small = torch.zeros(1, 3, 4, 9)
    with pytest.raises(ValueError, match='at least 5x5'):
        AnySizeGenerator(generator)(too_small)
    with pytest.raises(torch.jit.Error, match='is 4x9 px .* at least 5x5'):
        script_run(too_small.numpy())
    # ONNX cannot raise; ONNX Runtime stops in a Pad node (README).
    with pytest.raises(Exception, match='Pad reflect requires'):
        onnx_run(too_small.numpy())


def test_check_refuses_files_that_break_the_contract(model_files, tmp_path):
    config, checkpoint, _ = model_files
    generator = load_generator(config, checkpoint, 'a2b')
    bare = torch.jit.trace(generator, torch.zeros(1, 3, 16, 16))
    path = str(tmp_path / 'bare.pt')
    bare.save(path)
    with pytest.raises(ExportContractError, match='does not state'):
        check_export(generator, path, 'torchscript', size=16)
    # The bare generator with the contract stuck on: 17 x 9 comes back as
    # 20 x 12.
    contract = json.dumps(export_contract(generator))
    bare.save(path, _extra_files={'contract.json': contract})
    with pytest.raises(ExportContractError, match=r'\(2, 3, 17, 9\)'):
        check_export(generator, path, 'torchscript', size=16)
