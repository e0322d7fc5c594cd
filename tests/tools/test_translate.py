import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_plugin.apis import (SkippedFileWarning, Translator,
                                  translate_files)
from cyclegan_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[2]

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
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return str(config), str(checkpoint)


@pytest.fixture
def mixed_folder(tmp_path):
    """Good images of several sizes and formats (one in a subfolder), a
    grayscale and an RGBA image, a corrupt PNG and a text file."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'photos'
    (root / 'nested').mkdir(parents=True)

    def pixels(height, width, channels=3):
        return rng.integers(0, 256, (height, width, channels), np.uint8)

    Image.fromarray(pixels(32, 32)).save(root / 'square.png')
    Image.fromarray(pixels(30, 45)).save(root / 'wide.jpg')
    Image.fromarray(pixels(50, 21)).save(root / 'nested' / 'tall.bmp')
    Image.fromarray(pixels(17, 23)[..., 0]).save(root / 'gray.png')
    Image.fromarray(pixels(19, 26, 4)).save(root / 'rgba.png')
    good = {
        'square.png': (32, 32),
        'wide.jpg': (30, 45),
        'nested/tall.bmp': (50, 21),
        'gray.png': (17, 23),
        'rgba.png': (19, 26),
    }
    png = (root / 'square.png').read_bytes()
    (root / 'corrupt.png').write_bytes(png[:len(png) // 3])
    (root / 'notes.txt').write_text('not an image\n')
    return root, good


def test_tool_translates_every_good_image_and_reports_skipped_files(
        model_files, mixed_folder, tmp_path):
    config, checkpoint = model_files
    root, good = mixed_folder
    out = tmp_path / 'anime'
    result = subprocess.run([
        sys.executable, 'tools/translate.py', config, checkpoint,
        str(root), '--out',
        str(out), '--batch-size', '2'
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            env={
                                **os.environ, 'PYTHONWARNINGS': 'default'
                            },
                            timeout=120)
    assert result.returncode == 0, result.stderr
    written = sorted(
        str(p.relative_to(out)) for p in out.rglob('*') if p.is_file())
    assert written == sorted(good)
    for name, (height, width) in good.items():
        with Image.open(out / name) as image:
            assert image.mode == 'RGB'
            assert image.size == (width, height)
    assert f'Translated {len(good)} image(s)' in result.stdout
    assert 'Skipped 2 unreadable file(s)' in result.stdout
    skipped_lines = result.stdout.split('Skipped 2')[1]
    assert 'corrupt.png' in skipped_lines and 'notes.txt' in skipped_lines
    assert 'square.png' not in skipped_lines


def test_outputs_match_the_python_api(model_files, mixed_folder, tmp_path):
    config, checkpoint = model_files
    root, good = mixed_folder
    translator = Translator(config, checkpoint)
    with pytest.warns(SkippedFileWarning) as caught:
        report = translate_files(
            translator,
            str(root),
            str(tmp_path / 'out'),
            'b2a',
            progress=False)
    assert len(caught) == 2
    assert sorted(os.path.basename(e.path)
                  for e in report.skipped) == ['corrupt.png', 'notes.txt']
    assert len(report.written) == len(good)
    for name in ['square.png', 'gray.png', 'rgba.png']:  # lossless formats
        expected = translator.translate(str(root / name), 'b2a')
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / 'out' / name)), expected)


def test_single_file_and_output_inside_the_input(model_files, mixed_folder):
    config, checkpoint = model_files
    root, good = mixed_folder
    translator = Translator(config, checkpoint)
    report = translate_files(
        translator, str(root / 'wide.jpg'), str(root / 'out'), progress=False)
    assert report.written == [str(root / 'out' / 'wide.jpg')]
    # A second run over the folder leaves its own output folder alone.
    with pytest.warns(SkippedFileWarning):
        report = translate_files(
            translator, str(root), str(root / 'out'), progress=False)
    assert len(report.written) == len(good)


def test_refuses_to_overwrite_the_inputs(model_files, mixed_folder):
    config, checkpoint = model_files
    root, _ = mixed_folder
    translator = Translator(config, checkpoint)
    with pytest.raises(ValueError, match='overwrite'):
        translate_files(translator, str(root), str(root), progress=False)
    with pytest.raises(ValueError, match='overwrite'):
        translate_files(
            translator, str(root / 'square.png'), str(root), progress=False)


def test_unknown_extensions_are_written_as_png(model_files, tmp_path):
    config, checkpoint = model_files
    root = tmp_path / 'in'
    root.mkdir()
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(
        root / 'scan.data', format='PNG')
    report = translate_files(
        Translator(config, checkpoint),
        str(root),
        str(tmp_path / 'out'),
        progress=False)
    assert report.written == [str(tmp_path / 'out' / 'scan.data.png')]
    assert Image.open(report.written[0]).size == (12, 8)
