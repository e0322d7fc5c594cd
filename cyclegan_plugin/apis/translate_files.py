"""Translate an image file or a folder tree of image files."""
import os
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np
from PIL import Image

from cyclegan_plugin.datasets.image_loading import (IMAGE_EXTENSIONS,
                                                    UnreadableImageError,
                                                    load_rgb_image)
from .progress import track
from .translator import Translator


class SkippedFileWarning(UserWarning):
    """A file in the input of :func:`translate_files` could not be read."""


@dataclass
class TranslationReport:
    """What :func:`translate_files` did.

    Attributes:
        written: Paths of the translated images.
        skipped: The files that could not be read, with the reason.
    """

    written: List[str] = field(default_factory=list)
    skipped: List[UnreadableImageError] = field(default_factory=list)


def translate_files(translator: Translator,
                    input_path: str,
                    out_dir: str,
                    direction: str = 'a2b',
                    batch_size: int = 1,
                    progress: bool = True,
                    ext: str = 'png') -> TranslationReport:
    """Translates an image file, or every image file under a folder.

    In a folder, files with an image extension (``.jpg``, ``.jpeg``,
    ``.png``, ``.bmp``, ``.webp``, any case) are taken and others ignored;
    a single file is tried whatever its name. Files that do not decode are
    skipped with a :class:`SkippedFileWarning` and listed in the report.
    Outputs keep the relative path and the name of their input under
    ``out_dir``, at the input's size, in the format ``ext`` names: PNG by
    default, so a JPEG is not compressed a second time (JPEG and WebP are
    written at quality 95).

    Args:
        translator: The model; large images are tiled if it was built with
            ``tile`` (:class:`Translator`), which bounds the memory one
            image takes.
        input_path: An image file or a folder, searched recursively.
        out_dir: Output folder; a folder inside ``input_path`` is left out
            of the search.
        direction: ``'a2b'`` or ``'b2a'``.
        batch_size: Images read and translated together.
        progress: Draw a progress bar.
        ext: Extension, and so format, of the outputs, e.g. ``'png'``,
            ``'jpg'``, ``'webp'``.

    Returns:
        The written and the skipped files.
    """
    ext = ext.lower().lstrip('.')
    if Image.registered_extensions().get(f'.{ext}') not in Image.SAVE:
        raise ValueError(f'cannot write {ext!r} images; choose an '
                         f'extension Pillow writes, e.g. png, jpg or webp.')
    files = _list_files(input_path, out_dir)
    report = TranslationReport()
    pending: List[Tuple[str, np.ndarray]] = []
    for path, relative in (track(files, len(files), 'translating')
                           if progress else files):
        try:
            pending.append((relative, load_rgb_image(path)))
        except UnreadableImageError as err:
            warnings.warn(f'skipping {err.path}: {err.reason}',
                          SkippedFileWarning)
            report.skipped.append(err)
        if len(pending) == batch_size:
            report.written += _translate_and_save(translator, pending, out_dir,
                                                  direction, ext)
            pending = []
    if pending:
        report.written += _translate_and_save(translator, pending, out_dir,
                                              direction, ext)
    return report


def _translate_and_save(translator: Translator,
                        pending: List[Tuple[str, np.ndarray]], out_dir: str,
                        direction: str, ext: str) -> List[str]:
    """Translates ``(relative path, image)`` pairs as one batch and saves
    them; returns the written paths."""
    outputs = translator.translate([image for _, image in pending], direction,
                                   len(pending))
    return [
        _save(out_dir, relative, output, ext)
        for (relative, _), output in zip(pending, outputs)
    ]


def _list_files(input_path: str, out_dir: str) -> List[Tuple[str, str]]:
    """``(path, path relative to the input)`` of every file to translate,
    sorted."""
    is_file = osp.isfile(input_path)
    if not is_file and not osp.isdir(input_path):
        raise FileNotFoundError(f'input {input_path!r} is neither a file '
                                f'nor a folder.')
    root = osp.realpath(input_path)
    excluded = osp.realpath(out_dir)
    if excluded == (osp.dirname(root) if is_file else root):
        raise ValueError(f'the output folder {out_dir!r} holds the input; '
                         f'translations would overwrite it. Choose another '
                         f'output folder.')
    if is_file:
        return [(input_path, osp.basename(input_path))]
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders if osp.join(folder, d) != excluded)
        for name in sorted(names):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                path = osp.join(folder, name)
                files.append((path, osp.relpath(path, root)))
    if not files:
        raise FileNotFoundError(
            f'the input folder {input_path!r} holds no image files '
            f'({", ".join(IMAGE_EXTENSIONS)}).')
    return files


def _save(out_dir: str, relative: str, image: np.ndarray, ext: str) -> str:
    path = osp.join(out_dir, f'{osp.splitext(relative)[0]}.{ext}')
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    Image.fromarray(image).save(path, quality=95)
    return path
