import importlib
import re
import subprocess
import sys
import uuid

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope, Registry
from mmengine.utils import import_modules_from_strings

from cyclegan_plugin import registry

REGISTRIES = [
    value for name, value in vars(registry).items()
    if isinstance(value, Registry) and not name.startswith('MMENGINE_')
]

COMPONENTS = {
    'ResidualBlock': dict(channels=4),
    'ResnetGenerator': dict(base_channels=8, num_blocks=1),
    'PatchDiscriminator': dict(base_channels=8),
    'GANLoss': dict(),
    'L1Loss': dict(loss_weight=10.0),
    'ImageHistoryBuffer': dict(buffer_size=2),
    'CycleGANDataPreprocessor': dict(),
    'CycleGAN': dict(
        generator=dict(type='ResnetGenerator', base_channels=8,
                       num_blocks=1),
        discriminator=dict(type='PatchDiscriminator', base_channels=8)),
    'PatchNCELoss': dict(),
    'PatchSampleMLP': dict(in_channels=[3, 8]),
    'CUT': dict(
        generator=dict(type='ResnetGenerator', base_channels=8,
                       num_blocks=5),
        discriminator=dict(type='PatchDiscriminator', base_channels=8)),
}


def test_every_registry_is_a_scoped_child_of_mmengine():
    assert len(REGISTRIES) >= 7
    for reg in REGISTRIES:
        assert reg.scope == 'cyclegan_plugin'
        assert reg.parent is not None and reg.parent.scope == 'mmengine'
        assert reg.parent._children['cyclegan_plugin'] is reg


@pytest.mark.parametrize(
    'location',
    sorted({loc
            for reg in REGISTRIES
            for loc in reg._locations}))
def test_every_location_imports(location):
    importlib.import_module(location)


@pytest.mark.parametrize('name', sorted(COMPONENTS))
def test_component_builds_by_bare_name_in_our_scope(name):
    obj = registry.MODELS.build(dict(type=name, **COMPONENTS[name]))
    assert type(obj).__name__ == name


@pytest.mark.parametrize('name', sorted(COMPONENTS))
def test_component_builds_cross_scope_with_prefix(name):
    scope_name = f'cross-{uuid.uuid4().hex}'
    DefaultScope.get_instance(scope_name, scope_name='mmengine')
    try:
        cfg = Config(
            dict(
                custom_imports=dict(imports=['cyclegan_plugin']),
                model=dict(type=f'cyclegan_plugin.{name}',
                           **COMPONENTS[name])))
        import_modules_from_strings(**cfg.custom_imports)
        with DefaultScope.overwrite_default_scope('mmengine'):
            obj = ROOT_MODELS.build(cfg.model)
        assert type(obj).__name__ == name
    finally:
        DefaultScope._instance_dict.pop(scope_name, None)


def test_bare_name_is_unknown_in_another_scope():
    with DefaultScope.overwrite_default_scope('mmengine'):
        with pytest.raises(KeyError):
            ROOT_MODELS.build(dict(type='ResnetGenerator'))


def test_import_is_cheap():
    code = ('import sys, cyclegan_plugin; '
            'heavy = [m for m in ("torch", "torchvision", "mmengine", '
            '"mmcv", "cv2") if m in sys.modules]; '
            'print(",".join(heavy))')
    out = subprocess.run([sys.executable, '-c', code], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == ''


def test_the_docstring_lists_every_registered_part_in_its_module():
    """registry.py's docstring is where a reader finds any part in one hop:
    every part of every registry, with the module that defines it."""
    listed = set(re.findall(r'(\w+)\s+\(([\w.]+)\)', registry.__doc__))
    registered = set()
    for value in vars(registry).values():
        if isinstance(value, Registry) and value.scope == registry.SCOPE:
            value.import_from_location()
            registered |= {
                (name, cls.__module__[len('cyclegan_plugin.'):])
                for name, cls in value.module_dict.items()
                if cls.__module__.startswith('cyclegan_plugin.')
            }
    assert listed == registered
