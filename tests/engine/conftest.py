"""Fixtures of the engine tests: toy data and tiny runners."""
import pytest
import torch
from tiny_training import tiny_cfg

from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.engine import build_runner


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('toy_faces')
    make_toy_faces(root, size=32, n_train=4, n_test=0, seed=0)
    return str(root)


@pytest.fixture(scope='module')
def single_thread():
    """One intra-op thread: much faster than two on a shared 2-core CI box,
    and the same in every run a test compares. Restored after the module,
    so other tests keep the default."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_runner(toy_root, tmp_path, single_thread):
    """``make_runner(max_iters, work='run', **cfg_overrides)`` builds a
    runner training in ``tmp_path / work``."""

    def make(max_iters: int, work: str = 'run', **overrides):
        return build_runner(
            tiny_cfg(toy_root, str(tmp_path / work), max_iters, **overrides))

    return make
