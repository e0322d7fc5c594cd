"""Lay out the Selfie2Anime download for UnpairedImageDataset.

Usage::

    python tools/prepare_selfie2anime.py selfie2anime.zip
    python tools/prepare_selfie2anime.py extracted_folder --out data/x

Accepts the public zip (Kaggle or the U-GAT-IT Google Drive copy) or a
folder it was extracted to. trainA/, trainB/, testA/ and testB/ may sit at
the top or one folder deep. The image counts must be those of the public
release (3400 / 3400 / 100 / 100) before anything is written, unless
``--any-counts`` accepts a partial or re-split archive; the result is
``OUT/{trainA,trainB,testA,testB}/<image files>``. A problem with the
source or the destination ends the tool with one line and exit status 1.
"""
import argparse
import os
import shutil
import tempfile
import zipfile
from contextlib import nullcontext
from typing import Dict, List, Mapping, Optional, Union

SPLITS = ('trainA', 'trainB', 'testA', 'testB')
EXPECTED_COUNTS = {'trainA': 3400, 'trainB': 3400, 'testA': 100, 'testB': 100}
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def prepare(
        source: str,
        out: str,
        force: bool = False,
        expected_counts: Optional[Mapping[str, int]] = EXPECTED_COUNTS
) -> None:
    """Copy or extract the four split folders of ``source`` into ``out``.

    Args:
        source (str): The zip file or an extracted folder.
        out (str): Destination folder.
        force (bool): Replace the split folders if ``out`` has them.
        expected_counts (Mapping[str, int], optional): Images per split;
            ``None`` accepts any number (at least one per split).

    Raises:
        FileNotFoundError: ``source`` is missing or lacks a split folder.
        ValueError: The image counts differ from ``expected_counts``.
        FileExistsError: ``out`` already has a split and ``force`` is
            False.
    """
    if not os.path.exists(source):
        raise FileNotFoundError(f'{source!r} does not exist.')
    is_zip = os.path.isfile(source) and zipfile.is_zipfile(source)
    if os.path.isfile(source) and not is_zip:
        raise ValueError(f'{source!r} is neither a zip file nor a folder.')
    opened = zipfile.ZipFile(source) if is_zip else nullcontext()
    with opened as archive:
        names = archive.namelist() if is_zip else _relative_files(source)
        splits = _find_splits(names, source)
        if expected_counts is not None:
            _check_counts(splits, expected_counts, source)
        existing = [s for s in SPLITS if os.path.exists(os.path.join(out, s))]
        if existing and not force:
            raise FileExistsError(
                f'{out!r} already has {existing}; pass --force to replace '
                'them.')
        os.makedirs(out, exist_ok=True)
        # Fill a staging folder first, so a failure midway leaves the old
        # data (or nothing) rather than a mix.
        staging = tempfile.mkdtemp(prefix='.prepare-', dir=out)
        try:
            for split, members in splits.items():
                _copy_members(archive or source, members,
                              os.path.join(staging, split))
            for split in SPLITS:
                final = os.path.join(out, split)
                if os.path.exists(final):
                    shutil.rmtree(final)
                os.replace(os.path.join(staging, split), final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _copy_members(source: Union[zipfile.ZipFile, str], members: List[str],
                  folder: str) -> None:
    """Copy members of a zip or folder, flat, into a new ``folder``."""
    os.makedirs(folder)
    for member in members:
        target = os.path.join(folder, os.path.basename(member))
        if isinstance(source, zipfile.ZipFile):
            with source.open(member) as src, open(target, 'wb') as dst:
                shutil.copyfileobj(src, dst)
        else:
            shutil.copyfile(os.path.join(source, member), target)


def _find_splits(names: List[str], source: str) -> Dict[str, List[str]]:
    """Image members per split, for the shallowest folder holding all four.

    ``names`` are '/'-separated paths relative to ``source``. macOS
    metadata (``__MACOSX/``, ``._*``) is ignored.
    """
    by_parent: Dict[str, List[str]] = {}
    for name in names:
        parts = name.split('/')
        if (name.endswith('/') or '__MACOSX' in parts
                or parts[-1].startswith('._')
                or not parts[-1].lower().endswith(IMAGE_EXTENSIONS)):
            continue
        by_parent.setdefault('/'.join(parts[:-1]), []).append(name)
    for prefix in _candidate_prefixes(by_parent):
        if all(_join(prefix, s) in by_parent for s in SPLITS):
            return {s: sorted(by_parent[_join(prefix, s)]) for s in SPLITS}
    found = sorted(by_parent) or ['no image files at all']
    raise FileNotFoundError(
        f'{source!r} has no folder holding all of {list(SPLITS)} (at the '
        f'top or one folder deep). Folders with images: {found[:20]}')


def _candidate_prefixes(by_parent: Dict[str, List[str]]) -> List[str]:
    """'' (the top) first, then every first-level folder, sorted."""
    tops = {p.split('/')[0] for p in by_parent if '/' in p}
    return [''] + sorted(tops)


def _join(prefix: str, split: str) -> str:
    return f'{prefix}/{split}' if prefix else split


def _check_counts(splits: Dict[str, List[str]], expected: Mapping[str, int],
                  source: str) -> None:
    found = {s: len(splits[s]) for s in SPLITS}
    if found != {s: expected[s] for s in SPLITS}:
        raise ValueError(
            f'{source!r} does not look like the public Selfie2Anime release:'
            f' found {found} images, expected {dict(expected)}. Was the '
            'download complete? To use an archive with other counts (partial '
            'or re-split), pass --any-counts.')


def _relative_files(root: str) -> List[str]:
    """'/'-separated paths of the files under ``root``, two levels deep."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        depth = 0 if rel == '.' else rel.count(os.sep) + 1
        if depth >= 2:
            dirnames.clear()  # a split folder is at most at depth 2
        prefix = '' if rel == '.' else rel.replace(os.sep, '/') + '/'
        names.extend(prefix + f for f in filenames)
    return names


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Lay out the Selfie2Anime zip or folder as '
        'trainA/trainB/testA/testB.')
    parser.add_argument('source', help='the downloaded zip or its folder')
    parser.add_argument(
        '--out', default='data/selfie2anime', help='destination folder')
    parser.add_argument(
        '--force',
        action='store_true',
        help='replace split folders already in --out')
    parser.add_argument(
        '--any-counts',
        action='store_true',
        help='accept any number of images per split (a partial or '
        're-split archive) instead of the public 3400/3400/100/100')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    try:
        prepare(
            args.source,
            args.out,
            force=args.force,
            expected_counts=None if args.any_counts else EXPECTED_COUNTS)
    except (OSError, ValueError) as err:
        # One line naming the problem and the fix, not a traceback.
        raise SystemExit(f'prepare_selfie2anime.py: error: {err}') from None
    counts = ', '.join(f'{s}: {len(os.listdir(os.path.join(args.out, s)))}'
                       for s in SPLITS)
    print(f'Selfie2Anime ready in {args.out} ({counts}).')


if __name__ == '__main__':
    main()
