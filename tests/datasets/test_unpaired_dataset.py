import io
import os
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.config import Config
from mmengine.registry import DATASETS as ROOT_DATASETS
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

from cyclegan_plugin.datasets import (BadImageWarning, UnpairedImageDataset,
                                      check_image)
from cyclegan_plugin.datasets.image_loading import UnreadableImageError

CONFIGS = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets'
TEST_PIPELINE = [
    dict(type='LoadRGBImage', keys=['img']),
    dict(type='PackCycleGANInputs'),
]
TRAIN_PIPELINE = [
    dict(type='LoadRGBImage', keys=['img_a', 'img_b']),
    dict(type='PackCycleGANInputs'),
]


def write_image(path: Path, value: int = 0, size=(6, 5)) -> None:
    """A flat image of ``size`` (W, H) in the format its suffix names."""
    fmt = {
        '.jpg': 'JPEG',
        '.jpeg': 'JPEG',
        '.png': 'PNG',
        '.bmp': 'BMP',
        '.webp': 'WEBP'
    }[path.suffix.lower()]
    Image.new('RGB', size, (value, value, value)).save(path, fmt)


def make_root(root: Path, **counts: int) -> Path:
    """``root/<folder>/<i>.png`` for each ``folder=count``."""
    for folder, count in counts.items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            write_image(root / folder / f'{i:02d}.png', value=i)
    return root


def names(paths):
    """``folder/file`` of each path."""
    return [os.path.join(*Path(p).parts[-2:]) for p in paths]


def test_training_items_pair_every_image_of_both_domains(tmp_path):
    make_root(tmp_path, trainA=3, trainB=7)
    ds = UnpairedImageDataset(str(tmp_path), pipeline=TRAIN_PIPELINE)
    assert len(ds) == 7
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert names(i['img_a_path'] for i in infos) == [
        f'trainA/{i % 3:02d}.png' for i in range(7)
    ]
    assert sorted(names(i['img_b_path'] for i in infos)) == [
        f'trainB/{i:02d}.png' for i in range(7)
    ]
    item = ds[4]
    assert set(item['inputs']) == {'img_a', 'img_b'}
    assert item['inputs']['img_a'].shape == (3, 5, 6)
    assert item['data_samples'].path_a.endswith('trainA/01.png')


def test_more_a_than_b_cycles_b(tmp_path):
    make_root(tmp_path, trainA=5, trainB=2)
    ds = UnpairedImageDataset(str(tmp_path))
    b_names = names(ds.get_data_info(i)['img_b_path'] for i in range(5))
    assert len(ds) == 5
    assert sorted(set(b_names)) == ['trainB/00.png', 'trainB/01.png']


def test_training_pairing_is_a_pure_function_of_seed(tmp_path):
    make_root(tmp_path, trainA=8, trainB=8)

    def pairing(seed):
        ds = UnpairedImageDataset(
            str(tmp_path), seed=seed, serialize_data=False)
        return [ds.get_data_info(i)['img_b_path'] for i in range(len(ds))]

    assert pairing(3) == pairing(3)
    assert pairing(3) != pairing(4)
    # random, not the identity order
    assert pairing(3) != sorted(pairing(3))


def partners(ds, epoch):
    """The B file of every A item in ``epoch``."""
    return [
        ds.get_data_info(epoch * len(ds) + i)['img_b_path']
        for i in range(len(ds))
    ]


def test_every_epoch_draws_new_partners(tmp_path):
    make_root(tmp_path, trainA=20, trainB=20)
    ds = UnpairedImageDataset(str(tmp_path), serialize_data=False)
    epochs = [partners(ds, epoch) for epoch in range(3)]
    for before, after in zip(epochs, epochs[1:]):
        changed = sum(b != a for b, a in zip(before, after))
        assert changed >= 0.9 * len(ds), changed
    # Within an epoch every B image is used once.
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs)
    assert len(set(epochs[0])) == 20
    assert ds.get_data_info(45)['epoch'] == 2
    assert ds.get_data_info(45)['img_a_path'].endswith('trainA/05.png')


@pytest.mark.parametrize('num_a, num_b', [(10, 10), (7, 3)])
def test_each_a_image_meets_every_b_image_equally_often(
        tmp_path, num_a, num_b):
    """Chi-square per A image over 300 epochs; a fixed pairing (one B per
    A) scores 300 * (num_b - 1), far above the bound."""
    make_root(tmp_path, trainA=num_a, trainB=num_b)
    ds = UnpairedImageDataset(str(tmp_path), serialize_data=False)
    epochs = 300
    counts = np.zeros((num_a, num_b))
    b_index = {path: k for k, path in enumerate(ds._paths_b)}
    for epoch in range(epochs):
        for i, path in enumerate(partners(ds, epoch)):
            counts[i % num_a, b_index[path]] += 1
    expected = counts.sum(1, keepdims=True) / num_b
    chi2 = ((counts - expected)**2 / expected).sum(1)
    # 99.9% quantile of chi-square with 9 (num_b=10) or 2 (3) dof.
    bound = {10: 27.88, 3: 13.82}[num_b]
    assert chi2.max() < bound, chi2
    assert counts.sum() == epochs * len(ds)


def test_partners_do_not_depend_on_the_worker(tmp_path):
    make_root(tmp_path, trainA=6, trainB=5)

    def pairs(num_workers):
        loader = Runner.build_dataloader(
            dict(
                batch_size=2,
                num_workers=num_workers,
                sampler=dict(
                    type='ResumableInfiniteSampler', shuffle=True, seed=1),
                dataset=dict(
                    type='UnpairedImageDataset',
                    data_root=str(tmp_path),
                    pipeline=TRAIN_PIPELINE)),
            seed=0)
        batches = iter(loader)
        samples = [s for _ in range(9) for s in next(batches)['data_samples']]
        return [names([s.path_a, s.path_b]) for s in samples]

    in_process = pairs(0)
    assert pairs(2) == in_process
    # Three epochs of 6 items, each a fresh pairing.
    by_epoch = [sorted(map(tuple, in_process[e:e + 6])) for e in (0, 6, 12)]
    assert len(set(map(tuple, by_epoch))) == 3


def test_test_items_are_all_a_then_all_b(tmp_path):
    make_root(tmp_path, testA=2, testB=3)
    ds = UnpairedImageDataset(
        str(tmp_path), test_mode=True, pipeline=TEST_PIPELINE)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['domain'] for i in infos] == ['a', 'a', 'b', 'b', 'b']
    assert names(i['img_path'] for i in infos) == [
        'testA/00.png', 'testA/01.png', 'testB/00.png', 'testB/01.png',
        'testB/02.png'
    ]
    assert all('gt_img_path' not in i for i in infos)
    item = ds[3]
    assert set(item['inputs']) == {'img'}
    assert item['data_samples'].domain == 'b'
    assert item['data_samples'].ori_shape == (5, 6)


def test_extensions_of_any_case_are_found_sorted(tmp_path):
    folder = tmp_path / 'trainA'
    folder.mkdir()
    for name in ['c.JPG', 'a.png', 'B.Jpeg', 'd.bmp', 'e.WEBP', 'f.PnG']:
        write_image(folder / name)
    (folder / 'notes.txt').write_text('not an image')
    (folder / 'g.gif').write_bytes(b'GIF89a')
    (folder / 'sub.png').mkdir()  # a folder is not a file
    make_root(tmp_path, trainB=1)
    ds = UnpairedImageDataset(str(tmp_path))
    paths = [ds.get_data_info(i)['img_a_path'] for i in range(len(ds))]
    assert [os.path.basename(p) for p in paths
            ] == ['B.Jpeg', 'a.png', 'c.JPG', 'd.bmp', 'e.WEBP', 'f.PnG']


def test_folder_names_are_configurable(tmp_path):
    make_root(tmp_path, selfies=2, anime=1)
    ds = UnpairedImageDataset(
        str(tmp_path), test_mode=True, folder_a='selfies', folder_b='anime')
    assert len(ds) == 3
    assert ds.metainfo['folder_a'] == 'selfies'


def test_paired_test_items_carry_the_other_domains_image(tmp_path):
    for folder, suffix in (('testA', '.jpg'), ('testB', '.png')):
        (tmp_path / folder).mkdir()
        for stem in ('x', 'y'):
            write_image(tmp_path / folder / f'{stem}{suffix}')
    ds = UnpairedImageDataset(str(tmp_path), test_mode=True, paired=True)
    pairs = [(os.path.relpath(i['img_path'], tmp_path),
              os.path.relpath(i['gt_img_path'], tmp_path))
             for i in map(ds.get_data_info, range(len(ds)))]
    assert pairs == [('testA/x.jpg', 'testB/x.png'),
                     ('testA/y.jpg', 'testB/y.png'),
                     ('testB/x.png', 'testA/x.jpg'),
                     ('testB/y.png', 'testA/y.jpg')]


def test_paired_with_a_missing_stem_names_it(tmp_path):
    make_root(tmp_path, testA=0, testB=0)
    write_image(tmp_path / 'testA' / 'x.png')
    write_image(tmp_path / 'testA' / 'lonely.png')
    write_image(tmp_path / 'testB' / 'x.png')
    with pytest.raises(ValueError, match=r'testB.*lonely\.png'):
        UnpairedImageDataset(str(tmp_path), test_mode=True, paired=True)


def test_paired_with_an_ambiguous_stem_fails(tmp_path):
    make_root(tmp_path, testA=0, testB=0)
    write_image(tmp_path / 'testA' / 'x.png')
    write_image(tmp_path / 'testB' / 'x.png')
    write_image(tmp_path / 'testB' / 'x.jpg')
    with pytest.raises(ValueError, match='share the stem'):
        UnpairedImageDataset(str(tmp_path), test_mode=True, paired=True)


def test_paired_needs_test_mode(tmp_path):
    make_root(tmp_path, trainA=1, trainB=1)
    with pytest.raises(ValueError, match='test_mode'):
        UnpairedImageDataset(str(tmp_path), paired=True)


def test_missing_folder_shows_the_expected_layout(tmp_path):
    make_root(tmp_path, trainA=1, other=1)
    with pytest.raises(FileNotFoundError) as info:
        UnpairedImageDataset(str(tmp_path))
    message = str(info.value)
    assert 'trainB' in message and '├── trainA/' in message
    assert "['other', 'trainA']" in message  # what is there instead
    assert 'prepare_selfie2anime' in message


def test_missing_data_root_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        UnpairedImageDataset(str(tmp_path / 'nowhere'), test_mode=True)


def test_folder_without_images_fails(tmp_path):
    make_root(tmp_path, trainA=1, trainB=0)
    (tmp_path / 'trainB' / 'readme.txt').write_text('empty')
    with pytest.raises(FileNotFoundError, match=r'trainB.*holds no image'):
        UnpairedImageDataset(str(tmp_path))


def add_bad_files(folder: Path, count: int):
    for i in range(count):
        (folder / f'bad_{i}.jpg').write_bytes(b'not a jpeg' * i)


def test_bad_files_are_skipped_with_one_warning(tmp_path):
    make_root(tmp_path, trainA=2, trainB=3)
    add_bad_files(tmp_path / 'trainA', 7)
    add_bad_files(tmp_path / 'trainB', 1)
    with pytest.warns(BadImageWarning) as record:
        ds = UnpairedImageDataset(str(tmp_path))
    assert len(record) == 1
    message = str(record[0].message)
    assert 'skipped 8 unreadable' in message
    assert 'bad_0.jpg' in message and '... and 3 more' in message
    assert len(ds) == 3
    assert ds.metainfo['num_skipped_a'] == 7
    assert ds.metainfo['num_skipped_b'] == 1
    assert ds.metainfo['num_images_a'] == 2
    assert 'A: trainA 2 images (7 unreadable skipped)' in repr(ds)
    paths = [ds.get_data_info(i)['img_a_path'] for i in range(len(ds))]
    assert set(names(paths)) == {'trainA/00.png', 'trainA/01.png'}


def test_clean_data_gives_no_warning(tmp_path):
    make_root(tmp_path, trainA=2, trainB=2)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        UnpairedImageDataset(str(tmp_path))


def test_bad_files_error_lists_them(tmp_path):
    make_root(tmp_path, testA=2, testB=2)
    add_bad_files(tmp_path / 'testB', 2)
    with pytest.raises(ValueError) as info:
        UnpairedImageDataset(str(tmp_path), test_mode=True, bad_files='error')
    assert 'bad_0.jpg' in str(info.value) and 'bad_1.jpg' in str(info.value)


def test_domain_without_a_readable_image_fails(tmp_path):
    make_root(tmp_path, trainA=2, trainB=0)
    add_bad_files(tmp_path / 'trainB', 2)
    with pytest.raises(ValueError, match=r'none of the 2 .*trainB'):
        UnpairedImageDataset(str(tmp_path))


def test_unknown_bad_files_policy(tmp_path):
    with pytest.raises(ValueError, match='bad_files'):
        UnpairedImageDataset(str(tmp_path), bad_files='ignore')


def test_repr_before_and_after_init(tmp_path):
    make_root(tmp_path, testA=2, testB=1)
    ds = UnpairedImageDataset(str(tmp_path), test_mode=True, lazy_init=True)
    assert 'not initialized' in repr(ds)
    ds.full_init()
    assert 'length=3' in repr(ds) and 'B: testB 1 images' in repr(ds)


def test_builds_without_a_default_scope(tmp_path, monkeypatch):
    # Scripts and notebooks have no Runner to set the default scope.
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
    assert DefaultScope.get_current_instance() is None
    make_root(tmp_path, trainA=1, trainB=1)
    ds = UnpairedImageDataset(
        str(tmp_path),
        pipeline=[
            dict(type='LoadRGBImage', keys=['img_a', 'img_b']),
            dict(
                type='TransformBroadcaster',
                mapping={'img': ['img_a', 'img_b']},
                transforms=[dict(type='RandomCrop', crop_size=4)]),
            dict(type='PackCycleGANInputs'),
        ])
    assert ds[0]['inputs']['img_a'].shape == (3, 4, 4)


def test_runner_dataloader_with_workers_and_pseudo_collate(tmp_path):
    make_root(tmp_path, trainA=3, trainB=2)
    loader = Runner.build_dataloader(
        dict(
            batch_size=2,
            num_workers=1,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(
                type='UnpairedImageDataset',
                data_root=str(tmp_path),
                pipeline=TRAIN_PIPELINE)),
        seed=0)
    batches = list(loader)
    assert [len(b['data_samples']) for b in batches] == [2, 1]
    batch = batches[0]
    assert isinstance(batch['inputs']['img_a'], list)
    assert batch['inputs']['img_a'][0].dtype == torch.uint8
    assert batch['data_samples'][0].path_a.endswith('.png')


def load_config(name: str, root: Path) -> Config:
    cfg = Config.fromfile(str(CONFIGS / name))
    cfg.merge_from_dict({
        f'{split}_dataloader.dataset.data_root': str(root)
        for split in ('train', 'val', 'test')
    })
    return cfg


@pytest.mark.parametrize('name, train_size, paired',
                         [('selfie2anime.py', 256, False),
                          ('toy_faces.py', 32, True)])
def test_config_dataloaders_build_and_load(tmp_path, name, train_size, paired):
    make_root(tmp_path, trainA=2, trainB=2, testA=2, testB=2)
    cfg = load_config(name, tmp_path)
    train_item = ROOT_DATASETS.build(cfg.train_dataloader.dataset)[0]
    assert train_item['inputs']['img_b'].shape == (3, train_size, train_size)
    for split in ('val', 'test'):
        loader_cfg = cfg[f'{split}_dataloader']
        assert loader_cfg.batch_size == 1
        assert loader_cfg.sampler.shuffle is False
        ds = ROOT_DATASETS.build(loader_cfg.dataset)
        assert ds.test_mode and len(ds) == 4
        sample = ds[2]['data_samples']
        assert sample.domain == 'b'
        assert ('gt_img' in sample) == paired
    assert cfg.train_dataloader.sampler.shuffle is True
    assert cfg.train_dataloader.batch_size == 1


def test_config_data_root_overrides_are_independent(tmp_path):
    cfg = Config.fromfile(str(CONFIGS / 'selfie2anime.py'))
    cfg.merge_from_dict({'test_dataloader.dataset.data_root': 'elsewhere'})
    assert cfg.test_dataloader.dataset.data_root == 'elsewhere'
    assert cfg.val_dataloader.dataset.data_root == 'data/selfie2anime'
    assert cfg.train_dataloader.dataset.data_root == 'data/selfie2anime'


@st.composite
def folder_contents(draw):
    """A list of (kind, bytes) files: valid images of random modes and
    sizes, or junk."""
    files = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            mode = draw(
                st.sampled_from(['L', 'LA', 'RGB', 'RGBA', 'P', 'I;16']))
            width, height = draw(st.integers(1, 80)), draw(st.integers(1, 80))
            rng = np.random.default_rng(draw(st.integers(0, 99)))
            if mode == 'I;16':
                image = Image.fromarray(
                    rng.integers(0, 65536, (height, width), dtype=np.uint16))
            else:
                image = Image.fromarray(
                    rng.integers(0, 256, (height, width, 4), np.uint8),
                    'RGBA').convert(mode)
            buf = io.BytesIO()
            image.save(buf, 'PNG')
            files.append(((height, width), buf.getvalue()))
        else:
            files.append((None, draw(st.binary(max_size=64))))
    return files


@settings(max_examples=30, deadline=None)
@given(folder_contents(), folder_contents())
def test_dataset_keeps_exactly_the_readable_files(files_a, files_b):
    with tempfile.TemporaryDirectory() as tmp:
        expected = []
        for folder, files in (('testA', files_a), ('testB', files_b)):
            (Path(tmp) / folder).mkdir()
            readable = []
            for k, (shape, content) in enumerate(files):
                path = Path(tmp) / folder / f'{k}.png'
                path.write_bytes(content)
                if shape is None:  # junk: its fate is the loader's call
                    try:
                        check_image(path)
                    except UnreadableImageError:
                        continue
                    shape = Image.open(path).size[::-1]
                readable.append(shape)
            expected.append(readable)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', BadImageWarning)
            if not expected[0] or not expected[1]:
                with pytest.raises(ValueError, match='none of the'):
                    UnpairedImageDataset(tmp, test_mode=True)
                return
            # serialize_data=False: skips the gc.collect() that would
            # dominate each example's time.
            ds = UnpairedImageDataset(
                tmp,
                test_mode=True,
                pipeline=TEST_PIPELINE,
                serialize_data=False)
        assert len(ds) == len(expected[0]) + len(expected[1])
        for i, shape in enumerate(expected[0] + expected[1]):
            img = ds[i]['inputs']['img']
            assert img.dtype == torch.uint8 and img.shape == (3, *shape)
