"""TFInceptionFeatures without the real weights and without network access.

The real weights (~100 MB) are never downloaded here: a state dict of
randomly initialised weights of the same network stands in for the file.
"""
import pickle
import urllib.error

import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from cyclegan_plugin.evaluation import inception
from cyclegan_plugin.evaluation.inception import (PYTORCH_FID_WEIGHTS_FILE,
                                                  WEIGHTS_ENV, WEIGHTS_FILE,
                                                  WEIGHTS_URL,
                                                  TFInceptionFeatures,
                                                  find_inception_weights)


def offline(*args, **kwargs):
    raise urllib.error.URLError('network unreachable (test)')


@pytest.fixture
def no_weights_anywhere(monkeypatch, tmp_path):
    """An empty torch hub cache, no env var, and no network."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(tf_inception, 'load_state_dict_from_url', offline)


@pytest.fixture(scope='module')
def random_weights(tmp_path_factory):
    """A weights file of the right layout with random values."""
    mp = pytest.MonkeyPatch()
    mp.setattr(tf_inception, 'load_state_dict_from_url', lambda *a, **k: {})
    mp.setattr(tf_inception.FeatureExtractorInceptionV3, 'load_state_dict',
               lambda self, state_dict: None)
    torch.manual_seed(0)
    net = tf_inception.FeatureExtractorInceptionV3('inception-v3-compat',
                                                   ['2048'])
    mp.undo()
    path = tmp_path_factory.mktemp('weights') / WEIGHTS_FILE
    torch.save(net.state_dict(), path)
    return path


def test_offline_without_a_file_names_the_file_the_url_and_the_places(
        no_weights_anywhere):
    with pytest.raises(FileNotFoundError) as err:
        TFInceptionFeatures()
    msg = str(err.value)
    for part in (WEIGHTS_FILE, WEIGHTS_URL, WEIGHTS_ENV, 'inception_weights',
                 inception.hub_checkpoint_dir()):
        assert part in msg


def test_missing_explicit_path_names_the_argument(no_weights_anywhere,
                                                  tmp_path):
    with pytest.raises(FileNotFoundError, match='inception_weights='):
        find_inception_weights(str(tmp_path / 'nope.pth'))


def test_missing_env_path_names_the_variable(no_weights_anywhere, monkeypatch,
                                             tmp_path):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError, match=WEIGHTS_ENV):
        find_inception_weights()


def test_lookup_order(no_weights_anywhere, monkeypatch, tmp_path):
    assert find_inception_weights() is None
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    hub.mkdir(parents=True)
    (hub / PYTORCH_FID_WEIGHTS_FILE).touch()
    assert find_inception_weights() == str(hub / PYTORCH_FID_WEIGHTS_FILE)
    (hub / WEIGHTS_FILE).touch()
    assert find_inception_weights() == str(hub / WEIGHTS_FILE)
    env_file = tmp_path / 'env.pth'
    env_file.touch()
    monkeypatch.setenv(WEIGHTS_ENV, str(env_file))
    assert find_inception_weights() == str(env_file)
    arg_file = tmp_path / 'arg.pth'
    arg_file.touch()
    assert find_inception_weights(str(arg_file)) == str(arg_file)


def test_loads_a_local_file_and_extracts_2048_features_from_uint8(
        no_weights_anywhere, random_weights):
    extractor = TFInceptionFeatures(weights=str(random_weights))
    extractor.train()
    assert not extractor.net.training  # stays in eval mode
    assert not any(p.requires_grad for p in extractor.parameters())
    imgs = torch.randint(0, 256, (2, 3, 32, 40), dtype=torch.uint8)
    feats = extractor(imgs)
    assert feats.shape == (2, 2048) and feats.dtype == torch.float32
    assert torch.isfinite(feats).all()
    with pytest.raises(Exception, match='uint8'):
        extractor(imgs.float())


def test_default_construction_loads_the_file_found(no_weights_anywhere,
                                                   random_weights,
                                                   monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(random_weights))
    loaded = TFInceptionFeatures().net.state_dict()
    saved = torch.load(random_weights)
    assert loaded.keys() == saved.keys()
    for key in ('Conv2d_1a_3x3.conv.weight', 'Mixed_7c.branch_pool.bn.bias'):
        torch.testing.assert_close(loaded[key], saved[key])


class NotAStateDict:
    pass


def test_refuses_a_file_that_is_not_plain_tensors(no_weights_anywhere,
                                                  tmp_path):
    path = tmp_path / WEIGHTS_FILE
    torch.save({'fc.bias': NotAStateDict()}, path)
    with pytest.raises(pickle.UnpicklingError):
        TFInceptionFeatures(weights=str(path))
