"""Synthetic clips for matte tests, with the object's exact matte per frame.

The scene is hard in the ways real footage is: a textured object (a five-lobed blob with a
texture fixed to it) moves, grows and rotates over a textured background while the camera
pans, and on its way it partly crosses a distractor of a similar colour that sits still in
the world (so it moves with the pan). The clip is compressed as H.264. The ground truth is
the object's coverage exactly as it was drawn (soft on a one-pixel edge).

Import from tests as ``from matte_clips import ...`` (pytest puts ``tests/`` on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass
class MatteClip:
    """A rendered clip and its truth. Frame numbers are 0-based (a movie file)."""

    path: Path
    width: int
    height: int
    frame_count: int
    rate: Fraction
    masks: list[np.ndarray]                  # object coverage per frame, HxW float32 0..1
    distractor: list[np.ndarray] = field(default_factory=list)  # distractor coverage

    def mask(self, frame: int) -> np.ndarray:
        return self.masks[frame]

    def clicks(self, frame: int, include: int = 2, exclude: int = 1) -> dict:
        """Prompts a user would give at ``frame``: ``include`` clicks well inside the object,
        ``exclude`` clicks on the distractor (or just outside the object when the distractor
        is hidden); pixel coordinates of the full-resolution frame."""
        return prompts_from_mask(self.masks[frame] > 0.5, include, exclude,
                                 avoid=self.distractor[frame] > 0.5 if self.distractor else None)


def prompts_from_mask(mask: np.ndarray, include: int = 2, exclude: int = 1,
                      avoid: np.ndarray | None = None, box: bool = False) -> dict:
    """Clicks derived from a true mask: include clicks at the deepest interior points, spread
    apart; exclude clicks deep inside ``avoid`` (e.g. a distractor) outside the mask, or in a
    ring just outside the mask. With ``box``, the mask's bounding box too."""
    fg = mask.astype(np.uint8)
    points = _deep_points(fg, include)
    out: dict = {"include": [[float(x), float(y)] for x, y in points], "exclude": []}
    if exclude:
        region = None
        if avoid is not None:
            region = (avoid & ~mask.astype(bool)).astype(np.uint8)
            if region.sum() < 20:
                region = None
        if region is None:
            ring = cv2.dilate(fg, np.ones((25, 25), np.uint8)) - cv2.dilate(fg, np.ones((9, 9), np.uint8))
            region = ring
        out["exclude"] = [[float(x), float(y)] for x, y in _deep_points(region, exclude)]
    if box:
        ys, xs = np.nonzero(fg)
        out["box"] = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
    return out


def _deep_points(region: np.ndarray, count: int) -> list[tuple[float, float]]:
    """``count`` points deep inside ``region``, each far from the ones before."""
    dist = cv2.distanceTransform(np.pad(region, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    points: list[tuple[float, float]] = []
    score = dist.copy()
    h, w = region.shape
    ys, xs = np.mgrid[0:h, 0:w]
    for _ in range(count):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[y, x] <= 0:
            break
        points.append((x + 0.5, y + 0.5))
        # Prefer the next point away from this one, but still deep inside.
        away = np.sqrt((xs - x) ** 2 + (ys - y) ** 2)
        score = dist * np.minimum(away / (0.5 * max(dist.max(), 1.0) * 3), 1.0)
    return points


# ---- drawing ---------------------------------------------------------------------------------

def _texture(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth random texture 0..1: a few octaves of blurred noise."""
    tex = np.zeros((h, w), np.float32)
    amp = 1.0
    for octave in range(3):
        s = max(scale / (2 ** octave), 1.5)
        noise = rng.standard_normal((h, w)).astype(np.float32)
        tex += amp * cv2.GaussianBlur(noise, (0, 0), s)
        amp *= 0.6
    tex -= tex.min()
    return tex / max(float(tex.max()), 1e-6)


def _blob_coverage(cx: float, cy: float, radius: float, angle: float, w: int, h: int,
                   lobes: float = 0.22) -> np.ndarray:
    """Coverage of a five-lobed blob centred at (cx, cy), turned by ``angle`` radians."""
    ys = np.arange(h, dtype=np.float32)[:, None] + 0.5 - cy
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5 - cx
    dist = np.sqrt(xs ** 2 + ys ** 2)
    theta = np.arctan2(ys, xs) - angle
    edge = radius * (1.0 + lobes * np.cos(5 * theta) + 0.08 * np.cos(2 * theta + 0.7))
    return np.clip(edge - dist + 0.5, 0.0, 1.0).astype(np.float32)


def _object_texture(tex: np.ndarray, cx: float, cy: float, scale: float, angle: float,
                    w: int, h: int) -> np.ndarray:
    """The object's own texture, carried by its motion (turns and scales with it)."""
    th, tw = tex.shape
    c, s = np.cos(angle), np.sin(angle)
    # frame -> texture coordinates: untranslate, unrotate, unscale, then centre in the texture
    m = np.array([[c, s, -(c * cx + s * cy)], [-s, c, -(-s * cx + c * cy)]], np.float32) / scale
    m[:, 2] += (tw / 2, th / 2)
    return cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def render_matte_clip(path: str | Path, *, width: int = 320, height: int = 240,
                      frames: int = 32, rate: Fraction = Fraction(24), seed: int = 3,
                      crf: int = 20, pan: tuple[float, float] = (2.0, 0.6)) -> MatteClip:
    """Render the scene described in the module docstring to ``path`` (H.264 .mp4)."""
    rng = np.random.default_rng(seed)
    w, h = width, height
    margin_x, margin_y = int(abs(pan[0]) * frames) + 2, int(abs(pan[1]) * frames) + 2
    world_w, world_h = w + margin_x, h + margin_y
    bg_tex = _texture(rng, world_h, world_w, 0.04 * w)
    bg = (0.35 + 0.65 * bg_tex)[..., None] * np.array([120, 150, 110], np.float32)
    # Colours: the object is orange, the distractor a slightly darker orange.
    obj_colour = np.array([235, 140, 50], np.float32)
    dis_colour = np.array([215, 125, 55], np.float32)
    obj_tex = _texture(rng, 256, 256, 6.0)
    dis_tex = _texture(rng, world_h, world_w, 0.02 * w)
    # The distractor sits still in the world, right of centre.
    dcx, dcy = 0.62 * w + margin_x * 0.5, 0.55 * h + margin_y * 0.5
    distractor_world = _blob_coverage(dcx, dcy, 0.17 * h, 0.3, world_w, world_h, lobes=0.1)
    world = bg * (1 - distractor_world[..., None]) + (
        (0.7 + 0.3 * dis_tex)[..., None] * dis_colour) * distractor_world[..., None]

    masks, distractors = [], []
    path = Path(path)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf),
                          "x264-params": "keyint=24:min-keyint=24:scenecut=0"}
        for i in range(frames):
            t = i / max(frames - 1, 1)
            ox = int(round(pan[0] * i)) if pan[0] >= 0 else margin_x - 1 + int(round(pan[0] * i))
            oy = int(round(pan[1] * i)) if pan[1] >= 0 else margin_y - 1 + int(round(pan[1] * i))
            view = world[oy:oy + h, ox:ox + w]
            distractor = distractor_world[oy:oy + h, ox:ox + w]
            # The object travels left to right across the distractor, growing and turning.
            cx, cy = (0.22 + 0.5 * t) * w, (0.42 + 0.12 * np.sin(np.pi * t)) * h
            radius = (0.16 + 0.07 * t) * h
            angle = 1.2 * t
            alpha = _blob_coverage(cx, cy, radius, angle, w, h)
            tex = _object_texture(obj_tex, cx, cy, radius / 60.0, angle, w, h)
            obj = (0.6 + 0.4 * tex)[..., None] * obj_colour
            img = view * (1 - alpha[..., None]) + obj * alpha[..., None]
            rgb = np.clip(img + 0.5, 0, 255).astype(np.uint8)
            masks.append(alpha)
            distractors.append(distractor * (1 - alpha))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return MatteClip(path, w, h, frames, rate, masks, distractors)
