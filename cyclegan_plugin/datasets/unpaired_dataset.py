"""Two folders of images, one per domain, for unpaired translation."""
import functools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from cyclegan_plugin.registry import DATASETS, SCOPE, TRANSFORMS
from .image_loading import IMAGE_EXTENSIONS, UnreadableImageError, check_image

_BAD_FILE_POLICIES = ('skip', 'error')
_PATHS_SHOWN = 5  # files named in a warning or a one-line error
_PATHS_LISTED = 50  # files listed by bad_files='error'


class BadImageWarning(UserWarning):
    """Unreadable files were dropped from an :class:`UnpairedImageDataset`."""


@DATASETS.register_module()
class UnpairedImageDataset(BaseDataset):
    """Images of domain A and domain B from two folders, without pairing.

    Layout (folder names are arguments)::

        data_root/
        ├── trainA/  domain A, training
        ├── trainB/  domain B, training
        ├── testA/   domain A, test (test_mode=True)
        └── testB/   domain B, test (test_mode=True)

    Files ending in .jpg, .jpeg, .png, .bmp or .webp (any letter case) are
    taken, in sorted name order; subfolders are not searched. Every file is
    decoded once at construction; ``bad_files`` decides what happens to the
    ones that fail.

    Training (``test_mode=False``): an epoch has ``max(|A|, |B|)`` items;
    item ``i`` is ``A[i % |A|]`` with a B partner drawn afresh every epoch,
    as the reference implementation draws a random B on every access. The
    index may be a position in the endless stream, ``epoch * len(self) +
    i`` (:class:`ResumableInfiniteSampler` passes those, see
    :attr:`epoch_indexed`); the partner is ``B[perm[i % |B|]]``, ``perm``
    a permutation of B drawn from ``(seed, epoch, i // |B|)``. So every
    selfie meets a new random anime image each epoch, every B image
    appears once per ``|B|`` items, and the choice is a pure function of
    the seed and the position: the same in every data loader worker and
    again after a resume. A plain index ``i < len(self)`` is epoch 0.
    Data info: ``img_a_path``, ``img_b_path``, ``epoch``.

    Test (``test_mode=True``) items hold one image each, every A image then
    every B image. Data info: ``img_path``, ``domain`` (``'a'`` or ``'b'``)
    and, when ``paired``, ``gt_img_path``: the image with the same file stem
    in the other domain's folder.

    Args:
        data_root (str): Folder holding the domain folders.
        pipeline (Sequence[dict | Callable]): Transforms. Dicts are built
            in the current default scope, or in ``cyclegan_plugin`` when
            none is set; either way mmcv's transforms resolve too.
        test_mode (bool): Test items instead of training items.
            Defaults to False.
        folder_a (str, optional): Domain A folder under ``data_root``.
            Defaults to ``'testA'`` in test mode, else ``'trainA'``.
        folder_b (str, optional): Domain B folder under ``data_root``.
            Defaults to ``'testB'`` in test mode, else ``'trainB'``.
        paired (bool): Test mode only: add ``gt_img_path``. Every stem must
            exist in both folders. Defaults to False.
        bad_files (str): ``'skip'`` drops unreadable files with one
            :class:`BadImageWarning` naming how many and the first few;
            ``'error'`` raises :class:`ValueError` listing them.
            Defaults to ``'skip'``.
        seed (int): Seed of the training pairings. Defaults to 0.
        lazy_init (bool): Defer the folder scan to the first access, see
            :class:`mmengine.dataset.BaseDataset`. Defaults to False.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``serialize_data``, ``indices``, ``max_refetch``).

    Raises:
        FileNotFoundError: A domain folder is missing or holds no image
            files; the message shows the expected layout.
        ValueError: ``bad_files='error'`` and a file is unreadable; or a
            domain has no readable image; or a paired stem is missing.
    """

    #: Takes stream positions ``epoch * len(self) + i`` as indices.
    epoch_indexed = True

    def __init__(self,
                 data_root: str,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 folder_a: Optional[str] = None,
                 folder_b: Optional[str] = None,
                 paired: bool = False,
                 bad_files: str = 'skip',
                 seed: int = 0,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if bad_files not in _BAD_FILE_POLICIES:
            raise ValueError(f'UnpairedImageDataset: bad_files must be one of '
                             f'{_BAD_FILE_POLICIES}, got {bad_files!r}.')
        if paired and not test_mode:
            raise ValueError('UnpairedImageDataset: paired=True needs '
                             'test_mode=True; training data is unpaired.')
        split = 'test' if test_mode else 'train'
        self.folder_a = folder_a or f'{split}A'
        self.folder_b = folder_b or f'{split}B'
        self.paired = paired
        self.bad_files = bad_files
        self.seed = seed
        self._paths_b: List[str] = []
        # Without a default scope (a script, a test) bare type names would
        # only be searched in mmengine's root registry; a Runner's scope
        # is kept.
        own_scope = None if DefaultScope.get_current_instance() else SCOPE
        with DefaultScope.overwrite_default_scope(own_scope):
            transforms = [
                TRANSFORMS.build(t) if isinstance(t, dict) else t
                for t in pipeline
            ]
        super().__init__(
            data_root=data_root,
            pipeline=transforms,
            test_mode=test_mode,
            lazy_init=lazy_init,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Scan both folders and build the items (see the class doc)."""
        paths_a, bad_a = self._scan(self.folder_a)
        paths_b, bad_b = self._scan(self.folder_b)
        for folder, paths, bad in ((self.folder_a, paths_a, bad_a),
                                   (self.folder_b, paths_b, bad_b)):
            if not paths:
                raise ValueError(
                    f'UnpairedImageDataset: none of the {len(bad)} image '
                    f'file(s) in {self._folder_path(folder)!r} is readable, '
                    f'e.g. {bad[0]}.')
        self._handle_bad_files(bad_a + bad_b)
        self._metainfo.update(
            folder_a=self.folder_a,
            folder_b=self.folder_b,
            num_images_a=len(paths_a),
            num_images_b=len(paths_b),
            num_skipped_a=len(bad_a),
            num_skipped_b=len(bad_b))
        if self.test_mode:
            return self._test_items(paths_a, paths_b)
        return self._train_items(paths_a, paths_b)

    def _train_items(self, paths_a: List[str],
                     paths_b: List[str]) -> List[dict]:
        # The B partner is drawn per access, in get_data_info.
        self._paths_b = paths_b
        return [
            dict(img_a_path=paths_a[i % len(paths_a)])
            for i in range(max(len(paths_a), len(paths_b)))
        ]

    def get_data_info(self, idx: int) -> dict:
        """The item at ``idx``; in training ``idx`` may be a stream
        position ``epoch * len(self) + i`` (see the class doc)."""
        if self.test_mode or idx < 0:
            return super().get_data_info(idx)
        epoch, index = divmod(idx, len(self))
        info = super().get_data_info(index)
        block, offset = divmod(index, len(self._paths_b))
        perm = _permutation(self.seed, epoch, block, len(self._paths_b))
        info.update(img_b_path=self._paths_b[perm[offset]], epoch=epoch)
        return info

    def _test_items(self, paths_a: List[str],
                    paths_b: List[str]) -> List[dict]:
        items = []
        for domain, paths, others, other_folder in (
            ('a', paths_a, paths_b, self.folder_b),
            ('b', paths_b, paths_a, self.folder_a),
        ):
            gt_paths = (
                self._match_stems(paths, others, other_folder)
                if self.paired else None)
            for k, path in enumerate(paths):
                item = dict(img_path=path, domain=domain)
                if gt_paths is not None:
                    item['gt_img_path'] = gt_paths[k]
                items.append(item)
        return items

    def _match_stems(self, paths: List[str], others: List[str],
                     other_folder: str) -> List[str]:
        """The file in ``others`` with the stem of each of ``paths``."""
        by_stem: Dict[str, List[str]] = {}
        for path in others:
            by_stem.setdefault(_stem(path), []).append(path)
        where = repr(self._folder_path(other_folder))
        missing = [p for p in paths if _stem(p) not in by_stem]
        if missing:
            raise ValueError(
                f'UnpairedImageDataset(paired=True): {len(missing)} image(s) '
                f'have no file with the same stem in {where} (or it was '
                f'skipped as unreadable): {_first(missing)}. Add the '
                'counterparts or set paired=False.')
        ambiguous = [p for p in paths if len(by_stem[_stem(p)]) > 1]
        if ambiguous:
            raise ValueError(
                'UnpairedImageDataset(paired=True): several files in '
                f'{where} share the stem of {_first(ambiguous)}, e.g. '
                f'{_first(by_stem[_stem(ambiguous[0])])}. Keep one per stem.')
        return [by_stem[_stem(p)][0] for p in paths]

    def _scan(self,
              folder: str) -> Tuple[List[str], List[UnreadableImageError]]:
        """Sorted readable image files of a folder, and the failures."""
        paths = self._list_images(folder)
        with ThreadPoolExecutor(max_workers=_scan_workers()) as pool:
            errors = list(pool.map(_error_of, paths))
        usable = [p for p, err in zip(paths, errors) if err is None]
        return usable, [err for err in errors if err is not None]

    def _handle_bad_files(self, bad: List[UnreadableImageError]) -> None:
        """Apply the ``bad_files`` policy: one warning, or an error."""
        if not bad:
            return
        where = (f'{self._folder_path(self.folder_a)!r} and '
                 f'{self._folder_path(self.folder_b)!r}')
        if self.bad_files == 'error':
            listing = _listing(bad, _PATHS_LISTED)
            raise ValueError(
                f'UnpairedImageDataset: {len(bad)} unreadable image(s) in '
                f"{where}:\n{listing}\nFix or remove them, or set "
                "bad_files='skip' to drop them.")
        warnings.warn(
            f'UnpairedImageDataset: skipped {len(bad)} unreadable image(s) '
            f'in {where}:\n{_listing(bad, _PATHS_SHOWN)}', BadImageWarning)

    def _list_images(self, folder: str) -> List[str]:
        root = self._folder_path(folder)
        if not os.path.isdir(root):
            raise FileNotFoundError(
                f'UnpairedImageDataset: folder {root!r} does not exist.\n'
                f'{self._layout_help()}')
        paths = sorted(
            entry.path for entry in os.scandir(root) if entry.is_file()
            and entry.name.lower().endswith(IMAGE_EXTENSIONS))
        if not paths:
            raise FileNotFoundError(
                f'UnpairedImageDataset: folder {root!r} holds no image files '
                f'({", ".join(IMAGE_EXTENSIONS)}).\n{self._layout_help()}')
        return paths

    def _folder_path(self, folder: str) -> str:
        return os.path.join(self.data_root, folder)

    def _layout_help(self) -> str:
        """The expected tree and what ``data_root`` holds now."""
        if os.path.isdir(self.data_root):
            found = sorted(os.listdir(self.data_root))
            found_line = f'{self.data_root!r} holds: {found or "nothing"}.'
        else:
            found_line = f'data_root {self.data_root!r} does not exist.'
        return ('Expected layout:\n'
                f'  {self.data_root}/\n'
                '  ├── trainA/  domain A training images (.jpg, .png, ...)\n'
                '  ├── trainB/  domain B training images\n'
                '  ├── testA/   domain A test images\n'
                '  └── testB/   domain B test images\n'
                f'This dataset (test_mode={self.test_mode}) reads '
                f'{self.folder_a!r} and {self.folder_b!r} (arguments '
                f'folder_a, folder_b). {found_line}\n'
                'For Selfie2Anime, tools/prepare_selfie2anime.py builds this '
                'layout from the downloaded zip.')

    def __repr__(self) -> str:
        head = (f'{self.__class__.__name__}(data_root={self.data_root!r}, '
                f'test_mode={self.test_mode}')
        if not self._fully_initialized:
            return head + ', not initialized yet)'
        meta = self._metainfo
        return (f'{head}, length={len(self)},\n'
                f'  A: {self.folder_a} {meta["num_images_a"]} images '
                f'({meta["num_skipped_a"]} unreadable skipped),\n'
                f'  B: {self.folder_b} {meta["num_images_b"]} images '
                f'({meta["num_skipped_b"]} unreadable skipped))')


@functools.lru_cache(maxsize=4)
def _permutation(seed: int, epoch: int, block: int, size: int) -> np.ndarray:
    """The order of B for one epoch's ``block``-th run of ``size`` items."""
    return np.random.default_rng([seed, epoch, block]).permutation(size)


def _error_of(path: str) -> Optional[UnreadableImageError]:
    try:
        check_image(path)
    except UnreadableImageError as err:
        return err
    return None


def _scan_workers() -> int:
    # Pillow releases the GIL while decoding, so threads scale with cores.
    return min(8, os.cpu_count() or 1)


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _listing(errors: List[UnreadableImageError], limit: int) -> str:
    """One indented line per error, at most ``limit`` of them."""
    lines = [f'  {err}' for err in errors[:limit]]
    if len(errors) > limit:
        lines.append(f'  ... and {len(errors) - limit} more')
    return '\n'.join(lines)


def _first(items: Sequence[str]) -> str:
    shown = ', '.join(repr(x) for x in items[:_PATHS_SHOWN])
    more = len(items) - _PATHS_SHOWN
    return shown + (f' and {more} more' if more > 0 else '')
