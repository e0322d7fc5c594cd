"""The MMagic interop tests need MMagic 1.2 (full mmcv 2.1, torch 2.1).

Elsewhere they are skipped with the reason; ``make test-mmagic`` sets
``CYCLEGAN_PLUGIN_REQUIRE_MMAGIC=1``, which turns a missing MMagic into a
failure, so CI cannot pass with the interop tests silently skipped.
"""
import importlib
import os

import pytest

REQUIRE_ENV = 'CYCLEGAN_PLUGIN_REQUIRE_MMAGIC'


@pytest.fixture(scope='session')
def mmagic():
    """The imported ``mmagic`` package, with its models registered."""
    try:
        module = importlib.import_module('mmagic')
        importlib.import_module('mmagic.models')
    except Exception as err:  # ImportError, or mmcv's version assertion
        reason = (f'MMagic does not import here ({type(err).__name__}: '
                  f'{err}); `make test-mmagic` runs these tests')
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f'{REQUIRE_ENV} is set but {reason}')
        pytest.skip(reason)
    return module
