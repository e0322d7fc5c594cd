import json
import re
import runpy
import subprocess
import urllib.error
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from tiny_test_config import tiny_test_config

from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.evaluation.inception import (WEIGHTS_ENV, WEIGHTS_FILE,
                                                  WEIGHTS_URL)
from cyclegan_plugin.models import CycleGANDataPreprocessor
from cyclegan_plugin.registry import DATASETS, MODELS
from cyclegan_plugin.visualization.grid import GAP, GROUP_GAP

REPO = Path(__file__).resolve().parents[2]
SIZE = 32  # the test pipeline's size
SIZES_A = {'a0': (40, 52), 'a1': (24, 36), 'a2': (33, 17)}
SIZES_B = {'b0': (50, 30), 'b1': (32, 32)}


@pytest.fixture
def setup(tmp_path):
    """A test set of differently sized images, a config and a
    checkpoint."""
    rng = np.random.default_rng(0)
    for folder, sizes in (('testA', SIZES_A), ('testB', SIZES_B)):
        (tmp_path / 'data' / folder).mkdir(parents=True)
        for name, (height, width) in sizes.items():
            # Smooth images: resampling them loses little.
            coarse = rng.integers(0, 256, (4, 4, 3), np.uint8)
            image = cv2.resize(
                coarse, (width, height), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(tmp_path / 'data' / folder / f'{name}.jpg'), image)
    config = tmp_path / 'tiny.py'
    config.write_text(
        tiny_test_config(
            str(tmp_path / 'data'),
            SIZE,
            batch_size=2,
            extra="runner_type = 'ExactResumeRunner'\n"))
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model).eval()
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, checkpoint)
    return cfg, model, str(config), str(checkpoint)


def run_tool(*args):
    # A unique name: mmengine shares loggers and message hubs by name.
    name = f'experiment_name=test-{uuid.uuid4().hex}'
    runpy.run_path(str(REPO / 'tools' /
                       'test.py'))['main']([*args, '--cfg-options', name])


def read_rgb(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_translations(out, sizes, direction):
    """Every image of the domain, at its original size, and nothing else."""
    assert sorted(p.name for p in (out / direction).iterdir()) == sorted(
        f'{name}.png' for name in sizes)
    for name, (height, width) in sizes.items():
        assert read_rgb(out / direction / f'{name}.png').shape == (height,
                                                                   width, 3)


def test_writes_translations_gallery_and_metrics(setup, tmp_path):
    cfg, model, config, checkpoint = setup
    out = tmp_path / 'out'
    work_dir = tmp_path / 'work'
    run_tool(config, checkpoint, '--work-dir', str(work_dir), '--out',
             str(out))

    check_translations(out, SIZES_A, 'a2b')
    check_translations(out, SIZES_B, 'b2a')

    # The panels are the model's input and outputs at the test size.
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    l1 = {'a': [], 'b': []}
    for i in range(len(dataset)):
        item = dataset[i]
        sample = item['data_samples']
        name = Path(sample.img_path).stem
        direction = 'a2b' if sample.domain == 'a' else 'b2a'
        real = item['inputs']['img']
        with torch.no_grad():
            fake = CycleGANDataPreprocessor.to_uint8(
                model.translate(
                    CycleGANDataPreprocessor.normalize(real[None]),
                    direction))[0]
        panels = {
            panel:
            read_rgb(out / 'gallery' / direction / f'{name}_{panel}.png')
            for panel in ('real', 'fake', 'rec')
        }
        np.testing.assert_array_equal(panels['real'],
                                      real.permute(1, 2, 0).numpy())
        # Batches of 2 vs 1 may round a value differently.
        np.testing.assert_allclose(
            panels['fake'], fake.permute(1, 2, 0).numpy(), atol=1)
        # The full-size file is that translation, resized.
        full = read_rgb(out / direction / f'{name}.png').astype(int)
        diff = {
            panel:
            np.abs(full - cv2.resize(
                image, full.shape[1::-1], interpolation=cv2.INTER_LINEAR)).
            mean()
            for panel, image in panels.items()
        }
        assert diff['fake'] < 0.5 * min(diff['real'], diff['rec'])
        l1[sample.domain].append(
            np.abs(panels['rec'].astype(float) - panels['real']).mean() /
            127.5)

    results = json.loads((out / 'metrics.json').read_text())
    assert results['checkpoint'] == checkpoint
    assert results['num_images'] == {'a2b': 3, 'b2a': 2}
    for domain in 'ab':
        assert results['metrics'][f'cycle_l1_{domain}'] == pytest.approx(
            np.mean(l1[domain]), abs=1e-9)

    grid = read_rgb(out / 'gallery_a2b.png')
    # One row of three real|fake|rec triples under a header.
    assert grid.shape[1] == 9 * SIZE + 6 * GAP + 2 * GROUP_GAP
    assert SIZE < grid.shape[0] < 2 * SIZE

    index = (out / 'index.html').read_text()
    links = re.findall(r'(?:href|src)="([^"]+)"', index)
    assert all((out / link).is_file() for link in links)
    for name in [*SIZES_A, *SIZES_B]:
        assert f'<td>{name}</td>' in index
    assert index.count('<tr><td>') == len(SIZES_A) + len(SIZES_B)

    log = next(work_dir.glob('*/*.log')).read_text()
    assert re.search(r'cycle_l1 +\| [0-9.]+ +\| [0-9.]+', log)


def test_default_output_is_in_the_work_dir(setup, tmp_path):
    _, _, config, checkpoint = setup
    run_tool(config, checkpoint, '--work-dir', str(tmp_path / 'work'))
    out = tmp_path / 'work' / 'test_results'
    check_translations(out, SIZES_A, 'a2b')
    check_translations(out, SIZES_B, 'b2a')
    assert (out / 'metrics.json').is_file()


def test_missing_checkpoint_is_a_one_line_error(setup, tmp_path):
    _, _, config, _ = setup
    with pytest.raises(SystemExit, match='nope.pth.*does not exist'):
        run_tool(config, str(tmp_path / 'nope.pth'))


def test_dist_test_sh_launches_test_py_with_torchrun(tmp_path):
    fake_python = tmp_path / 'python'
    fake_python.write_text('#!/bin/sh\necho "$@"\n')
    fake_python.chmod(0o755)
    result = subprocess.run([
        'bash', 'tools/dist_test.sh', 'cfg.py', 'ckpt.pth', '4', '--out', 'dir'
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            env={
                                'PATH': '/usr/bin:/bin',
                                'PYTHON': str(fake_python)
                            },
                            check=True)
    args = result.stdout.split()
    assert args[:2] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=4' in args and '--nnodes=1' in args
    assert args[-6:] == [
        'cfg.py', 'ckpt.pth', '--launcher', 'pytorch', '--out', 'dir'
    ]
    assert args[-7].endswith('tools/test.py')


OFFLINE_CONFIG = """
default_scope = 'cyclegan_plugin'
model = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=8, num_layers=1))
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='UnpairedImageDataset',
        data_root={data_root!r},
        test_mode=True,
        paired=True,
        pipeline=[
            dict(type='LoadRGBImage', keys=['img', 'gt_img']),
            dict(type='PackCycleGANInputs'),
        ]))
test_cfg = dict(type='TestLoop')
# KID and FID on the default TF-Inception features.
test_evaluator = [
    dict(type='KID', subset_size=2),
    dict(type='FID'),
    dict(type='PairedPSNR'),
    dict(type='CycleConsistency'),
]
"""


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A paired toy test set, a config with KID, FID, paired and cycle
    metrics and its checkpoint, on a machine without the Inception weights
    and without network (downloads fail)."""
    make_toy_faces(tmp_path / 'data', size=32, n_train=1, n_test=2)
    config = tmp_path / 'offline.py'
    config.write_text(OFFLINE_CONFIG.format(data_root=str(tmp_path / 'data')))
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'offline.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'empty_torch_home'))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    downloads = []

    def no_network(url, *args, **kwargs):
        downloads.append(url)
        raise urllib.error.URLError('no network in this test')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    return str(config), str(checkpoint), downloads


def test_without_inception_weights_everything_else_is_written(
        offline, tmp_path, capsys):
    config, checkpoint, downloads = offline
    out = tmp_path / 'out'
    run_tool(config, checkpoint, '--work-dir', str(tmp_path / 'work'),
             '--out', str(out))
    names = {f'{i:05d}': (32, 32) for i in range(2)}
    check_translations(out, names, 'a2b')
    check_translations(out, names, 'b2a')
    assert (out / 'gallery_a2b.png').is_file()
    assert (out / 'index.html').is_file()
    results = json.loads((out / 'metrics.json').read_text())
    assert {'psnr_a2b', 'psnr_b2a', 'cycle_l1_a', 'cycle_l1_b'} <= set(
        results['metrics'])
    assert not [k for k in results['metrics'] if k.startswith(('kid', 'fid'))]
    assert set(results['not_computed']) == {'KID', 'FID'}
    # One download try for both metrics.
    assert downloads == [WEIGHTS_URL]
    captured = capsys.readouterr()
    output = captured.out + captured.err
    # The message, naming file, URL and places, once, as the last line.
    reason = results['not_computed']['KID']
    assert results['not_computed']['FID'] == reason and '\n' not in reason
    for fragment in (WEIGHTS_FILE, WEIGHTS_URL, WEIGHTS_ENV,
                     str(tmp_path / 'empty_torch_home')):
        assert fragment in reason
    assert output.count('are not on this machine') == 1
    assert captured.err.strip().splitlines()[-1] == (
        f'test.py: KID, FID not computed: {reason}')


def test_skip_metrics_leaves_them_out_without_trying(offline, tmp_path,
                                                     capsys):
    config, checkpoint, downloads = offline
    out = tmp_path / 'out'
    run_tool(config, checkpoint, '--work-dir', str(tmp_path / 'work'),
             '--out', str(out), '--skip-metrics', 'kid', 'FID')
    results = json.loads((out / 'metrics.json').read_text())
    assert results['not_computed'] == {
        'KID': 'left out by --skip-metrics',
        'FID': 'left out by --skip-metrics'
    }
    assert 'psnr_a2b' in results['metrics']
    assert downloads == []
    assert 'not computed:' not in capsys.readouterr().err


def test_skip_metrics_names_the_metrics_there_are(offline, tmp_path):
    config, checkpoint, _ = offline
    with pytest.raises(SystemExit) as exit_info:
        run_tool(config, checkpoint, '--work-dir', str(tmp_path / 'work'),
                 '--skip-metrics', 'kdi')
    assert str(exit_info.value.code) == (
        'test.py: error: --skip-metrics kdi: the test_evaluator has no such '
        'metric; it has KID, FID, PairedPSNR, CycleConsistency')
