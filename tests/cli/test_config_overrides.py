"""load_config: every --cfg-options item takes effect or is refused."""
from pathlib import Path

import pytest

from cyclegan_plugin.cli import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
SELFIE = str(REPO / 'configs' / 'cyclegan_selfie2anime.py')
FASTCUT = str(REPO / 'configs' / 'fastcut_selfie2anime.py')
TOY = str(REPO / 'configs' / 'cyclegan_toyfaces.py')


def train_transforms(cfg) -> list:
    return cfg.train_dataloader.dataset.pipeline[1]['transforms']


def test_image_size_variables_are_derived_again():
    cfg = load_config(SELFIE, {'load_size': 72, 'crop_size': 64})
    resize, crop, _ = train_transforms(cfg)
    assert resize['scale'] == (72, 72) and crop['crop_size'] == 64
    for loader in ('test_dataloader', ):
        assert cfg[loader].dataset.pipeline[1]['scale'] == (64, 64)
    # The saved config says so too.
    assert 'crop_size = 64' in cfg.pretty_text
    assert "crop_size=256" not in cfg.pretty_text.replace(' ', '')
    assert cfg.filename == SELFIE


def test_data_root_reaches_every_dataloader(tmp_path):
    cfg = load_config(TOY, {'data_root': str(tmp_path)})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == str(tmp_path)


def test_a_variable_reassigned_by_the_leaf_is_replaced_everywhere():
    # fastcut reassigns the epochs of cut_400e.py and derives from them.
    cfg = load_config(FASTCUT, {
        'num_epochs_constant': 1,
        'num_epochs_decay': 2
    })
    assert cfg.train_cfg.max_epochs == 3
    [decay] = cfg.param_scheduler
    assert (decay['begin'], decay['end']) == (1, 3)


def test_variable_and_setting_options_combine():
    cfg = load_config(SELFIE, {
        'crop_size': 64,
        'model.generator.num_blocks': 2
    })
    assert train_transforms(cfg)[1]['crop_size'] == 64
    assert cfg.model.generator.num_blocks == 2
    assert cfg.model.generator.base_channels == 64


def test_max_iters_replaces_max_epochs_and_the_reverse():
    cfg = load_config(SELFIE, {'train_cfg.max_iters': 5})
    assert cfg.train_cfg.max_iters == 5 and 'max_epochs' not in cfg.train_cfg
    cfg = load_config(TOY, {'train_cfg.max_epochs': 2})
    assert cfg.train_cfg.max_epochs == 2 and 'max_iters' not in cfg.train_cfg


def test_a_key_inside_a_variable_is_refused_with_where_to_set_it():
    with pytest.raises(ConfigError) as error:
        load_config(TOY, {'random_features.feat_dim': 32})
    message = str(error.value)
    assert message.startswith('--cfg-options random_features.feat_dim: ')
    assert ('--cfg-options val_evaluator.0.feature_extractor.feat_dim='
            in message)


def test_a_variable_no_file_assigns_plainly_is_refused(tmp_path):
    config = tmp_path / 'unpacked.py'
    config.write_text('width, depth = 8, 2\nmodel = dict(width=width)\n')
    with pytest.raises(ConfigError, match='--cfg-options width: no file of '
                       '.* assigns width = ... at its top level'):
        load_config(str(config), {'width': 4})


def test_a_value_that_breaks_reading_names_the_option(tmp_path):
    config = tmp_path / 'sum.py'
    config.write_text('a = 1\nb = a + 1\n')
    with pytest.raises(ConfigError,
                       match="--cfg-options a='x': the config cannot be read "
                       'with it .TypeError'):
        load_config(str(config), {'a': 'x'})


def test_dict_values_are_refused(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(
            TOY, {'visualizer.vis_backends': ["dict(type='Tensorboard')"]})
    assert 'not dict(...)' in str(error.value)
    assert 'tools/train.py --tensorboard' in str(error.value)


def test_files_outside_the_config_folder_and_non_ascii_text(tmp_path):
    # A base one folder up, with UTF-8 before the assignment on its line.
    (tmp_path / 'base.py').write_text('note = "größe"; size = 8\n'
                                      'pipeline = [dict(size=size)]\n')
    (tmp_path / 'leaf').mkdir()
    leaf = tmp_path / 'leaf' / 'leaf.py'
    leaf.write_text("_base_ = ['../base.py']\nsize_twice = 2\n")
    cfg = load_config(str(leaf), {'size': 16})
    assert cfg.pipeline == [dict(size=16)] and cfg.note == 'größe'


def test_a_variable_of_a_base_given_by_absolute_path(tmp_path):
    # Other projects inherit ours by absolute path (config_path): the
    # variables of that base are replaced too, not read from the original.
    (tmp_path / 'leaf.py').write_text(
        f'_base_ = [{TOY!r}]\nmodel = dict(generator=dict(num_blocks=1))\n')
    cfg = load_config(
        str(tmp_path / 'leaf.py'), {
            'num_iters_constant': 3,
            'num_iters_decay': 4
        })
    assert cfg.train_cfg.max_iters == 7
    [decay] = cfg.param_scheduler
    assert (decay['begin'], decay['end']) == (3, 7)
    assert cfg.model.generator.num_blocks == 1
