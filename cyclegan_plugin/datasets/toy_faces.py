"""Toy faces: a synthetic, paired benchmark rendered from random parameters.

Each face is a random :class:`FaceParams` draw (head shape, skin tone, hair
style and colour, eyes, mouth, pose, clothes, background, lighting) turned
into one label map and one shading field, then painted in two styles that
share the geometry exactly:

* domain A, "photo": the base colours times a smooth lighting field (a
  gradient over the image and sphere shading on head, hair and body), a
  slight blur and texture noise.
* domain B, "anime": the same noise-free shaded colours through a fixed
  per-pixel, hue-preserving tone curve (saturation boost and posterized
  value, i.e. cel shading), dark outlines on region borders and a highlight
  in each iris.

The A -> B change is therefore a deterministic function of what A shows
(minus its noise): hue is kept, brightness order is kept, nothing is
re-drawn at random, so a generator can learn it from unpaired data and the
paired test split measures that mapping rather than luck.

Training splits use independent parameter draws per domain (unpaired). The
test split renders one draw in both styles, so ``testA/<name>.png`` and
``testB/<name>.png`` are a ground-truth pair. Every image has its own seed
derived from ``(seed, split, index)``, so output is byte-identical for a
seed and the test set does not change with ``n_train``.
"""
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

RGB = Tuple[float, float, float]
Entropy = Union[int, Sequence[int]]

# Label ids.
BG, CLOTHES, HAIR_BACK, NECK, EAR, HEAD, NOSE, MOUTH = range(8)
EYE_WHITE, IRIS, PUPIL, BROW, HAIR_FRONT = range(8, 13)
NUM_LABELS = 13

# Outline groups of domain B: borders between groups get a dark line, so the
# iris inside the eye or the nose inside the face are not outlined.
_GROUP = np.array([0, 1, 2, 3, 4, 5, 5, 6, 7, 7, 7, 8, 2], np.uint8)
# Which shading field lights each label: 0 background, 1 body, 2 hair,
# 3 neck, 4 head.
_FIELD = np.array([0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 2], np.intp)

HAIR_STYLES = ('short', 'bangs', 'long', 'bob', 'bun')

_SKIN_LIGHT = np.array([0.98, 0.86, 0.76])
_SKIN_DARK = np.array([0.40, 0.26, 0.17])
_HAIR = np.array([
    [0.10, 0.08, 0.07],  # black
    [0.28, 0.18, 0.11],  # dark brown
    [0.48, 0.32, 0.19],  # brown
    [0.84, 0.68, 0.42],  # blonde
    [0.60, 0.25, 0.11],  # auburn
    [0.62, 0.60, 0.58],  # grey
])
_IRIS = np.array([
    [0.35, 0.21, 0.10],  # brown
    [0.25, 0.45, 0.70],  # blue
    [0.30, 0.52, 0.30],  # green
    [0.50, 0.40, 0.20],  # hazel
    [0.45, 0.50, 0.55],  # grey
])
_LIPS = np.array([0.75, 0.32, 0.33])

_SUPERSAMPLE = 3  # render at 3x and area-downsample: anti-aliased edges
_OUTLINE_WIDTH = 0.035  # in units of the image half-width (1 px at 64 px)
_SAT_GAMMA = 2.2  # B saturation: s' = 1 - (1 - s) ** gamma
_TONE_LEVELS = 4  # B value bands


@dataclass(frozen=True)
class FaceParams:
    """One face. Lengths are in units of the image half-width.

    The image spans ``[-1, 1]`` on both axes with y pointing down; head
    features live in the head's frame, rotated by ``roll`` about
    ``center``. Colours are RGB floats in ``[0, 1]``.
    """

    center: Tuple[float, float]
    head_size: Tuple[float, float]  # half-width a, half-height b
    head_power: float  # superellipse exponent: 2 oval, larger squarer
    chin_taper: float  # narrowing of the lower head, 0 none
    roll: float  # in-plane head rotation in radians
    yaw: float  # sideways shift of the features, fraction of a
    skin: RGB
    hair_style: int  # index into HAIR_STYLES
    hair: RGB
    hair_volume: float
    eye_spacing: float  # eye centre to face centre, fraction of a
    eye_height: float  # eye centre y, fraction of b
    eye_size: Tuple[float, float]  # half-axes, fraction of a
    gaze: float  # iris shift inside the eye, fraction of eye width
    iris: RGB
    brow_thickness: float  # fraction of b
    mouth_width: float  # half-width, fraction of a
    mouth_open: float  # half-height, fraction of b
    mouth_curve: float  # > 0 smile, < 0 frown
    lips: RGB
    clothes: RGB
    background: RGB
    light_angle: float  # image-plane direction light comes from, radians
    light_elevation: float  # 0 grazing, pi/2 frontal
    ambient: float
    gradient: float  # strength of the image-wide lighting gradient


def _hsv(rng: np.random.Generator, sat: Tuple[float, float],
         val: Tuple[float, float]) -> RGB:
    """Return an RGB colour with uniform hue and the given S, V ranges."""
    pixel = np.array(
        [[[rng.uniform(0, 360),
           rng.uniform(*sat),
           rng.uniform(*val)]]], np.float32)
    return tuple(
        float(c) for c in cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0])


def _jitter(rng: np.random.Generator, colour: np.ndarray, scale: float) -> RGB:
    return tuple(
        float(c)
        for c in np.clip(colour * rng.uniform(1 - scale, 1 + scale, 3), 0, 1))


def sample_params(rng: np.random.Generator) -> FaceParams:
    """Draw one random face.

    Args:
        rng: The source of randomness; the draw is a function of its state.

    Returns:
        The parameters of one face.
    """
    skin = _SKIN_LIGHT + rng.uniform() * (_SKIN_DARK - _SKIN_LIGHT)
    a = rng.uniform(0.42, 0.50)
    return FaceParams(
        center=(rng.uniform(-0.08, 0.08), rng.uniform(-0.12, -0.02)),
        head_size=(a, a * rng.uniform(1.2, 1.35)),
        head_power=rng.uniform(1.9, 2.6),
        chin_taper=rng.uniform(0.0, 0.35),
        roll=rng.uniform(-0.25, 0.25),
        yaw=rng.uniform(-0.15, 0.15),
        skin=_jitter(rng, skin, 0.04),
        hair_style=int(rng.integers(len(HAIR_STYLES))),
        hair=_jitter(rng, _HAIR[rng.integers(len(_HAIR))], 0.1),
        hair_volume=rng.uniform(0.0, 1.0),
        eye_spacing=rng.uniform(0.36, 0.46),
        eye_height=rng.uniform(-0.08, 0.05),
        eye_size=(rng.uniform(0.17, 0.24), rng.uniform(0.09, 0.15)),
        gaze=rng.uniform(-0.25, 0.25),
        iris=_jitter(rng, _IRIS[rng.integers(len(_IRIS))], 0.1),
        brow_thickness=rng.uniform(0.025, 0.05),
        mouth_width=rng.uniform(0.22, 0.36),
        mouth_open=rng.uniform(0.025, 0.08),
        mouth_curve=rng.uniform(-0.5, 1.0),
        lips=_jitter(rng, 0.55 * _LIPS + 0.45 * skin, 0.05),
        clothes=_hsv(rng, (0.2, 0.7), (0.25, 0.85)),
        background=_hsv(rng, (0.05, 0.45), (0.45, 0.9)),
        light_angle=rng.uniform(-np.pi, np.pi),
        light_elevation=rng.uniform(0.6, 1.2),
        ambient=rng.uniform(0.5, 0.65),
        gradient=rng.uniform(0.05, 0.2),
    )


_CIRCLE = np.stack([
    np.cos(np.linspace(0, 2 * np.pi, 64, endpoint=False)),
    np.sin(np.linspace(0, 2 * np.pi, 64, endpoint=False))
], 1)


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Polygon of an axis-aligned ellipse, ``(64, 2)`` (x, y) points."""
    return _CIRCLE * (rx, ry) + (cx, cy)


def _band(xs: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Polygon of a band of half-thickness ``half`` around a curve."""
    return np.concatenate([
        np.stack([xs, centre - half], 1),
        np.stack([xs, centre + half], 1)[::-1]
    ])


def _hair_outline(a: float, b: float, half_width: float,
                  bottom: float) -> np.ndarray:
    """Polygon of hair falling straight down from a round crown."""
    t = np.linspace(np.pi, 2 * np.pi, 33)
    crown = np.stack([half_width * np.cos(t), -0.05 * b + b * 1.1 * np.sin(t)],
                     1)
    return np.concatenate(
        [crown, [[half_width, bottom], [-half_width, bottom]]])


class _Raster:
    """Fills polygons into ``(n, n)`` rasters.

    Polygons are in image coordinates (``[-1, 1]``, y down) or, by
    default, in the head frame: rotated by ``roll`` about ``center``.
    """

    def __init__(self, p: FaceParams, n: int) -> None:
        self.n = n
        cos, sin = np.cos(p.roll), np.sin(p.roll)
        self.rotation = np.array([[cos, -sin], [sin, cos]])
        self.center = np.array(p.center)

    def paint(self,
              canvas: np.ndarray,
              value: int,
              *polygons: np.ndarray,
              head_frame: bool = True) -> None:
        """Fill ``polygons``, ``(K, 2)`` (x, y) points, with ``value``."""
        for poly in polygons:
            if head_frame:
                poly = poly @ self.rotation.T + self.center
            # Pixel centres sit at integer coordinates; 4 fractional bits
            # keep edges sub-pixel accurate. One call per polygon because
            # fillPoly fills overlaps of several contours even-odd.
            pixels = (poly + 1) * (self.n / 2) - 0.5
            cv2.fillPoly(canvas, [np.rint(pixels * 16).astype(np.int32)],
                         value, cv2.LINE_8, 4)

    def mask(self,
             *polygons: np.ndarray,
             head_frame: bool = True) -> np.ndarray:
        """The union of ``polygons`` as an ``(n, n)`` bool mask."""
        out = np.zeros((self.n, self.n), np.uint8)
        self.paint(out, 1, *polygons, head_frame=head_frame)
        return out.view(bool)


def _hair(p: FaceParams,
          raster: _Raster) -> Tuple[List[np.ndarray], np.ndarray]:
    """Polygons of the hair behind the head, mask of the hair in front."""
    a, b = p.head_size
    vol = 0.06 + 0.1 * p.hair_volume
    style = HAIR_STYLES[p.hair_style]
    cap = _ellipse(0, -0.05 * b, a * (1 + vol), b * (1 + vol))
    xs = np.linspace(-2 * a, 2 * a, 49)
    if style == 'bangs':
        line = -0.25 * b + 0.05 * b * np.cos(xs / a * 3 * np.pi)
    else:
        # A receding hairline, parted towards the side the face turns to.
        t = xs / a
        line = -0.42 * b + 0.25 * b * t * t - 0.1 * b * t * np.sign(p.yaw)
    above = np.concatenate(
        [np.stack([xs, line], 1), [[2 * a, -3 * b], [-2 * a, -3 * b]]])
    # The front hair covers the head above the hairline and the temples.
    temples = [
        np.array([[s * 0.82 * a, -3 * b], [s * 2 * a, -3 * b],
                  [s * 2 * a, -0.05 * b], [s * 0.82 * a, -0.05 * b]])
        for s in (-1, 1)
    ]
    front = raster.mask(cap) & raster.mask(above, *temples)
    back = [cap]
    if style == 'long':
        back.append(_hair_outline(a, b, a * (1.12 + vol), 1.45 * b))
    elif style == 'bob':
        back.append(_hair_outline(a, b, a * (1.1 + vol), 0.55 * b))
    elif style == 'bun':
        back.append(_ellipse(0, -1.05 * b, 0.42 * a, 0.32 * a))
    return back, front


def _sphere(u: np.ndarray, v: np.ndarray, light: np.ndarray,
            ambient: float) -> np.ndarray:
    """Lambert shading of an ellipsoid seen front-on, ``(H, W)``."""
    nz = np.sqrt(np.clip(1 - u * u - v * v, 0, 1))
    dot = (u * light[0] + v * light[1] +
           nz * light[2]) / np.sqrt(u * u + v * v + nz * nz + 1e-6)
    return ambient + (1.1 - ambient) * np.clip(dot, 0, 1)


def _shading(p: FaceParams, m: int) -> np.ndarray:
    """Lighting factor of each shading field, ``(m, m, 5)`` float32.

    An image-wide gradient towards the light times Lambert shading of an
    ellipsoid per body part. Smooth, so a coarse grid is enough.
    """
    coords = (np.arange(m) + 0.5) * (2 / m) - 1
    gx, gy = np.meshgrid(coords, coords)
    cx, cy = p.center
    a, b = p.head_size
    el, az = p.light_elevation, p.light_angle
    light = np.array(
        [np.cos(az) * np.cos(el),
         np.sin(az) * np.cos(el),
         np.sin(el)])
    grad = 1 + p.gradient * (gx * np.cos(az) + gy * np.sin(az))
    u, v = (gx - cx) / a, (gy - cy) / b
    fields = np.stack([
        np.ones_like(gx),
        _sphere((gx - cx) / (2.2 * a),
                (gy - cy - b - 1.07) / 0.95, light, p.ambient),
        _sphere(u / 1.2, (v + 0.1) / 1.15, light, p.ambient),
        0.8 * _sphere(u / 0.36, np.zeros_like(gy), light, p.ambient),
        _sphere(u, v, light, p.ambient),
    ], -1)
    return (fields * grad[..., None]).astype(np.float32)


def _geometry(p: FaceParams, size: int) -> Dict[str, np.ndarray]:
    """Rasterize the geometry and lighting shared by both styles.

    Everything is drawn at ``n = size * _SUPERSAMPLE`` pixels.

    Returns:
        ``labels`` ``(n, n)`` uint8 label ids, ``shade`` ``(n, n)`` float32
        lighting factor (about 0.5 to 1.2) and ``highlight`` ``(n, n)`` bool,
        the iris highlight that only domain B paints.
    """
    a, b = p.head_size
    cx, cy = p.center
    n = size * _SUPERSAMPLE
    raster = _Raster(p, n)
    labels = np.zeros((n, n), np.uint8)

    hair_back, hair_front = _hair(p, raster)
    paint = functools.partial(raster.paint, labels)
    paint(HAIR_BACK, *hair_back)
    neck_w = 0.36 * a
    chest = cy + b + 0.12
    paint(
        NECK,
        np.array([[cx - neck_w, cy + 0.3 * b], [cx + neck_w, cy + 0.3 * b],
                  [cx + neck_w, chest + 0.2], [cx - neck_w, chest + 0.2]]),
        head_frame=False)
    paint(CLOTHES, _ellipse(cx, chest + 0.95, 2.2 * a, 0.95), head_frame=False)
    # The neckline of the shirt.
    paint(NECK, _ellipse(cx, chest, 1.15 * neck_w, 0.08), head_frame=False)
    paint(
        EAR, *[
            _ellipse(s * 0.97 * a, 0.1 * b, a * 0.14 * (1 - s * p.yaw),
                     b * 0.17) for s in (-1, 1)
        ])

    # Head: a superellipse whose lower half narrows towards the chin.
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    ys = b * np.sign(s) * np.abs(s)**(2 / p.head_power)
    xs = (
        a * (1 - p.chin_taper * np.clip(ys / b, 0, 1)) * np.sign(c) *
        np.abs(c)**(2 / p.head_power))
    head = raster.mask(np.stack([xs, ys], 1))
    labels[head] = HEAD

    fx = p.yaw * a  # the features slide sideways with yaw
    paint(NOSE, _ellipse(fx * 1.3, 0.28 * b, 0.07 * a, 0.14 * b))
    # Mouth: a band around a parabola, thinning towards the corners.
    span = np.linspace(-1, 1, 25)
    mw, mh = p.mouth_width * a, p.mouth_open * b
    lip_line = 0.58 * b - p.mouth_curve * 1.6 * mh * span**2
    mouth = _band(fx + mw * span, lip_line, mh * np.sqrt(1 - span**2))
    labels[head & raster.mask(mouth)] = MOUTH

    ew, eh = p.eye_size[0] * a, p.eye_size[1] * a
    ey = p.eye_height * b
    ri = min(eh * 1.1, ew * 0.65)
    highlight = np.zeros((n, n), bool)
    for side in (-1, 1):
        ex = fx + side * p.eye_spacing * a
        ix = ex + p.gaze * ew
        white = raster.mask(_ellipse(ex, ey, ew, eh))
        labels[white] = EYE_WHITE
        labels[white & raster.mask(_ellipse(ix, ey, ri, ri))] = IRIS
        labels[white
               & raster.mask(_ellipse(ix, ey, 0.45 * ri, 0.45 * ri))] = PUPIL
        highlight |= white & raster.mask(
            _ellipse(ix - 0.35 * ri, ey - 0.35 * ri, 0.3 * ri, 0.3 * ri))
        brow = _band(ex + 1.1 * ew * span,
                     ey - eh - 0.12 * b + 0.06 * b * span**2,
                     p.brow_thickness * b * (1 - 0.5 * span**2))
        labels[head & raster.mask(brow)] = BROW
    labels[hair_front] = HAIR_FRONT

    # Pick each coarse pixel's field by its centre label; the seams this
    # leaves at region borders are under B's outlines.
    step = _SUPERSAMPLE
    coarse = labels[step // 2::step, step // 2::step]
    fields = _shading(p, size)
    shade = cv2.resize(
        np.take_along_axis(fields, _FIELD[coarse][..., None], 2)[..., 0],
        (n, n),
        interpolation=cv2.INTER_LINEAR)
    return {'labels': labels, 'shade': shade, 'highlight': highlight}


def _palette(p: FaceParams) -> np.ndarray:
    """Base RGB colour of every label, ``(NUM_LABELS, 3)`` float32."""
    skin = np.array(p.skin)
    hair = np.array(p.hair)
    return np.array([
        p.background,
        p.clothes,
        hair,
        skin,
        skin * 0.95,
        skin,
        skin * 0.88,
        p.lips,
        [0.95, 0.94, 0.92],
        p.iris,
        [0.04, 0.03, 0.03],
        hair * 0.55,
        hair,
    ], np.float32)


def toon_tone(rgb: np.ndarray) -> np.ndarray:
    """Domain B's per-pixel colour curve: more saturation, banded value.

    Both curves are monotone and leave the hue alone, so the brightness
    order and hue of every pixel survive.

    Args:
        rgb: ``(..., 3)`` float32 RGB in ``[0, 1]``.

    Returns:
        ``(..., 3)`` float32 RGB in ``[0, 1]``.
    """
    hsv = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2HSV)
    hsv[..., 1] = 1 - (1 - hsv[..., 1])**_SAT_GAMMA
    # Cel shading: snap value to a few bands, biased bright.
    levels = _TONE_LEVELS
    hsv[..., 2] = np.minimum((np.floor(hsv[..., 2] * levels) + 0.9) / levels,
                             1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def _paint_photo(clean: np.ndarray, size: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Domain A from the shaded colours at output size, ``(H, W, 3)``."""
    img = cv2.GaussianBlur(clean, (0, 0), 0.5 * size / 64)
    # Blotchy low-frequency skin/sensor texture plus fine grain.
    blotch = cv2.resize(
        rng.normal(0, 0.05, (6, 6)).astype(np.float32), (size, size),
        interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 0.02,
                       (size, size, 1)) + rng.normal(0, 0.01, (size, size, 3))
    return _to_uint8(img * (1 + blotch[..., None]) + grain)


def _paint_anime(clean: np.ndarray, geometry: Dict[str, np.ndarray],
                 size: int) -> np.ndarray:
    """Domain B from the shaded colours at full resolution."""
    img = toon_tone(clean)
    groups = _GROUP[geometry['labels']]
    width = max(2, round(_OUTLINE_WIDTH * len(groups) / 2))
    kernel = np.ones((width, width), np.uint8)
    edge = cv2.dilate(groups, kernel) != cv2.erode(groups, kernel)
    img[edge] *= 0.2
    img[geometry['highlight']] = 1.0
    return _to_uint8(
        cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA))


def render(
        p: FaceParams,
        size: int,
        styles: Sequence[str] = ('a', 'b'),
        noise_rng: Optional[np.random.Generator] = None
) -> Dict[str, np.ndarray]:
    """Render one face in the requested styles from shared geometry.

    Args:
        p: The face.
        size: Side of the square output in pixels.
        styles: Any of ``'a'`` (photo) and ``'b'`` (anime).
        noise_rng: Source of domain A's texture noise; a fixed seed if
            ``None``.

    Returns:
        ``{style: (size, size, 3) uint8 RGB}``.
    """
    unknown = set(styles) - {'a', 'b'}
    if unknown:
        raise ValueError(f'toy faces: unknown styles {sorted(unknown)}; '
                         "use 'a' (photo) and/or 'b' (anime)")
    geometry = _geometry(p, size)
    clean = np.take(_palette(p), geometry['labels'], axis=0)
    clean *= geometry['shade'][..., None]
    np.clip(clean, 0, 1, out=clean)
    out = {}
    if 'a' in styles:
        small = cv2.resize(clean, (size, size), interpolation=cv2.INTER_AREA)
        out['a'] = _paint_photo(
            small, size,
            noise_rng if noise_rng is not None else np.random.default_rng(0))
    if 'b' in styles:
        out['b'] = _paint_anime(clean, geometry, size)
    return out


def draw(entropy: Entropy) -> Tuple[FaceParams, np.random.Generator]:
    """Draw a face and the generator of its photo noise from one seed.

    Args:
        entropy: Seed of the draw, an int or a sequence of ints.

    Returns:
        The face and an independent generator for domain A's noise.
    """
    params_seed, noise_seed = np.random.SeedSequence(entropy).spawn(2)
    return (sample_params(np.random.default_rng(params_seed)),
            np.random.default_rng(noise_seed))


def render_pair(entropy: Entropy,
                size: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """Render one parameter draw in both styles: a ground-truth pair.

    Test pair ``i`` of :func:`make_toy_faces` with seed ``s`` is
    ``render_pair([s, 2, i], size)``.

    Args:
        entropy: Seed of the draw, see :func:`draw`.
        size: Side of the square images in pixels.

    Returns:
        ``(img_a, img_b)``, each ``(size, size, 3)`` uint8 RGB.
    """
    params, noise_rng = draw(entropy)
    imgs = render(params, size, noise_rng=noise_rng)
    return imgs['a'], imgs['b']


def _write(path: Path, img: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise OSError(f'toy faces: could not write {path}; check that the '
                      'output folder is writable')


def make_toy_faces(out_dir: Union[str, Path],
                   size: int = 64,
                   n_train: int = 1000,
                   n_test: int = 100,
                   seed: int = 0) -> Dict[str, int]:
    """Write the benchmark as ``out_dir/{trainA,trainB,testA,testB}``.

    ``trainA`` and ``trainB`` hold ``n_train`` independent draws each
    (``a00000.png``, ``b00000.png`` ...); ``testA`` and ``testB`` hold the
    same ``n_test`` draws in both styles under the same names
    (``00000.png`` ...). Image ``i`` of split ``k`` (0 trainA, 1 trainB,
    2 test) is the draw ``[seed, k, i]``.

    Args:
        out_dir: Dataset root; created if missing.
        size: Side of the square images in pixels.
        n_train: Training images per domain.
        n_test: Test pairs.
        seed: Seed of the whole dataset, non-negative.

    Returns:
        Number of images written per folder.
    """
    if size < 16 or min(n_train, n_test, seed) < 0:
        raise ValueError('toy faces: need size >= 16 and non-negative '
                         f'n_train, n_test and seed, got size={size}, '
                         f'n_train={n_train}, n_test={n_test}, seed={seed}')
    root = Path(out_dir)
    # Per split id: image count and (style, folder, file prefix) outputs.
    splits = [
        (n_train, [('a', 'trainA', 'a')]),
        (n_train, [('b', 'trainB', 'b')]),
        (n_test, [('a', 'testA', ''), ('b', 'testB', '')]),
    ]
    for _, outputs in splits:
        for _, name, _ in outputs:
            folder = root / name
            if folder.is_dir() and any(folder.iterdir()):
                raise FileExistsError(
                    f'toy faces: {folder} is not empty; delete it or pick '
                    'another output folder, so that no stale images mix in')
    counts = {}
    for split_id, (count, outputs) in enumerate(splits):
        styles = [style for style, _, _ in outputs]
        for _, name, _ in outputs:
            (root / name).mkdir(parents=True, exist_ok=True)
            counts[name] = count
        for i in range(count):
            params, noise_rng = draw([seed, split_id, i])
            imgs = render(params, size, styles, noise_rng=noise_rng)
            for style, name, prefix in outputs:
                _write(root / name / f'{prefix}{i:05d}.png', imgs[style])
    return counts
