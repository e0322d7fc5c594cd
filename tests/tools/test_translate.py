import os
import runpy
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
    # Input name -> size; outputs are PNGs of the same stem.
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
    assert written == sorted(as_png(name) for name in good)
    for name, (height, width) in good.items():
        with Image.open(out / as_png(name)) as image:
            assert image.format == 'PNG' and image.mode == 'RGB'
            assert image.size == (width, height)
    assert f'Translated {len(good)} image(s)' in result.stdout
    # notes.txt is no image file: ignored, not reported.
    assert 'Skipped 1 unreadable file(s)' in result.stdout
    skipped_lines = result.stdout.split('Skipped 1')[1]
    assert 'corrupt.png' in skipped_lines and 'notes.txt' not in skipped_lines
    assert 'square.png' not in skipped_lines


def as_png(name: str) -> str:
    return os.path.splitext(name)[0] + '.png'


def test_nothing_translated_is_an_error_and_ext_chooses_the_format(
        model_files, mixed_folder, tmp_path):
    config, checkpoint = model_files
    root, _ = mixed_folder
    empty = tmp_path / 'only_text'
    empty.mkdir()
    (empty / 'readme.txt').write_text('no images here\n')
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'bad.png').write_bytes(b'not a png')
    for folder, message in ((empty, 'holds no image files'),
                            (broken, 'no image was translated')):
        result = subprocess.run([
            sys.executable, 'tools/translate.py', config, checkpoint,
            str(folder), '--out',
            str(tmp_path / 'out')
        ],
                                cwd=REPO,
                                capture_output=True,
                                text=True,
                                timeout=120)
        assert result.returncode != 0 and message in result.stderr, (
            result.stderr)
    report = translate_files(
        Translator(config, checkpoint),
        str(root / 'square.png'),
        str(tmp_path / 'jpg'),
        progress=False,
        ext='jpg')
    assert report.written == [str(tmp_path / 'jpg' / 'square.jpg')]
    assert Image.open(report.written[0]).format == 'JPEG'
    with pytest.raises(ValueError, match='cannot write'):
        translate_files(
            Translator(config, checkpoint),
            str(root),
            str(tmp_path / 'x'),
            progress=False,
            ext='nope')


def test_bf16_without_native_kernels_falls_back_to_fp32_with_a_warning(
        model_files, monkeypatch):
    config, checkpoint = model_files
    from cyclegan_plugin.apis import translator as translator_module
    monkeypatch.setattr(translator_module, 'cpu_has_fast_bf16', lambda: False)
    with pytest.warns(translator_module.SlowBF16Warning, match='fp32'):
        translator = Translator(config, checkpoint, bf16=True)
    assert translator.bf16 is False


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
    assert len(caught) == 1
    assert [os.path.basename(e.path) for e in report.skipped] == [
        'corrupt.png'
    ]
    assert len(report.written) == len(good)
    for name in good:  # PNG outputs are lossless
        expected = translator.translate(str(root / name), 'b2a')
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / 'out' / as_png(name))), expected)


def test_single_file_and_output_inside_the_input(model_files, mixed_folder):
    config, checkpoint = model_files
    root, good = mixed_folder
    translator = Translator(config, checkpoint)
    report = translate_files(
        translator, str(root / 'wide.jpg'), str(root / 'out'), progress=False)
    assert report.written == [str(root / 'out' / 'wide.png')]
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


def test_a_single_file_is_tried_whatever_its_name(model_files, tmp_path):
    config, checkpoint = model_files
    root = tmp_path / 'in'
    root.mkdir()
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(
        root / 'scan.data', format='PNG')
    report = translate_files(
        Translator(config, checkpoint),
        str(root / 'scan.data'),
        str(tmp_path / 'out'),
        progress=False)
    assert report.written == [str(tmp_path / 'out' / 'scan.png')]
    assert Image.open(report.written[0]).size == (12, 8)


def test_tile_and_overlap_reach_the_translator(model_files, mixed_folder,
                                               tmp_path):
    config, checkpoint = model_files
    root, _ = mixed_folder
    main = runpy.run_path(str(REPO / 'tools' / 'translate.py'))['main']
    out = tmp_path / 'tiled'
    main([
        config, checkpoint,
        str(root / 'nested' / 'tall.bmp'), '--out',
        str(out), '--tile', '32', '--overlap', '8'
    ])
    tiled = Translator(config, checkpoint, tile=32, overlap=8)
    expected = tiled.translate(str(root / 'nested' / 'tall.bmp'))  # 50 x 21
    np.testing.assert_array_equal(np.asarray(Image.open(out / 'tall.png')),
                                  expected)
    whole = Translator(config, checkpoint).translate(
        str(root / 'nested' / 'tall.bmp'))
    assert not np.array_equal(expected, whole)  # two tiles, blended
    with pytest.raises(SystemExit, match='tile must be an integer of at '
                       'least 32'):
        main([config, checkpoint, str(root), '--out', str(out), '--tile', '8'])
    with pytest.raises(SystemExit, match='stat_passes must be a positive'):
        main([
            config, checkpoint,
            str(root), '--out',
            str(out), '--tile', '32', '--overlap', '8', '--stat-passes', '0'
        ])
