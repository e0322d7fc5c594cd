from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.structures import BaseDataElement
from PIL import Image

from cyclegan_plugin.datasets import (LoadRGBImage, PackCycleGANInputs,
                                      RandomCrop)
from cyclegan_plugin.registry import TRANSFORMS

CONFIGS = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets'


def write_png(path: Path, array: np.ndarray) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def coordinate_image(height: int, width: int) -> np.ndarray:
    """Pixel (y, x) holds (y, x, 7): a crop or flip shows where it came
    from."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([ys, xs, np.full_like(ys, 7)], -1).astype(np.uint8)


def test_transforms_build_by_bare_name_and_mmcv_ones_resolve():
    assert isinstance(
        TRANSFORMS.build(dict(type='RandomCrop', crop_size=4)), RandomCrop)
    assert isinstance(
        TRANSFORMS.build(dict(type='PackCycleGANInputs')), PackCycleGANInputs)
    # mmcv's transforms live in the root registry and are found from ours.
    assert type(TRANSFORMS.build(dict(type='RandomFlip',
                                      prob=0.5))).__name__ == 'RandomFlip'


def test_load_rgb_image_loads_every_key(tmp_path):
    a = np.zeros((5, 6, 3), np.uint8)
    b = np.full((7, 3, 3), 200, np.uint8)
    results = LoadRGBImage(keys=['img_a', 'img_b'])(
        dict(
            img_a_path=write_png(tmp_path / 'a.png', a),
            img_b_path=write_png(tmp_path / 'b.png', b)))
    np.testing.assert_array_equal(results['img_a'], a)
    np.testing.assert_array_equal(results['img_b'], b)
    assert results['img_a_ori_shape'] == (5, 6)
    assert results['img_b_ori_shape'] == (7, 3)


def test_load_rgb_image_names_a_missing_path_key():
    with pytest.raises(KeyError, match="'gt_img_path'.*paired=True"):
        LoadRGBImage(keys=['img', 'gt_img'])(dict(img_path='x.png'))
    with pytest.raises(ValueError, match='keys'):
        LoadRGBImage(keys=[])


def test_random_crop_takes_a_window_of_the_image():
    img = coordinate_image(40, 50)
    crop = RandomCrop(crop_size=(16, 32))
    seen_top, seen_left = set(), set()
    np.random.seed(0)
    for _ in range(200):
        out = crop(dict(img=img))['img']
        assert out.shape == (16, 32, 3)
        top, left = int(out[0, 0, 0]), int(out[0, 0, 1])
        np.testing.assert_array_equal(out, img[top:top + 16, left:left + 32])
        seen_top.add(top)
        seen_left.add(left)
    # Uniform over every valid position, both extremes included.
    assert seen_top == set(range(40 - 16 + 1))
    assert {0, 50 - 32} <= seen_left


def test_random_crop_upscales_small_images_keeping_aspect():
    # 8 x 16, columns valued 0, 16, ..., 240: a 4x upscale (aspect kept)
    # to 32 x 64 leaves about half the columns in a 32 x 32 crop.
    columns = (np.arange(16) * 16).astype(np.uint8)
    img = np.broadcast_to(columns[None, :, None], (8, 16, 3)).copy()
    results = RandomCrop(crop_size=32)(dict(img=img))
    out = results['img']
    assert out.shape == (32, 32, 3) and results['img_shape'] == (32, 32)
    assert (out == out[:1]).all()  # rows are still identical
    span = int(out[0, :, 0].max()) - int(out[0, :, 0].min())
    assert 90 <= span <= 160


def test_random_crop_of_a_single_pixel():
    out = RandomCrop(crop_size=8)(
        dict(img=np.full((1, 1, 3), 9, np.uint8)))['img']
    assert out.shape == (8, 8, 3) and (out == 9).all()


@pytest.mark.parametrize('bad', [0, (4, ), (4, -1)])
def test_random_crop_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match='crop_size'):
        RandomCrop(crop_size=bad)


def broadcast(transforms, share):
    return ROOT_TRANSFORMS.build(
        dict(
            type='TransformBroadcaster',
            mapping={'img': ['img_a', 'img_b']},
            auto_remap=True,
            share_random_params=share,
            transforms=transforms))


@pytest.mark.parametrize('share', [False, True])
def test_broadcaster_flips_domains_independently_unless_shared(share):
    flip = broadcast([dict(type='RandomFlip', prob=0.5)], share)
    img = coordinate_image(4, 6)
    outcomes = set()
    np.random.seed(0)
    for _ in range(64):
        out = flip(dict(img_a=img.copy(), img_b=img.copy()))
        outcomes.add(
            (bool(out['img_a'][0, 0, 1] == 5), bool(out['img_b'][0, 0,
                                                                 1] == 5)))
    if share:
        assert outcomes == {(False, False), (True, True)}
    else:  # all four combinations of (A flipped, B flipped)
        assert len(outcomes) == 4


@pytest.mark.parametrize('share', [False, True])
def test_broadcaster_crops_domains_independently_unless_shared(share):
    crop = broadcast([dict(type='RandomCrop', crop_size=8)], share)
    img = coordinate_image(20, 20)
    same = []
    np.random.seed(0)
    for _ in range(20):
        out = crop(dict(img_a=img, img_b=img))
        same.append(np.array_equal(out['img_a'], out['img_b']))
    assert all(same) if share else sum(same) <= 2


def train_results():
    return dict(
        img_a=coordinate_image(6, 4),
        img_b=np.zeros((6, 4, 3), np.uint8),
        img_a_path='a/1.png',
        img_b_path='b/2.png',
        img_a_ori_shape=(9, 9),
        flip=True)


def test_pack_training_item_matches_the_contract():
    packed = PackCycleGANInputs()(train_results())
    assert set(packed) == {'inputs', 'data_samples'}
    assert set(packed['inputs']) == {'img_a', 'img_b'}
    for img in packed['inputs'].values():
        assert img.dtype == torch.uint8 and img.shape == (3, 6, 4)
        assert img.is_contiguous()
    # HWC -> CHW without mixing values up
    assert torch.equal(
        packed['inputs']['img_a'],
        torch.from_numpy(coordinate_image(6, 4)).permute(2, 0, 1))
    sample = packed['data_samples']
    assert isinstance(sample, BaseDataElement)
    assert set(sample.keys()) == {'path_a', 'path_b'}
    assert (sample.path_a, sample.path_b) == ('a/1.png', 'b/2.png')


def test_pack_test_item_matches_the_contract():
    results = dict(
        img=np.flip(coordinate_image(5, 3), 1),  # a non-contiguous view
        img_path='t/1.png',
        img_ori_shape=(50, 30),
        domain='b')
    packed = PackCycleGANInputs()(results)
    assert set(packed['inputs']) == {'img'}
    assert packed['inputs']['img'].shape == (3, 5, 3)
    sample = packed['data_samples']
    assert set(sample.keys()) == {'domain', 'img_path', 'ori_shape'}
    assert (sample.domain, sample.img_path,
            sample.ori_shape) == ('b', 't/1.png', (50, 30))


def test_pack_paired_test_item_has_gt_img():
    results = dict(
        img=np.zeros((5, 3, 3), np.uint8),
        gt_img=np.full((5, 3, 3), 3, np.uint8),
        img_path='t/1.png',
        gt_img_path='u/1.png',
        img_ori_shape=(5, 3),
        domain='a')
    sample = PackCycleGANInputs()(results)['data_samples']
    assert sample.gt_img.dtype == torch.uint8
    assert sample.gt_img.shape == (3, 5, 3) and (sample.gt_img == 3).all()


def test_pack_refuses_paired_data_without_gt_img():
    results = dict(
        img=np.zeros((5, 3, 3), np.uint8),
        img_path='t/1.png',
        gt_img_path='u/1.png',
        img_ori_shape=(5, 3),
        domain='a')
    with pytest.raises(KeyError, match='gt_img'):
        PackCycleGANInputs()(results)


def test_pack_rejects_wrong_arrays_and_missing_images():
    results = train_results()
    results['img_a'] = results['img_a'].astype(np.float32)
    with pytest.raises(ValueError, match='uint8'):
        PackCycleGANInputs()(results)
    with pytest.raises(KeyError, match='LoadRGBImage'):
        PackCycleGANInputs()(dict(img_a_path='x.png'))


def config_pipeline(name: str, key: str) -> Compose:
    return Compose(Config.fromfile(str(CONFIGS / name))[key])


@pytest.mark.parametrize('name, train_size, test_size, paired',
                         [('selfie2anime.py', 256, 256, False),
                          ('toy_faces.py', 32, 64, True)])
def test_config_pipelines_keep_red_in_channel_0(tmp_path, name, train_size,
                                                test_size, paired):
    red = np.zeros((20, 30, 3), np.uint8)
    red[..., 0] = 255
    path = write_png(tmp_path / 'red.png', red)
    train = config_pipeline(name, 'train_pipeline')(
        dict(img_a_path=path, img_b_path=path))
    test_item = dict(img_path=path, domain='a')
    if paired:
        test_item['gt_img_path'] = path
    test = config_pipeline(name, 'test_pipeline')(test_item)
    images = [(train['inputs']['img_a'], train_size),
              (train['inputs']['img_b'], train_size),
              (test['inputs']['img'], test_size)]
    if paired:
        images += [(test['data_samples'].gt_img, test_size)]
    for img, size in images:
        assert img.shape == (3, size, size) and img.dtype == torch.uint8
        assert (img[0] == 255).all() and (img[1:] == 0).all()
    assert test['data_samples'].ori_shape == (20, 30)
