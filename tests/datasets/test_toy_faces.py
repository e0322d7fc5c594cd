"""Tests of the toy faces benchmark (synthetic paired photo/anime faces)."""
import dataclasses
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cyclegan_plugin.datasets import toy_faces

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ('trainA', 'trainB', 'testA', 'testB')


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = np.mean((x.astype(np.float64) - y.astype(np.float64))**2)
    return float(10 * np.log10(255**2 / mse))


def _hue_degrees(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img.astype(np.float32),
                        cv2.COLOR_RGB2HSV)[..., 0].astype(np.float64)


def _hue_gap(h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    gap = np.abs(h1 - h2) % 360
    return np.minimum(gap, 360 - gap)


def _tree(root: Path) -> dict:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob('*')) if p.is_file()
    }


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('toy_faces')
    toy_faces.make_toy_faces(root, size=32, n_train=8, n_test=8, seed=0)
    return root


def test_layout_and_counts(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == sorted(FOLDERS)
    assert sorted(p.name for p in (dataset / 'trainA').iterdir()) == [
        f'a{i:05d}.png' for i in range(8)
    ]
    assert sorted(p.name for p in (dataset / 'trainB').iterdir()) == [
        f'b{i:05d}.png' for i in range(8)
    ]
    test_names = sorted(p.name for p in (dataset / 'testA').iterdir())
    assert test_names == [f'{i:05d}.png' for i in range(8)]
    assert sorted(p.name for p in (dataset / 'testB').iterdir()) == test_names
    for path in dataset.rglob('*.png'):
        img = _read(path)
        assert img.shape == (32, 32, 3) and img.dtype == np.uint8


def test_same_seed_same_bytes_other_seed_differs(dataset, tmp_path):
    again = tmp_path / 'again'
    counts = toy_faces.make_toy_faces(
        again, size=32, n_train=8, n_test=8, seed=0)
    assert counts == {'trainA': 8, 'trainB': 8, 'testA': 8, 'testB': 8}
    assert _tree(again) == _tree(dataset)

    other = tmp_path / 'other'
    toy_faces.make_toy_faces(other, size=32, n_train=8, n_test=8, seed=1)
    ref, new = _tree(dataset), _tree(other)
    assert ref.keys() == new.keys()
    assert all(ref[name] != new[name] for name in ref)


def test_test_split_does_not_depend_on_n_train(dataset, tmp_path):
    toy_faces.make_toy_faces(tmp_path, size=32, n_train=2, n_test=8, seed=0)
    for folder in ('testA', 'testB'):
        for path in (dataset / folder).iterdir():
            assert (tmp_path / folder / path.name).read_bytes() == \
                path.read_bytes()


def test_test_pairs_are_render_pair(dataset):
    for i in (0, 5):
        img_a, img_b = toy_faces.render_pair([0, 2, i], size=32)
        np.testing.assert_array_equal(
            _read(dataset / 'testA' / f'{i:05d}.png'), img_a)
        np.testing.assert_array_equal(
            _read(dataset / 'testB' / f'{i:05d}.png'), img_b)


def test_train_split_is_unpaired_test_split_is_paired(dataset):
    """Same-index train images come from different faces, test pairs not."""

    def mean_psnr(folder_a, folder_b, prefix_a, prefix_b):
        return np.mean([
            _psnr(
                _read(dataset / folder_a / f'{prefix_a}{i:05d}.png'),
                _read(dataset / folder_b / f'{prefix_b}{i:05d}.png'))
            for i in range(8)
        ])

    train = mean_psnr('trainA', 'trainB', 'a', 'b')
    test = mean_psnr('testA', 'testB', '', '')
    assert test > train + 3


def _foreground(img: np.ndarray) -> np.ndarray:
    """Everything but the green chroma-key background, ``(H, W)`` bool."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV_FULL).astype(np.float64)
    hue = hsv[..., 0] * 360 / 256
    background = (np.abs(hue - 120) < 25) & (hsv[..., 1] > 100) & (
        hsv[..., 2] > 20)
    return ~background


def _iou(x: np.ndarray, y: np.ndarray) -> float:
    return float((x & y).sum() / (x | y).sum())


def test_pair_shares_geometry():
    """A chroma-key silhouette of A and of B overlap almost exactly."""
    masks = []
    for i in range(8):
        params, noise_rng = toy_faces.draw([11, i])
        # Green background, purple clothes: no face colour is near the key.
        params = dataclasses.replace(
            params, background=(0.1, 0.7, 0.1), clothes=(0.55, 0.35, 0.6))
        imgs = toy_faces.render(params, 64, noise_rng=noise_rng)
        masks.append((_foreground(imgs['a']), _foreground(imgs['b'])))
    for fg_a, fg_b in masks:
        assert 0.1 < fg_a.mean() < 0.9
        assert _iou(fg_a, fg_b) > 0.92
    paired = np.mean([_iou(a, b) for a, b in masks])
    # Control: silhouettes of different faces overlap clearly less.
    unpaired = np.mean(
        [_iou(masks[i][0], masks[i - 1][1]) for i in range(len(masks))])
    assert paired > 0.96
    assert unpaired < paired - 0.08


def test_domains_differ_and_anime_is_more_saturated():
    for i in range(6):
        img_a, img_b = toy_faces.render_pair([5, i])
        assert np.abs(img_a.astype(np.int64) - img_b).mean() > 15
        sat_a = cv2.cvtColor(img_a, cv2.COLOR_RGB2HSV)[..., 1].mean()
        sat_b = cv2.cvtColor(img_b, cv2.COLOR_RGB2HSV)[..., 1].mean()
        assert sat_b > 1.3 * sat_a


def test_anime_keeps_the_hue_of_the_photo():
    kernel = np.ones((3, 3), np.uint8)
    for i in range(6):
        img_a, img_b = toy_faces.render_pair([6, i])
        # Smooth A's noise; compare inside B's flat regions (away from
        # outlines and anti-aliased borders) where both are clearly coloured.
        smooth_a = cv2.GaussianBlur(img_a, (0, 0), 1)
        hsv_a = cv2.cvtColor(smooth_a, cv2.COLOR_RGB2HSV)
        hsv_b = cv2.cvtColor(img_b, cv2.COLOR_RGB2HSV)
        flat = (cv2.dilate(img_b, kernel).astype(np.int64) -
                cv2.erode(img_b, kernel)).max(-1) < 8
        inside = flat & np.all(hsv_a[..., 1:] > 60, -1) & np.all(
            hsv_b[..., 1:] > 60, -1)
        assert inside.mean() > 0.05
        gap = _hue_gap(_hue_degrees(smooth_a), _hue_degrees(img_b))[inside]
        assert np.median(gap) < 3
        assert np.percentile(gap, 99) < 8


def test_toon_tone_is_monotone_and_hue_preserving():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (1, 4000, 3)).astype(np.float32)
    toned = toy_faces.toon_tone(rgb)
    hsv, hsv_toned = (cv2.cvtColor(x, cv2.COLOR_RGB2HSV) for x in (rgb, toned))
    coloured = hsv[..., 1] > 0.05
    assert _hue_gap(hsv[..., 0], hsv_toned[..., 0])[coloured].max() < 0.5
    assert np.all(hsv_toned[..., 1] >= hsv[..., 1] - 1e-5)
    # Darkening a colour (same hue and saturation) never brightens it.
    darker = toy_faces.toon_tone(rgb * 0.7)
    v_toned = hsv_toned[..., 2]
    v_darker = cv2.cvtColor(darker, cv2.COLOR_RGB2HSV)[..., 2]
    assert np.all(v_darker <= v_toned + 1e-5)
    # Cel shading: a smooth ramp collapses into a few flat tones.
    ramp = np.linspace(0, 1, 1000)[None, :, None] * [0.9, 0.6, 0.4]
    tones = toy_faces.toon_tone(ramp.astype(np.float32))
    assert len(np.unique(np.rint(tones[0] * 255), axis=0)) <= 8


def test_identity_baseline_psnr_leaves_room_to_learn(dataset):
    paired = [
        _psnr(
            _read(dataset / 'testA' / name), _read(dataset / 'testB' / name))
        for name in sorted(p.name for p in (dataset / 'testA').iterdir())
    ]
    assert np.all(np.isfinite(paired))
    assert np.mean(paired) < 25
    assert max(paired) < 30


def test_render_rejects_unknown_style():
    params, _ = toy_faces.draw(0)
    with pytest.raises(ValueError, match='unknown styles'):
        toy_faces.render(params, 32, styles=('a', 'c'))


def test_refuses_bad_arguments_and_non_empty_folders(tmp_path):
    with pytest.raises(ValueError, match='size >= 16'):
        toy_faces.make_toy_faces(tmp_path / 'x', size=8)
    with pytest.raises(ValueError, match='seed=-1'):
        toy_faces.make_toy_faces(tmp_path / 'x', seed=-1)
    toy_faces.make_toy_faces(tmp_path, size=16, n_train=1, n_test=1)
    with pytest.raises(FileExistsError, match='trainA'):
        toy_faces.make_toy_faces(tmp_path, size=16, n_train=1, n_test=1)


def test_cli_writes_the_dataset(tmp_path, monkeypatch, capsys):
    # In-process: a subprocess would spend seconds re-importing torch.
    out = tmp_path / 'faces'
    monkeypatch.setattr(sys, 'argv', [
        'make_toy_faces.py',
        str(out), '--size', '24', '--n-train', '3', '--n-test', '2', '--seed',
        '4'
    ])
    runpy.run_path(
        str(REPO / 'tools' / 'make_toy_faces.py'), run_name='__main__')
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and 'trainA 3' in lines[0] and 'testB 2' in lines[0]
    assert {
        f: len(list((out / f).iterdir()))
        for f in FOLDERS
    } == {
        'trainA': 3,
        'trainB': 3,
        'testA': 2,
        'testB': 2
    }
    img_a, _ = toy_faces.render_pair([4, 2, 1], size=24)
    np.testing.assert_array_equal(_read(out / 'testA' / '00001.png'), img_a)
