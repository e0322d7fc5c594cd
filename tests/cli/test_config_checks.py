"""check_arguments and the path, folder and device checks."""
from pathlib import Path

import pytest
import torch

from cyclegan_plugin.cli import (ConfigError, check_arguments, check_device,
                                 check_writable, load_config)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs').glob('*.py'))


@pytest.mark.parametrize('config', CONFIGS, ids=lambda path: path.name)
def test_every_shipped_config_passes(config):
    check_arguments(load_config(str(config)))


@pytest.mark.parametrize('option, message', [
    ({
        'model.generator.base_chanels': 8
    }, "model.generator.base_chanels: ResnetGenerator takes no argument "
     "'base_chanels'; did you mean 'base_channels'?"),
    ({
        'model.generator.base_channels': 'eight'
    }, "model.generator.base_channels='eight': ResnetGenerator expects an "
     'int'),
    ({
        'model.generator.dropout': 'none'
    }, "model.generator.dropout='none': ResnetGenerator expects a float"),
    ({
        'model.generator.type': 'ResNetGenerator'
    }, "model.generator.type='ResNetGenerator' is not a registered model; "
     "did you mean 'ResnetGenerator'?"),
    ({
        'train_dataloader.batch_sise': 2
    }, "train_dataloader.batch_sise: a dataloader takes no argument "
     "'batch_sise'; did you mean 'batch_size'?"),
    ({
        'train_dataloader.dataset.pipeline.1.transforms.1.crop_sise': 8
    }, 'train_dataloader.dataset.pipeline.1.transforms.1.crop_sise: '
     "RandomCrop takes no argument 'crop_sise'; did you mean 'crop_size'?"),
    ({
        'default_hooks.logger.intervall': 5
    }, "default_hooks.logger.intervall: LoggerHook takes no argument "
     "'intervall'; did you mean 'interval'?"),
    ({
        'train_dataloader.dataset.data_prefixx': 'x'
    }, "train_dataloader.dataset.data_prefixx: UnpairedImageDataset takes no "
     "argument 'data_prefixx'; did you mean 'data_prefix'?"),
    ({
        'val_evaluator.0.feature_extractor.feat_dims': 5
    }, 'val_evaluator.0.feature_extractor.feat_dims: '
     "RandomProjectionFeatures takes no argument 'feat_dims'; did you mean "
     "'feat_dim'?"),
])
def test_a_wrong_argument_is_named_with_the_fix(option, message):
    cfg = load_config(str(REPO / 'configs' / 'cyclegan_toyfaces.py'), option)
    with pytest.raises(ConfigError) as error:
        check_arguments(cfg)
    assert str(error.value) == f'{cfg.filename}: {message}'


def test_an_int_is_a_fine_float_and_none_an_optional():
    cfg = load_config(
        str(REPO / 'configs' / 'cyclegan_toyfaces.py'), {
            'model.generator.dropout': 0,
            'model.discriminator.norm': 'batch'
        })
    check_arguments(cfg)


def test_only_the_keys_asked_for_are_checked():
    cfg = load_config(
        str(REPO / 'configs' / 'cyclegan_toyfaces.py'),
        {'train_dataloader.batch_sise': 2})
    check_arguments(cfg, ['model'])
    with pytest.raises(ConfigError, match='batch_sise'):
        check_arguments(cfg, ['train_dataloader'])


def test_writable_checks_create_nothing(tmp_path):
    target = tmp_path / 'new' / 'deeper'
    check_writable(str(target), 'output folder', '--out')
    assert not (tmp_path / 'new').exists()
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    with pytest.raises(ConfigError) as error:
        check_writable(str(blocker / 'out'), 'output folder', '--out')
    assert str(error.value) == (
        f"output folder '{blocker / 'out'}' is not writable (Not a "
        'directory); pass --out with a writable location')
    with pytest.raises(ConfigError, match='Is a directory'):
        check_writable(
            str(tmp_path), 'output file', '--out', is_folder=False)
    check_writable(
        str(tmp_path / 'g.onnx'), 'output file', '--out', is_folder=False)


def test_device_names_are_checked():
    check_device('cpu')
    with pytest.raises(ConfigError, match="--device 'gpu' is not a device"):
        check_device('gpu')
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(ConfigError) as error:
        check_device('cuda:99')
    assert str(error.value).startswith('--device cuda:99: ')
    assert ('CUDA is not available' in str(error.value)
            if not count else f'has {count} GPU(s)' in str(error.value))
