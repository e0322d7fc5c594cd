"""tools/train.py: config and command-line mistakes give one clear line."""
import os
import runpy
from pathlib import Path

import pytest
import torch

from cyclegan_plugin.datasets.toy_faces import make_toy_faces

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs' / 'cyclegan_toyfaces.py')
train = runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='train')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('toy_faces')
    make_toy_faces(root, size=16, n_train=2, n_test=1)
    return str(root)


def run_train(*args) -> SystemExit:
    with pytest.raises(SystemExit) as exit_info:
        train['main'](list(args))
    return exit_info.value


def roots(path) -> list:
    return [
        f'{loader}.dataset.data_root={path}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]


def assert_one_line(exit, *fragments):
    message = str(exit.code)
    assert message.startswith('train.py: error: ')
    assert '\n' not in message and 'Traceback' not in message
    for fragment in fragments:
        assert fragment in message


def test_malformed_cfg_option_is_an_argparse_error(capsys):
    exit = run_train(CONFIG, '--cfg-options', 'train_cfg.max_iters')
    assert exit.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert 'Traceback' not in ''.join(err)
    assert err[-1].endswith("'train_cfg.max_iters' is not KEY=VALUE, e.g. "
                            'train_cfg.max_iters=1000')


def test_unknown_top_level_key_suggests_the_right_one(tmp_path):
    exit = run_train(CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                     'trian_cfg.max_iters=5')
    assert_one_line(exit, "no key 'trian_cfg'", "did you mean 'train_cfg'")


def test_missing_data_root(tmp_path):
    missing = str(tmp_path / 'nowhere')
    exit = run_train(CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                     *roots(missing))
    assert_one_line(
        exit, f"train_dataloader.dataset.data_root='{missing}' does not "
        'exist', '--cfg-options train_dataloader.dataset.data_root=PATH')


def test_work_dir_that_cannot_be_written(tmp_path, data_root):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    work_dir = str(blocker / 'work')
    exit = run_train(CONFIG, '--work-dir', work_dir, '--cfg-options',
                     *roots(data_root))
    assert_one_line(exit, f"work dir '{work_dir}' is not writable",
                    '--work-dir')


@pytest.mark.parametrize('option, fragments', [
    ('model.generator.type=ResNetGenerator',
     ['KeyError', 'ResNetGenerator is not in the cyclegan_plugin::model']),
    ('model.generator.base_channel=8',
     ['TypeError', "unexpected keyword argument 'base_channel'"]),
])
def test_unknown_type_or_argument(tmp_path, data_root, option, fragments):
    exit = run_train(CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                     *roots(data_root), option)
    assert_one_line(exit, 'cyclegan_toyfaces.py', *fragments)


def test_resume_from_a_missing_or_malicious_checkpoint(tmp_path, data_root):
    missing = str(tmp_path / 'none.pth')
    exit = run_train(CONFIG, '--work-dir', str(tmp_path), '--resume', missing,
                     '--cfg-options', *roots(data_root))
    assert_one_line(exit, f"checkpoint '{missing}'", 'does not exist')

    evil = tmp_path / 'evil.pth'
    marker = tmp_path / 'code_ran'
    torch.save(dict(meta=MakeDir(str(marker))), str(evil))
    exit = run_train(CONFIG, '--work-dir', str(tmp_path), '--resume',
                     str(evil), '--cfg-options', *roots(data_root))
    assert_one_line(exit, 'refused to load checkpoint', 'posix.mkdir')
    assert not marker.exists()


class MakeDir:
    """Unpickling would create the folder ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )
