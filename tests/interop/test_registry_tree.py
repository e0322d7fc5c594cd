"""One registry tree: MMagic's registries find our parts and ours find
MMagic's, whichever package registers first."""
import subprocess
import sys

import pytest

CHECK = """
import importlib
order = {order!r}
def register(package):
    if package == 'mmagic':
        from mmagic.utils import register_all_modules
        register_all_modules(init_default_scope=False)
    else:
        import cyclegan_plugin.registry as registry
        for location in {{loc for reg in vars(registry).values()
                          if hasattr(reg, '_locations')
                          for loc in reg._locations}}:
            importlib.import_module(location)
for package in order:
    register(package)

from mmagic.registry import MODELS as MMAGIC_MODELS
from cyclegan_plugin.registry import MODELS
from cyclegan_plugin.models.generators import ResnetGenerator
from mmagic.models.editors.cyclegan import ResnetGenerator as MMagicResnet

assert MMAGIC_MODELS.get('cyclegan_plugin.ResnetGenerator') is ResnetGenerator
assert MODELS.get('mmagic.ResnetGenerator') is MMagicResnet
assert MODELS.get('ResnetGenerator') is ResnetGenerator
assert MMAGIC_MODELS.get('ResnetGenerator') is MMagicResnet
net = MMAGIC_MODELS.build(dict(type='cyclegan_plugin.PatchDiscriminator',
                               base_channels=8, num_layers=1))
assert type(net).__module__ == 'cyclegan_plugin.models.discriminators'
print('ok')
"""


@pytest.mark.parametrize('order', [('mmagic', 'cyclegan_plugin'),
                                   ('cyclegan_plugin', 'mmagic')])
def test_each_registry_resolves_the_other(mmagic, order):
    result = subprocess.run([sys.executable, '-c', CHECK.format(order=order)],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith('ok')
    assert 'already registered' not in result.stderr
