import pytest
import torch

from cyclegan_plugin.registry import MODELS


def images(seed, n=4, size=32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen)


def test_builds_by_name_and_maps_images_to_feature_vectors():
    extractor = MODELS.build(
        dict(type='RandomProjectionFeatures', feat_dim=16, pool_size=4))
    feats = extractor(images(0))
    assert feats.shape == (4, 16) and feats.dtype == torch.float32
    assert len(set(map(tuple, feats.tolist()))) == 4  # images differ


def test_same_seed_same_features_in_a_fresh_instance():
    cfg = dict(type='RandomProjectionFeatures', seed=3)
    imgs = images(1, size=24)
    torch.testing.assert_close(
        MODELS.build(cfg)(imgs),
        MODELS.build(cfg)(imgs))
    other = MODELS.build(dict(cfg, seed=4))(imgs)
    assert not torch.allclose(MODELS.build(cfg)(imgs), other)


def test_rejects_float_images():
    extractor = MODELS.build(dict(type='RandomProjectionFeatures'))
    with pytest.raises(ValueError, match='uint8'):
        extractor(images(0).float())
