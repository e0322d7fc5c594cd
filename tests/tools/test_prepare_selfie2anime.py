import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TOOL = Path(__file__).parents[2] / 'tools' / 'prepare_selfie2anime.py'
COUNTS = {'trainA': 3, 'trainB': 2, 'testA': 1, 'testB': 1}


def load_tool():
    spec = importlib.util.spec_from_file_location('prepare_selfie2anime', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def member_contents(prefix: str = '', counts=COUNTS):
    """Archive paths -> bytes: the splits plus the clutter real zips
    carry."""
    members = {}
    for split, count in counts.items():
        for i in range(count):
            members[f'{prefix}{split}/{i}.jpg'] = f'{split}-{i}'.encode()
        members[f'{prefix}{split}/Thumbs.db'] = b'windows'
        members[f'__MACOSX/{prefix}{split}/._0.jpg'] = b'resource fork'
    return members


def make_zip(path: Path, members) -> Path:
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def make_folder(root: Path, members) -> Path:
    for name, data in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def assert_layout(out: Path, counts=COUNTS):
    assert sorted(p.name for p in out.iterdir()) == sorted(counts)
    for split, count in counts.items():
        files = sorted(p.name for p in (out / split).iterdir())
        assert files == [f'{i}.jpg' for i in range(count)]
        assert (out / split / '0.jpg').read_bytes() == f'{split}-0'.encode()


@pytest.mark.parametrize('prefix', ['', 'selfie2anime/'])
def test_zip_is_extracted_from_top_or_one_folder_deep(tmp_path, prefix):
    archive = make_zip(tmp_path / 's.zip', member_contents(prefix))
    tool.prepare(str(archive), str(tmp_path / 'out'), expected_counts=COUNTS)
    assert_layout(tmp_path / 'out')


@pytest.mark.parametrize('prefix', ['', 'selfie2anime/'])
def test_extracted_folder_is_copied(tmp_path, prefix):
    source = make_folder(tmp_path / 'src', member_contents(prefix))
    tool.prepare(str(source), str(tmp_path / 'out'), expected_counts=COUNTS)
    assert_layout(tmp_path / 'out')
    assert (source / prefix / 'trainA' / '0.jpg').exists()  # untouched


def test_wrong_counts_list_what_was_found_and_write_nothing(tmp_path):
    counts = dict(COUNTS, testB=4)
    archive = make_zip(tmp_path / 's.zip', member_contents(counts=counts))
    with pytest.raises(ValueError) as info:
        tool.prepare(
            str(archive), str(tmp_path / 'out'), expected_counts=COUNTS)
    assert "'testB': 4" in str(info.value)
    assert "'testB': 1" in str(info.value)
    assert not (tmp_path / 'out').exists()


def test_missing_split_lists_the_folders_found(tmp_path):
    members = {
        k: v
        for k, v in member_contents('deep/er/').items() if '/testB/' not in k
    }
    archive = make_zip(tmp_path / 's.zip', members)
    with pytest.raises(FileNotFoundError, match='deep/er/trainA'):
        tool.prepare(str(archive), str(tmp_path / 'o'), expected_counts=COUNTS)


def test_existing_data_is_kept_unless_forced(tmp_path):
    archive = make_zip(tmp_path / 's.zip', member_contents())
    out = tmp_path / 'out'
    (out / 'trainA').mkdir(parents=True)
    (out / 'trainA' / 'mine.jpg').write_bytes(b'keep me')
    with pytest.raises(FileExistsError, match='--force'):
        tool.prepare(str(archive), str(out), expected_counts=COUNTS)
    assert (out / 'trainA' / 'mine.jpg').read_bytes() == b'keep me'
    tool.prepare(str(archive), str(out), force=True, expected_counts=COUNTS)
    assert_layout(out)


def test_source_that_is_not_a_zip(tmp_path):
    (tmp_path / 'x.zip').write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='neither a zip'):
        tool.prepare(str(tmp_path / 'x.zip'), str(tmp_path / 'o'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        tool.prepare(str(tmp_path / 'nope.zip'), str(tmp_path / 'o'))


def test_main_uses_the_public_counts(tmp_path, monkeypatch, capsys):
    for split, count in COUNTS.items():
        monkeypatch.setitem(tool.EXPECTED_COUNTS, split, count)
    archive = make_zip(tmp_path / 's.zip', member_contents())
    tool.main([str(archive), '--out', str(tmp_path / 'out')])
    assert_layout(tmp_path / 'out')
    assert 'trainA: 3' in capsys.readouterr().out


def test_cli_reports_a_wrong_download(tmp_path):
    archive = make_zip(tmp_path / 's.zip', member_contents())
    result = subprocess.run([
        sys.executable,
        str(TOOL),
        str(archive), '--out',
        str(tmp_path / 'out')
    ],
                            capture_output=True,
                            text=True)
    assert result.returncode == 1
    # One line naming what was found, what was expected and the way out.
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in result.stderr
    assert lines[0].startswith('prepare_selfie2anime.py: error: ')
    assert "expected {'trainA': 3400" in lines[0]
    assert '--any-counts' in lines[0]
    assert not (tmp_path / 'out').exists()


def test_any_counts_accepts_a_partial_archive(tmp_path, capsys):
    archive = make_zip(tmp_path / 's.zip', member_contents())
    tool.main([str(archive), '--out', str(tmp_path / 'out'), '--any-counts'])
    assert_layout(tmp_path / 'out')
    assert 'trainA: 3, trainB: 2, testA: 1, testB: 1' in (
        capsys.readouterr().out)


def test_existing_output_is_one_line_naming_force(tmp_path):
    archive = make_zip(tmp_path / 's.zip', member_contents())
    (tmp_path / 'out' / 'testA').mkdir(parents=True)
    with pytest.raises(SystemExit) as info:
        tool.main(
            [str(archive), '--out',
             str(tmp_path / 'out'), '--any-counts'])
    message = str(info.value.code)
    assert message.startswith('prepare_selfie2anime.py: error: ')
    assert '\n' not in message and '--force' in message
