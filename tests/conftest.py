"""Shared fixtures: every test runs in the cyclegan_plugin default scope;
toy data and tiny runners for the engine, hook and tool tests."""
import uuid

import pytest
import torch
from mmengine.registry import DefaultScope
from tiny_training import tiny_cfg

from cyclegan_plugin.cli import build_runner
from cyclegan_plugin.datasets.toy_faces import make_toy_faces


@pytest.fixture(autouse=True)
def cyclegan_scope():
    """A uniquely named default scope, so scope state never leaks between
    tests."""
    name = f'test-{uuid.uuid4().hex}'
    scope = DefaultScope.get_instance(name, scope_name='cyclegan_plugin')
    yield scope
    DefaultScope._instance_dict.pop(name, None)


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


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
