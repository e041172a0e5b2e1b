"""Still images with an exact object mask, for keyframe (clicks -> mask) tests.

Each scene is hard for colour segmentation in its own way: an object whose colour is close to
its background, thin parts, an object cut by the image border, an object made of differently
coloured parts (clicks in one part must still give the whole), a hole showing the background,
a small object on a busy background, a look-alike beside the object, and an object that
differs from its background in texture more than in colour. Edges are anti-aliased and the
image is JPEG-compressed, as a decoded frame would be. The truth is the drawn coverage > 0.5.

Real keyframes come from clips in DAVIS layout (``frames/NNNNN.jpg`` and ``masks/NNNNN.png``):
:func:`davis_keyframes` gives every n-th frame with its mask.

Import from tests as ``from keyframe_scenes import ...`` (pytest puts ``tests/`` on sys.path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from matte_clips import _blob_coverage, _texture

WIDTH, HEIGHT = 480, 270
_SS = 4  # supersampling of drawn shapes: anti-aliased edges


@dataclass
class KeyframeScene:
    name: str
    image: np.ndarray   # HxWx3 uint8 RGB
    mask: np.ndarray    # HxW bool, the object


def _coverage(draw: Callable[[np.ndarray, int], None], w: int = WIDTH, h: int = HEIGHT) -> np.ndarray:
    """Coverage 0..1 of shapes drawn by ``draw(canvas, scale)`` on a supersampled canvas."""
    canvas = np.zeros((h * _SS, w * _SS), np.uint8)
    draw(canvas, _SS)
    return cv2.resize(canvas.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)


def _pt(x: float, y: float, s: int) -> tuple[int, int]:
    return int(round(x * s)), int(round(y * s))


def _surface(rng: np.random.Generator, colour, spread: float, scale: float,
             w: int = WIDTH, h: int = HEIGHT) -> np.ndarray:
    """A textured colour field: ``colour`` modulated by +-``spread`` of smooth noise."""
    tex = _texture(rng, h, w, scale)
    return (1.0 - spread + 2 * spread * tex)[..., None] * np.asarray(colour, np.float32)


def _finish(rng: np.random.Generator, img: np.ndarray, quality: int = 85) -> np.ndarray:
    """Sensor noise and JPEG compression, as a decoded frame has."""
    noisy = img + rng.normal(0.0, 3.0, img.shape).astype(np.float32)
    rgb = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded[..., ::-1].copy()


def _compose(layers: list[tuple[np.ndarray, np.ndarray]], base: np.ndarray) -> np.ndarray:
    img = base.copy()
    for alpha, colour in layers:
        img = img * (1 - alpha[..., None]) + colour * alpha[..., None]
    return img


def similar_colour(seed: int = 1) -> KeyframeScene:
    """An orange textured blob on a brown-orange textured ground."""
    rng = np.random.default_rng(seed)
    alpha = _blob_coverage(0.45 * WIDTH, 0.5 * HEIGHT, 0.28 * HEIGHT, 0.4, WIDTH, HEIGHT)
    bg = _surface(rng, (170, 115, 70), 0.3, 10.0)
    obj = _surface(rng, (215, 135, 60), 0.25, 4.0)
    img = _compose([(alpha, obj)], bg)
    return KeyframeScene("similar_colour", _finish(rng, img), alpha > 0.5)


def thin_parts(seed: int = 2) -> KeyframeScene:
    """A dark insect: an oval body with six thin legs and two antennae, on green texture."""
    rng = np.random.default_rng(seed)
    cx, cy = 0.5 * WIDTH, 0.52 * HEIGHT

    def draw(c: np.ndarray, s: int) -> None:
        cv2.ellipse(c, _pt(cx, cy, s), (int(70 * s), int(32 * s)), 0, 0, 360, 255, -1)
        cv2.circle(c, _pt(cx + 82, cy - 4, s), int(20 * s), 255, -1)
        for i, dx in enumerate((-40, 0, 40)):
            for side in (-1, 1):
                knee = (cx + dx + 12 * (i - 1), cy + side * 62)
                foot = (cx + dx + 30 * (i - 1), cy + side * 105)
                cv2.line(c, _pt(cx + dx, cy, s), _pt(*knee, s), 255, int(4 * s))
                cv2.line(c, _pt(*knee, s), _pt(*foot, s), 255, int(3 * s))
        for side in (-1, 1):
            cv2.line(c, _pt(cx + 95, cy - 10 * side, s), _pt(cx + 150, cy - 70 * side, s), 255,
                     int(2.5 * s))

    alpha = _coverage(draw)
    bg = _surface(rng, (95, 140, 70), 0.35, 6.0)
    obj = _surface(rng, (60, 45, 35), 0.3, 3.0)
    return KeyframeScene("thin_parts", _finish(rng, _compose([(alpha, obj)], bg)), alpha > 0.5)


def touching_border(seed: int = 3) -> KeyframeScene:
    """A grey-blue boulder cut by the bottom and left edges of the frame, on a sandy ground."""
    rng = np.random.default_rng(seed)
    alpha = _blob_coverage(0.18 * WIDTH, 0.9 * HEIGHT, 0.5 * HEIGHT, 1.0, WIDTH, HEIGHT, lobes=0.12)
    bg = _surface(rng, (190, 170, 130), 0.25, 8.0)
    obj = _surface(rng, (120, 125, 140), 0.35, 5.0)
    return KeyframeScene("touching_border", _finish(rng, _compose([(alpha, obj)], bg)), alpha > 0.5)


def multi_part(seed: int = 4) -> KeyframeScene:
    """A dog-like animal: golden body, darker head, pale tail and legs, on dry pale grass."""
    rng = np.random.default_rng(seed)
    cx, cy = 0.48 * WIDTH, 0.5 * HEIGHT

    def body(c: np.ndarray, s: int) -> None:
        cv2.ellipse(c, _pt(cx, cy, s), (int(95 * s), int(45 * s)), -5, 0, 360, 255, -1)

    def head(c: np.ndarray, s: int) -> None:
        cv2.ellipse(c, _pt(cx + 110, cy - 30, s), (int(34 * s), int(28 * s)), 20, 0, 360, 255, -1)

    def pale(c: np.ndarray, s: int) -> None:
        cv2.ellipse(c, _pt(cx - 120, cy - 40, s), (int(50 * s), int(14 * s)), 35, 0, 360, 255, -1)
        for dx in (-70, -45, 50, 75):
            cv2.line(c, _pt(cx + dx, cy + 20, s), _pt(cx + dx + 4, cy + 95, s), 255, int(11 * s))

    a_pale, a_body, a_head = _coverage(pale), _coverage(body), _coverage(head)
    bg = _surface(rng, (185, 165, 120), 0.25, 5.0)
    img = _compose([(a_pale, _surface(rng, (225, 215, 195), 0.12, 3.0)),
                    (a_body, _surface(rng, (200, 140, 60), 0.2, 4.0)),
                    (a_head, _surface(rng, (120, 80, 40), 0.2, 4.0))], bg)
    alpha = np.maximum(np.maximum(a_pale, a_body), a_head)
    return KeyframeScene("multi_part", _finish(rng, img), alpha > 0.5)


def with_hole(seed: int = 5) -> KeyframeScene:
    """A red ring (a tyre, a hoop) with the textured background showing through its hole."""
    rng = np.random.default_rng(seed)

    def draw(c: np.ndarray, s: int) -> None:
        cv2.circle(c, _pt(0.5 * WIDTH, 0.5 * HEIGHT, s), int(105 * s), 255, -1)
        cv2.circle(c, _pt(0.5 * WIDTH + 8, 0.5 * HEIGHT, s), int(55 * s), 0, -1)

    alpha = _coverage(draw)
    bg = _surface(rng, (110, 120, 150), 0.4, 6.0)
    obj = _surface(rng, (170, 50, 45), 0.25, 4.0)
    return KeyframeScene("with_hole", _finish(rng, _compose([(alpha, obj)], bg)), alpha > 0.5)


def small_object(seed: int = 6) -> KeyframeScene:
    """A small yellow ball on a busy multicoloured background."""
    rng = np.random.default_rng(seed)
    alpha = _blob_coverage(0.7 * WIDTH, 0.35 * HEIGHT, 0.07 * HEIGHT, 0.0, WIDTH, HEIGHT, lobes=0.05)
    hue = _texture(rng, HEIGHT, WIDTH, 12.0)
    bg = np.stack([60 + 150 * hue, 90 + 80 * (1 - hue), 140 - 60 * hue], -1).astype(np.float32)
    bg *= (0.7 + 0.6 * _texture(rng, HEIGHT, WIDTH, 2.0))[..., None]
    obj = _surface(rng, (225, 200, 60), 0.15, 3.0)
    return KeyframeScene("small_object", _finish(rng, _compose([(alpha, obj)], bg)), alpha > 0.5)


def look_alike(seed: int = 7) -> KeyframeScene:
    """A green object beside a slightly darker green look-alike, a strip of ground between."""
    rng = np.random.default_rng(seed)
    alpha = _blob_coverage(0.33 * WIDTH, 0.5 * HEIGHT, 0.25 * HEIGHT, 0.2, WIDTH, HEIGHT)
    twin = _blob_coverage(0.69 * WIDTH, 0.52 * HEIGHT, 0.24 * HEIGHT, 1.1, WIDTH, HEIGHT)
    bg = _surface(rng, (150, 140, 130), 0.3, 8.0)
    img = _compose([(twin, _surface(rng, (70, 150, 70), 0.25, 4.0)),
                    (alpha, _surface(rng, (80, 165, 75), 0.25, 4.0))], bg)
    return KeyframeScene("look_alike", _finish(rng, img), alpha > 0.5)


def texture_only(seed: int = 8) -> KeyframeScene:
    """A coarsely mottled object on a finely grained ground of about the same mean colour."""
    rng = np.random.default_rng(seed)
    alpha = _blob_coverage(0.5 * WIDTH, 0.48 * HEIGHT, 0.3 * HEIGHT, 0.9, WIDTH, HEIGHT, lobes=0.15)
    bg = _surface(rng, (140, 130, 110), 0.3, 1.2)
    obj = _surface(rng, (150, 128, 100), 0.45, 9.0)
    return KeyframeScene("texture_only", _finish(rng, _compose([(alpha, obj)], bg)), alpha > 0.5)


def large_at_border(seed: int = 9) -> KeyframeScene:
    """A person seen from the chest up: a dark coat filling the lower frame and a lighter head,
    cut by the bottom edge, in a room whose wall has patches of the coat's colour."""
    rng = np.random.default_rng(seed)

    def coat(c: np.ndarray, s: int) -> None:
        pts = np.array([[110, 270], [150, 175], [205, 150], [275, 150], [330, 175], [370, 270]], np.float32)
        cv2.fillPoly(c, [np.round(pts * s).astype(np.int32)], 255)

    def head(c: np.ndarray, s: int) -> None:
        cv2.ellipse(c, _pt(240, 100, s), (int(40 * s), int(52 * s)), 0, 0, 360, 255, -1)
        cv2.rectangle(c, _pt(222, 130, s), _pt(258, 160, s), 255, -1)

    a_coat, a_head = _coverage(coat), _coverage(head)
    wall = _surface(rng, (150, 160, 170), 0.2, 10.0)
    patches = (_texture(rng, HEIGHT, WIDTH, 25.0) > 0.72).astype(np.float32)
    patches = cv2.GaussianBlur(patches, (0, 0), 2.0)
    coat_colour = _surface(rng, (55, 60, 85), 0.25, 3.0)
    img = _compose([(patches, _surface(rng, (60, 62, 80), 0.25, 3.0)), (a_coat, coat_colour),
                    (a_head, _surface(rng, (215, 170, 140), 0.15, 4.0))], wall)
    alpha = np.maximum(a_coat, a_head)
    return KeyframeScene("large_at_border", _finish(rng, img), alpha > 0.5)


def shaded(seed: int = 10) -> KeyframeScene:
    """A round object lit from the left: its shadowed side is as dark as the shadowed ground."""
    rng = np.random.default_rng(seed)
    alpha = _blob_coverage(0.45 * WIDTH, 0.5 * HEIGHT, 0.3 * HEIGHT, 0.0, WIDTH, HEIGHT, lobes=0.06)
    xs = np.linspace(0.0, 1.0, WIDTH, dtype=np.float32)[None, :, None]
    light_obj = np.clip(1.25 - 1.1 * (xs - 0.3) / 0.35, 0.25, 1.2)
    light_bg = np.clip(1.1 - 0.8 * xs, 0.3, 1.1)
    bg = _surface(rng, (150, 150, 140), 0.2, 6.0) * light_bg
    obj = _surface(rng, (90, 140, 200), 0.15, 4.0) * light_obj
    return KeyframeScene("shaded", _finish(rng, _compose([(alpha, obj)], bg)), alpha > 0.5)


SCENES: list[Callable[[], KeyframeScene]] = [similar_colour, thin_parts, touching_border, multi_part,
                                             with_hole, small_object, look_alike, texture_only,
                                             large_at_border, shaded]


def all_scenes() -> list[KeyframeScene]:
    return [make() for make in SCENES]


def davis_keyframes(folders: Iterable[Path], step: int = 5) -> list[KeyframeScene]:
    """Every ``step``-th frame (from frame 0) of each clip in DAVIS layout with its true mask,
    named ``clip/frame``; frames whose mask is empty are left out (nothing to click on)."""
    out = []
    for folder in folders:
        for path in sorted((Path(folder) / "masks").glob("*.png"))[::step]:
            truth = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            image = cv2.imread(str(Path(folder) / "frames" / f"{path.stem}.jpg"))
            if image is None or truth is None:
                raise FileNotFoundError(f"{folder}: frames/{path.stem}.jpg and {path.name}")
            if (truth > 127).any():
                out.append(KeyframeScene(f"{Path(folder).name}/{path.stem}",
                                         np.ascontiguousarray(image[..., ::-1]), truth > 127))
    return out
