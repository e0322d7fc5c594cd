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
    ('model.generator.type=ResNetGenerator', [
        "model.generator.type='ResNetGenerator' is not a registered model",
        "did you mean 'ResnetGenerator'?"
    ]),
    ('model.generator.base_chanels=8', [
        'model.generator.base_chanels: ResnetGenerator takes no argument',
        "did you mean 'base_channels'?"
    ]),
    ('model.generator.base_channels=eight', [
        "model.generator.base_channels='eight': ResnetGenerator expects an "
        'int'
    ]),
])
def test_unknown_type_argument_or_value_before_any_log(
        tmp_path, data_root, option, fragments, capsys):
    exit = run_train(CONFIG, '--work-dir', str(tmp_path / 'work'),
                     '--cfg-options', *roots(data_root), option)
    assert_one_line(exit, 'cyclegan_toyfaces.py', *fragments)
    # Found before the runner logs its environment and config.
    assert 'System environment' not in capsys.readouterr().out
    assert not (tmp_path / 'work').exists()


def test_a_failed_resume_leaves_no_empty_log_folder(tmp_path, data_root):
    work_dir = tmp_path / 'work'
    # An earlier run's log folder and config copy (which mmengine rewrites
    # as any run starts) are kept.
    earlier = work_dir / '20000101_000000'
    earlier.mkdir(parents=True)
    (earlier / '20000101_000000.log').write_text('an earlier run')
    (work_dir / 'cyclegan_toyfaces.py').write_text('# earlier copy')
    torn = tmp_path / 'iter_4.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, str(torn))
    torn.write_bytes(torn.read_bytes()[:500])
    exit = run_train(CONFIG, '--work-dir', str(work_dir), '--resume',
                     str(torn), '--cfg-options', *roots(data_root))
    assert_one_line(exit, f"checkpoint '{torn}' is not a complete "
                    'checkpoint', 'resume from an older one (--resume PATH)')
    assert sorted(p.name for p in work_dir.iterdir()) == [
        '20000101_000000', 'cyclegan_toyfaces.py'
    ]
    assert (earlier / '20000101_000000.log').read_text() == 'an earlier run'
    # A work dir the failed run created goes with it.
    fresh = tmp_path / 'fresh'
    run_train(CONFIG, '--work-dir', str(fresh), '--resume', str(torn),
              '--cfg-options', *roots(data_root))
    assert not fresh.exists()


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
