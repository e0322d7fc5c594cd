"""Decode image files of any common layout to RGB ``uint8`` arrays.

Every image leaves here as ``(H, W, 3)`` RGB ``uint8``, whatever its
file stores:

* gray (``1``, ``L``) is replicated to three channels;
* 16-bit gray (``I;16*``, ``I``) is scaled to 8 bits (``round(v / 257)``)
  and any transparency key on it ignored; Pillow already reduces 16-bit
  RGB(A) PNGs to 8 bits when it opens them;
* images with an alpha channel (``LA``, ``RGBA``, ``PA``) or a transparency
  key (palette or gray/RGB ``tRNS``) are composited on a WHITE background,
  so transparent regions look as they do in an image viewer instead of
  turning into whatever colour the hidden pixels happen to store;
* ``P`` (palette), ``CMYK``, ``YCbCr`` and other modes go through Pillow's
  ``convert('RGB')``;
* JPEGs with an EXIF orientation tag are rotated upright first, so ``H`` and
  ``W`` are the displayed height and width.

Files that cannot be decoded (corrupt, truncated, zero bytes, not an image
at all) raise :class:`UnreadableImageError` carrying the path.
"""
import os
from typing import Union

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')

_SIXTEEN_BIT_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
_ALPHA_MODES = ('LA', 'La', 'PA', 'RGBA', 'RGBa')

PathType = Union[str, os.PathLike]


class UnreadableImageError(Exception):
    """An image file that cannot be decoded.

    Args:
        path (str | PathLike): The file.
        reason (str): What went wrong, e.g. the decoder's message.
    """

    def __init__(self, path: PathType, reason: str) -> None:
        super().__init__(str(path), reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f'cannot read image {self.path!r}: {self.reason}'


def load_rgb_image(path: PathType) -> np.ndarray:
    """Read an image file as RGB.

    Args:
        path (str | PathLike): Image file of any format Pillow decodes.

    Returns:
        np.ndarray: ``(H, W, 3)`` ``uint8`` RGB array, C-contiguous and
        writable, upright according to the EXIF orientation.

    Raises:
        UnreadableImageError: The file is missing, empty, truncated, corrupt
            or not an image.
    """
    image = _decode(path)
    try:
        return _to_rgb_array(image)
    except ValueError as err:  # Pillow has no conversion for this mode
        raise UnreadableImageError(
            path, f'unsupported image mode {image.mode!r}: {err}') from err


def check_image(path: PathType) -> None:
    """Check that ``path`` decodes, as cheaply as a full check allows.

    Runs Pillow's ``verify()`` (which also checks PNG chunk checksums that a
    plain decode skips) and then the full :func:`load_rgb_image`, so a file
    that passes is guaranteed to load later in the training pipeline.

    Args:
        path (str | PathLike): Image file.

    Raises:
        UnreadableImageError: As :func:`load_rgb_image`.
    """
    try:
        with Image.open(path) as image:
            image.verify()
    # Pillow's format plugins raise many exception types (OSError,
    # SyntaxError, struct.error, IndexError, ...) on malformed data; the
    # block holds nothing but Pillow calls, so every failure is the file's.
    except Exception as err:
        raise UnreadableImageError(path, _describe(err, path)) from err
    load_rgb_image(path)


def _decode(path: PathType) -> Image.Image:
    """Open, fully decode and EXIF-orient an image, closing the file."""
    try:
        with Image.open(path) as image:
            image.load()
            # Returns a new image (a copy when there is nothing to rotate),
            # so it stays valid after the file is closed.
            return ImageOps.exif_transpose(image)
    # See check_image: any exception here is a malformed file.
    except Exception as err:
        raise UnreadableImageError(path, _describe(err, path)) from err


def _describe(err: Exception, path: PathType) -> str:
    """Name the failure; Pillow's message for an empty file is cryptic."""
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        return 'the file is empty (0 bytes)'
    return f'{type(err).__name__}: {str(err) or "no message"}'


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert a decoded image of any mode to ``(H, W, 3)`` RGB ``uint8``."""
    if image.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.float64)
        gray = np.rint(np.clip(values, 0, 65535) / 257).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if image.mode in _ALPHA_MODES or 'transparency' in image.info:
        return _composite_on_white(np.asarray(image.convert('RGBA')))
    return np.array(image.convert('RGB'), dtype=np.uint8)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Blend ``(H, W, 4)`` RGBA over white: ``rgb * a + 255 * (1 - a)``."""
    rgba = rgba.astype(np.uint32)
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    # Integer form of the blend, rounded; exact for alpha 0 and 255.
    blended = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return np.ascontiguousarray(blended.astype(np.uint8))
