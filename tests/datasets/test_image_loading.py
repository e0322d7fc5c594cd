import io
import pickle
import struct
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cyclegan_plugin.datasets.image_loading import (UnreadableImageError,
                                                    check_image,
                                                    load_rgb_image)

# File formats able to store each mode, for the property tests.
FORMATS = {
    'L': ['PNG', 'JPEG', 'BMP', 'WEBP'],
    'LA': ['PNG'],
    'RGB': ['PNG', 'JPEG', 'BMP', 'WEBP'],
    'RGBA': ['PNG', 'WEBP'],
    'P': ['PNG', 'BMP'],
    'I;16': ['PNG'],
    'CMYK': ['JPEG'],
}
SUFFIX = {'PNG': '.png', 'JPEG': '.jpg', 'BMP': '.bmp', 'WEBP': '.webp'}


def save(path: Path, image: Image.Image, fmt: str = 'PNG', **kw) -> Path:
    image.save(path, fmt, **kw)
    return path


def random_image(mode: str, width: int, height: int, seed: int):
    rng = np.random.default_rng(seed)
    if mode == 'I;16':
        return Image.fromarray(
            rng.integers(0, 65536, (height, width), dtype=np.uint16))
    channels = {'L': 1, 'LA': 2, 'RGB': 3, 'RGBA': 4, 'CMYK': 4, 'P': 1}
    values = rng.integers(0, 256, (height, width, channels[mode]), np.uint8)
    if mode in ('L', 'P'):
        image = Image.fromarray(values[..., 0], 'L')
        if mode == 'P':
            image = image.convert('P')
            image.putpalette(rng.integers(0, 256, 768).tolist())
        return image
    return Image.fromarray(values, mode)


def test_rgb_png_is_returned_exactly(tmp_path):
    values = np.random.default_rng(0).integers(0, 256, (5, 7, 3), np.uint8)
    out = load_rgb_image(save(tmp_path / 'x.png', Image.fromarray(values)))
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3)
    np.testing.assert_array_equal(out, values)
    assert out.flags.c_contiguous and out.flags.writeable


def test_channel_order_is_rgb(tmp_path):
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    for fmt in ('PNG', 'JPEG', 'BMP', 'WEBP'):
        path = save(tmp_path / f'red{SUFFIX[fmt]}', Image.fromarray(red), fmt)
        pixel = load_rgb_image(path)[2, 2].astype(int)
        assert pixel[0] > 240 and pixel[1] < 15 and pixel[2] < 15, fmt


@pytest.mark.parametrize('mode', ['L', '1'])
def test_gray_is_replicated(tmp_path, mode):
    gray = np.array([[0, 255, 255], [255, 0, 0]], np.uint8)
    image = Image.fromarray(gray, 'L').convert(mode)
    out = load_rgb_image(save(tmp_path / 'g.png', image))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_gray_alpha_is_composited_on_white(tmp_path):
    gray_alpha = np.array([[[10, 0], [10, 255], [10, 128]]], np.uint8)
    out = load_rgb_image(
        save(tmp_path / 'la.png', Image.fromarray(gray_alpha, 'LA')))
    # alpha 0 -> white, 255 -> the pixel, 128 -> the rounded blend
    blend = round((10 * 128 + 255 * 127) / 255)
    np.testing.assert_array_equal(out[0, :, 0], [255, 10, blend])
    assert (out == out[..., :1]).all()


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.array([[[200, 0, 0, 0], [200, 0, 0, 255], [200, 0, 0, 64]]],
                    np.uint8)
    out = load_rgb_image(save(tmp_path / 'a.png', Image.fromarray(rgba)))
    mid = [round((200 * 64 + 255 * 191) / 255), round(255 * 191 / 255)]
    np.testing.assert_array_equal(
        out[0], [[255, 255, 255], [200, 0, 0], [mid[0], mid[1], mid[1]]])


def palette_image():
    image = Image.new('P', (3, 1))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    for x in range(3):
        image.putpixel((x, 0), x)
    return image


def test_palette_is_expanded(tmp_path):
    out = load_rgb_image(save(tmp_path / 'p.png', palette_image()))
    np.testing.assert_array_equal(out[0],
                                  [[255, 0, 0], [0, 255, 0], [0, 0, 255]])


@pytest.mark.parametrize('fmt', ['PNG', 'GIF'])
def test_palette_transparency_becomes_white(tmp_path, fmt):
    path = save(
        tmp_path / f'p.{fmt.lower()}', palette_image(), fmt, transparency=1)
    out = load_rgb_image(path)
    np.testing.assert_array_equal(out[0],
                                  [[255, 0, 0], [255, 255, 255], [0, 0, 255]])


def test_rgb_transparency_key_becomes_white(tmp_path):
    rgb = np.array([[[1, 2, 3], [9, 9, 9]]], np.uint8)
    path = save(
        tmp_path / 'k.png', Image.fromarray(rgb), transparency=(1, 2, 3))
    np.testing.assert_array_equal(
        load_rgb_image(path)[0], [[255, 255, 255], [9, 9, 9]])


def test_16_bit_gray_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535, 1000]], np.uint16)
    path = save(tmp_path / 'g16.png', Image.fromarray(values))
    assert Image.open(path).mode == 'I;16'
    out = load_rgb_image(path)
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 128, 255, 4])
    assert (out == out[..., :1]).all()


def test_16_bit_rgb_png(tmp_path):
    rgb16 = np.zeros((2, 3, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 1] = 30000
    path = tmp_path / 'rgb16.png'
    cv2.imwrite(str(path), rgb16[..., ::-1])  # cv2 writes BGR
    out = load_rgb_image(path).astype(int)
    assert out.shape == (2, 3, 3)
    assert (out[..., 0] == 255).all()
    assert (abs(out[..., 1] - 30000 / 257) <= 1).all()
    assert (out[..., 2] == 0).all()


def test_cmyk_jpeg(tmp_path):
    image = Image.new('CMYK', (8, 8), (0, 255, 255, 0))  # pure red ink
    out = load_rgb_image(save(tmp_path / 'c.jpg', image, 'JPEG'))
    assert out.shape == (8, 8, 3)
    assert (abs(out.astype(int) - [255, 0, 0]) <= 3).all()


@pytest.mark.parametrize('orientation, turns', [(6, -1), (8, 1), (3, 2)])
def test_exif_orientation_is_applied(tmp_path, orientation, turns):
    # 16x32 with four flat 16x8 bands: JPEG keeps flat blocks almost exact.
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    stored = np.zeros((16, 32, 3), np.uint8)
    for k, colour in enumerate(colours):
        stored[:, 8 * k:8 * k + 8] = colour
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(
        tmp_path / 'r.jpg',
        Image.fromarray(stored),
        'JPEG',
        quality=100,
        subsampling=0,
        exif=exif.tobytes())
    out = load_rgb_image(path)
    expected = np.rot90(stored, turns)  # turns > 0: counter-clockwise
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected).max() <= 8


def png_bytes(size=(6, 5)) -> bytes:
    buf = io.BytesIO()
    random_image('RGB', *size, seed=1).save(buf, 'PNG')
    return buf.getvalue()


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    random_image('RGB', 32, 32, seed=2).save(buf, 'JPEG')
    return buf.getvalue()


@pytest.mark.parametrize('name, content', [
    ('empty.jpg', b''),
    ('text.png', b'this is not an image'),
    ('half.png', png_bytes()[:60]),
    ('half.jpg', jpeg_bytes()[:300]),
    ('no_end.jpg', jpeg_bytes()[:-40]),
    ('html.webp', b'<html>404 not found</html>'),
])
def test_unreadable_files_raise_with_path(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    for fn in (load_rgb_image, check_image):
        with pytest.raises(UnreadableImageError) as info:
            fn(path)
        assert info.value.path == str(path)
        assert str(path) in str(info.value)


def test_empty_file_reason_says_so(tmp_path):
    path = tmp_path / 'empty.png'
    path.write_bytes(b'')
    with pytest.raises(UnreadableImageError, match='empty'):
        load_rgb_image(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(UnreadableImageError, match='FileNotFoundError'):
        load_rgb_image(tmp_path / 'missing.png')


def test_check_image_catches_bad_png_checksum(tmp_path):
    data = bytearray(png_bytes())
    at = data.index(b'IDAT')
    (length, ) = struct.unpack('>I', data[at - 4:at])
    data[at + 4 + length] ^= 0xFF  # first byte of the IDAT CRC
    path = tmp_path / 'crc.png'
    path.write_bytes(bytes(data))
    load_rgb_image(path)  # the pixels decode; only verify() sees it
    with pytest.raises(UnreadableImageError, match='checksum'):
        check_image(path)


def test_check_image_passes_valid_image(tmp_path):
    path = tmp_path / 'ok.png'
    path.write_bytes(png_bytes())
    check_image(path)


def test_error_survives_pickling():
    # DataLoader workers pickle exceptions back to the main process.
    err = pickle.loads(pickle.dumps(UnreadableImageError('a/b.png', 'bad')))
    assert (err.path, err.reason) == ('a/b.png', 'bad')
    assert 'a/b.png' in str(err)


def load_bytes(content: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f'file{suffix}'
        path.write_bytes(content)
        return load_rgb_image(path)


@settings(max_examples=50, deadline=None)
@given(
    content=st.binary(max_size=2048),
    suffix=st.sampled_from(['.jpg', '.PNG', '.bmp', '.webp', '.jpeg']))
def test_random_bytes_only_give_documented_outcomes(content, suffix):
    try:
        out = load_bytes(content, suffix)
    except UnreadableImageError:
        return
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3


@st.composite
def encoded_images(draw):
    mode = draw(st.sampled_from(sorted(FORMATS)))
    fmt = draw(st.sampled_from(FORMATS[mode]))
    width = draw(st.integers(1, 80))
    height = draw(st.integers(1, 80))
    image = random_image(mode, width, height, draw(st.integers(0, 2**16)))
    buf = io.BytesIO()
    image.save(buf, fmt)
    return mode, fmt, width, height, buf.getvalue()


@settings(max_examples=50, deadline=None)
@given(encoded_images())
def test_valid_images_of_any_mode_load_as_rgb(encoded):
    mode, fmt, width, height, content = encoded
    out = load_bytes(content, SUFFIX[fmt])
    assert out.shape == (height, width, 3), (mode, fmt)
    assert out.dtype == np.uint8


@settings(max_examples=50, deadline=None)
@given(encoded_images(), st.floats(0, 1, exclude_max=True))
def test_truncated_images_load_fully_or_raise(encoded, keep):
    mode, fmt, width, height, content = encoded
    try:
        out = load_bytes(content[:int(len(content) * keep)], SUFFIX[fmt])
    except UnreadableImageError:
        return
    assert out.shape == (height, width, 3), (mode, fmt)
    assert out.dtype == np.uint8
