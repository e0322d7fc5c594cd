"""Shared fixtures: every test runs in the cyclegan_plugin default scope."""
import uuid

import pytest
import torch
from mmengine.registry import DefaultScope


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
