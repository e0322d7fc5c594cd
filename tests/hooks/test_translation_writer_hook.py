import json
import runpy
import uuid
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from gloo_ranks import free_port, start_rank
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.structures import BaseDataElement
from tiny_test_config import tiny_test_config
from torch import distributed as dist

from cyclegan_plugin.hooks import TranslationWriterHook
from cyclegan_plugin.registry import MODELS
from cyclegan_plugin.visualization import PANELS

REPO = Path(__file__).resolve().parents[2]
SIZE = 16
SIZES = {
    'testA': {
        'a0': (20, 28),
        'a1': (12, 16),
        'a2': (17, 9)
    },
    'testB': {
        'b0': (25, 15),
        'b1': (16, 16)
    }
}
# Distributed runs wrap the model in the plugin's DDP, addressed by scope.
EXTRA_CONFIG = """
model_wrapper_cfg = dict(
    type='cyclegan_plugin.PerNetworkDistributedDataParallel')
log_level = 'WARNING'
"""


def run_rank(rank, port, args):
    start_rank(rank, port)
    # The tool shuts the process group down when it is done.
    runpy.run_path(str(REPO / 'tools' /
                       'test.py'))['main']([*args, '--launcher', 'pytorch'])
    assert not dist.is_initialized()


def test_two_processes_write_every_image_once(tmp_path):
    """tools/test.py on two ranks: they split the five images (the sampler
    pads them to six) and rank 0 indexes and counts each image once."""
    rng = np.random.default_rng(0)
    for folder, sizes in SIZES.items():
        (tmp_path / 'data' / folder).mkdir(parents=True)
        for name, (height, width) in sizes.items():
            cv2.imwrite(
                str(tmp_path / 'data' / folder / f'{name}.png'),
                rng.integers(0, 256, (height, width, 3), np.uint8))
    config = tmp_path / 'tiny.py'
    config.write_text(
        tiny_test_config(str(tmp_path / 'data'), SIZE, extra=EXTRA_CONFIG))
    checkpoint = tmp_path / 'tiny.pth'
    model = MODELS.build(Config.fromfile(str(config)).model)
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'out'
    args = [
        str(config),
        str(checkpoint), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out), '--cfg-options', f'experiment_name=test-{uuid.uuid4().hex}'
    ]
    # fork: the children reuse this process's imports, which dominate the
    # run time of a test this small.
    mp.start_processes(
        run_rank, args=(free_port(), args), nprocs=2, start_method='fork')

    for folder, direction in (('testA', 'a2b'), ('testB', 'b2a')):
        for name, (height, width) in SIZES[folder].items():
            image = cv2.imread(str(out / direction / f'{name}.png'))
            assert image.shape == (height, width, 3)
    assert len(list(out.glob('*2*/*.png'))) == 5
    results = json.loads((out / 'metrics.json').read_text())
    assert results['num_images'] == {'a2b': 3, 'b2a': 2}
    assert set(results['metrics']) == {
        'cycle_l1_a', 'cycle_psnr_a', 'cycle_l1_b', 'cycle_psnr_b'
    }
    index = (out / 'index.html').read_text()
    assert index.count('<tr><td>') == 5


def output(domain, path, value, shape=(8, 8)):
    image = torch.full((3, *shape), value, dtype=torch.uint8)
    return BaseDataElement(
        domain=domain,
        img_path=path,
        ori_shape=(10, 6),
        real_img=image,
        fake_img=image + 1,
        rec_img=image + 2)


def fake_runner(tmp_path):
    return SimpleNamespace(
        work_dir=str(tmp_path),
        cfg=Config(dict(load_from='ckpt.pth')),
        logger=MMLogger.get_instance(f'writer-{tmp_path.name}'))


def test_same_names_in_one_domain_are_reported(tmp_path):
    hook = TranslationWriterHook(out_dir=str(tmp_path / 'out'))
    runner = fake_runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(
        runner,
        0,
        outputs=[
            output('a', 'x/face.png', 10),
            output('a', 'x/face.jpg', 20),
            output('b', 'y/face.png', 30)
        ])
    with pytest.warns(UserWarning, match='1 test image'):
        hook.after_test_epoch(runner, metrics={'cycle_l1_a': float('inf')})
    results = json.loads((tmp_path / 'out' / 'metrics.json').read_text())
    assert results == {
        'checkpoint': 'ckpt.pth',
        'num_images': {
            'a2b': 1,
            'b2a': 1
        },
        'metrics': {
            'cycle_l1_a': 'inf'
        },
        'not_computed': {}
    }
    fake = cv2.imread(str(tmp_path / 'out' / 'b2a' / 'face.png'))
    assert fake.shape == (10, 6, 3) and (fake == 31).all()


def test_default_out_dir_and_no_metrics(tmp_path):
    hook = TranslationWriterHook()
    runner = fake_runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, outputs=[output('b', 'q.png', 5)])
    hook.after_test_epoch(runner, metrics={})
    out = tmp_path / 'test_results'
    assert (out / 'b2a' / 'q.png').is_file()
    assert (out / 'gallery_b2a.png').is_file()
    assert not (out / 'gallery_a2b.png').exists()
    assert 'A &rarr; B' not in (out / 'index.html').read_text()


def test_paired_outputs_get_gt_and_error_panels(tmp_path):
    hook = TranslationWriterHook(out_dir=str(tmp_path / 'out'))
    runner = fake_runner(tmp_path)
    hook.before_test(runner)
    sample = output('a', 'p/face.png', 10)
    gt = sample.fake_img.clone()
    gt[:, :2] += 60  # the top two rows of the translation miss by 60
    sample.gt_img = gt
    hook.after_test_iter(runner, 0, outputs=[sample])
    hook.after_test_epoch(runner, metrics={})
    out = tmp_path / 'out'
    gallery = out / 'gallery' / 'a2b'
    assert sorted(p.name for p in gallery.iterdir()) == [
        f'face_{panel}.png' for panel in sorted(PANELS)
    ]
    assert (cv2.imread(str(gallery / 'face_gt.png'))[..., 0] ==
            gt[0].numpy()).all()
    error = cv2.imread(str(gallery / 'face_error.png'))
    assert (error[:2] == error[0, 0]).all()
    assert (error[2:] == error[2, 0]).all()
    assert error[0, 0].sum() > error[2, 0].sum() + 100
    # Five 8 px panels side by side.
    assert cv2.imread(str(out / 'gallery_a2b.png')).shape[1] > 5 * 8
    index = (out / 'index.html').read_text()
    assert '<th>gt B</th><th>error</th><th>rec A</th>' in index
