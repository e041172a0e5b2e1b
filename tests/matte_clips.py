"""Synthetic clips for matte tests, with the object's exact matte per frame.

The scene is hard in the ways real footage is: a textured object (a five-lobed blob with a
texture fixed to it) moves, grows and rotates over a textured background while the camera
pans, and on its way it partly crosses a distractor of a similar colour that sits still in
the world (so it moves with the pan). The clip is compressed as H.264. The ground truth is
the object's coverage exactly as it was drawn (soft on a one-pixel edge).

Import from tests as ``from matte_clips import ...`` (pytest puts ``tests/`` on sys.path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import OpenImageIO as oiio

from moviola.engine.matte.backend import MatteBackend
from moviola.engine.matte.frames import to_working
from moviola.engine.matte.metrics import ClipScore
from moviola.engine.matte.prompts import parse_prompts
from moviola.engine.matte.propagate import propagate
from moviola.engine.media.frame_source import FrameSource
from moviola.engine.media.info import MediaInfo
from moviola.engine.media.source import open_source


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
    nearest = np.full((h, w), np.inf)
    for _ in range(count):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[y, x] <= 0:
            break
        points.append((x + 0.5, y + 0.5))
        # Prefer the next point away from every point so far (not only the last one, which
        # let a third click land back on the first), but still deep inside.
        nearest = np.minimum(nearest, np.sqrt((xs - x) ** 2 + (ys - y) ** 2))
        score = dist * np.minimum(nearest / (0.5 * max(dist.max(), 1.0) * 3), 1.0)
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


def write_h264(path: Path, images: Iterable[np.ndarray], w: int, h: int, rate: Fraction,
               crf: int) -> None:
    """Encode RGB ``images`` as H.264 (frame i at pts i, a keyframe every 24 frames)."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf),
                          "x264-params": "keyint=24:min-keyint=24:scenecut=0"}
        for i, rgb in enumerate(images):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_alpha(path: str) -> np.ndarray:
    """A written matte file's alpha (its first channel) as float."""
    return oiio.ImageBuf(path).get_pixels(oiio.FLOAT)[..., 0]


def score_result(result: dict, truth_of: Callable[[int], np.ndarray]) -> ClipScore:
    """J&F of a matte job's written files against ``truth_of(frame)``."""
    s = ClipScore()
    for frame, path in zip(result["frames"], result["files"]):
        s.add(frame, read_alpha(path), truth_of(frame))
    return s


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

    def drawn():
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
            yield rgb

    write_h264(path, drawn(), w, h, rate, crf)
    return MatteClip(path, w, h, frames, rate, masks, distractors)


# ---- hard clips: the walk must hold the object -------------------------------------------------

HARD_KINDS = ("occluder", "behind", "fast", "scale", "small")


def render_hard_clip(path: str | Path, kind: str, *, width: int = 320, height: int = 240,
                     frames: int = 40, rate: Fraction = Fraction(24), seed: int = 5,
                     crf: int = 20) -> MatteClip:
    """A clip where a walk that only carries the last mask loses the object; exact masks.

    - ``occluder``: a textured post in front sweeps across the object, hiding up to half of it
      for about a third of the clip; the hidden part comes back (the truth is what is visible).
    - ``behind``: the object passes wholly behind a wide post for a few frames and comes out
      on the other side.
    - ``fast``: the object crosses the frame and comes back, about 12 pixels a frame (at 320
      wide), bobbing, motion-blurred.
    - ``scale``: the object grows to 2.2 times its first size while drifting.
    - ``small``: a small object (radius 7 % of the height) loops around the frame at about
      1.5 of its own sizes a frame: faster than the flow can follow it.

    The object (textured, five-lobed) differs in colour from the textured background, as a
    real subject usually does; ``distractor`` holds the occluder's coverage (or nothing).
    """
    if kind not in HARD_KINDS:
        raise ValueError(f"kind must be one of {HARD_KINDS}")
    rng = np.random.default_rng(seed)
    w, h = width, height
    bg_tex = _texture(rng, h, w, 0.05 * w)
    background = (0.3 + 0.7 * bg_tex)[..., None] * np.array([110, 140, 120], np.float32)
    obj_colour = np.array([225, 120, 70], np.float32)
    obj_tex = _texture(rng, 256, 256, 6.0)
    post_colour = np.array([70, 80, 150], np.float32)
    post_tex = _texture(rng, h, w, 0.03 * w)

    masks, occluders = [], []
    path = Path(path)

    def drawn():
        for i in range(frames):
            # Three sub-frame samples: a fast object is motion-blurred, as a camera sees it.
            alpha = np.zeros((h, w), np.float32)
            obj = np.zeros((h, w, 3), np.float32)
            for sub in (-1 / 3, 0.0, 1 / 3):
                cx, cy, radius, angle = _hard_path(kind, (i + sub) / max(frames - 1, 1), w, h)
                a = _blob_coverage(cx, cy, radius, angle, w, h)
                tex = _object_texture(obj_tex, cx, cy, radius / 60.0, angle, w, h)
                alpha += a / 3
                obj += ((0.55 + 0.45 * tex) * a / 3)[..., None] * obj_colour
            img = background * (1 - alpha[..., None]) + obj
            t = i / max(frames - 1, 1)
            post = np.zeros((h, w), np.float32)
            if kind in ("occluder", "behind"):
                # "occluder": a post 0.2 of the width wide sweeps from left of the object to
                # right of it; "behind": a post 0.36 wide stands still in the middle.
                px, half = ((-0.1 + 1.0 * t) * w, 0.1 * w) if kind == "occluder" else (0.5 * w, 0.18 * w)
                xs = np.arange(w, dtype=np.float32) + 0.5
                post[:] = np.clip(half - np.abs(xs - px) + 0.5, 0.0, 1.0)[None, :]
                img = img * (1 - post[..., None]) + ((0.6 + 0.4 * post_tex)[..., None] * post_colour
                                                     ) * post[..., None]
            rgb = np.clip(img + 0.5, 0, 255).astype(np.uint8)
            masks.append(alpha * (1 - post))
            occluders.append(post)
            yield rgb

    write_h264(path, drawn(), w, h, rate, crf)
    return MatteClip(path, w, h, frames, rate, masks, occluders)


def _hard_path(kind: str, t: float, w: int, h: int) -> tuple[float, float, float, float]:
    """The hard clip's object at time ``t`` (0..1): centre, radius, angle."""
    if kind == "fast":
        # Across the frame and back (about 12 pixels a frame over 40 frames at 320 wide).
        across = 1.0 - abs(2.0 * t - 1.0)
        return ((0.15 + 0.7 * across) * w, (0.5 + 0.18 * np.sin(3 * np.pi * t)) * h,
                0.15 * h, 2.0 * t)
    if kind == "behind":
        return (0.12 + 0.76 * t) * w, (0.5 + 0.05 * np.sin(2 * np.pi * t)) * h, 0.15 * h, 0.5 * t
    if kind == "small":
        turn = 3.0 * np.pi * t
        return (0.5 + 0.32 * np.cos(turn)) * w, (0.5 + 0.3 * np.sin(2 * turn)) * h, 0.07 * h, 3.0 * t
    if kind == "scale":
        return (0.35 + 0.2 * t) * w, (0.45 + 0.08 * t) * h, 0.12 * h * (1.0 + 1.2 * t), 0.8 * t
    return (0.4 + 0.15 * t) * w, 0.5 * h, 0.2 * h, 0.6 * t


@dataclass
class WalkScore:
    """A keyframe walked both ways through a clip (or a variant of it), scored."""

    score: ClipScore            # frames in walking order: 0 is the variant's first frame
    key_j: float
    walk_frames_per_s: float | None
    working: tuple[int, int]


class HeldFrames(FrameSource):
    """A clip's frames decoded once and held at the working size, in a chosen order: frame
    ``i`` is the clip's frame ``order[i]``. Gives a walk a faster clip (every Nth frame) or the
    clip backwards, as a plain forward clip."""

    def __init__(self, source: FrameSource, order: Sequence[int], max_side: int) -> None:
        wanted = set(order)
        held = {n: to_working(img, max_side) for n, img in source.frames() if n in wanted}
        self.images = [held[n] for n in order]
        h, w = self.images[0].shape[:2]
        self._info = replace(source.info, width=w, height=h, coded_width=w, coded_height=h,
                             frame_count=len(order), start_frame=0, missing_frames=())

    @property
    def info(self) -> MediaInfo:
        return self._info

    def read(self, n: int) -> np.ndarray:
        return self.images[self._check_frame(n)]

    def close(self) -> None:
        self.images = []


def variant_order(count: int, stride: int = 1, reverse: bool = False) -> list[int]:
    """The clip's frame indices (0-based) a variant walks: every ``stride``-th frame, from
    the last frame backwards with ``reverse``."""
    order = list(range(0, count, max(1, stride)))
    return order[::-1] if reverse else order


def walk_and_score(media: str | Path, truth_of: Callable[[int], np.ndarray], backend: MatteBackend,
                   protocol: str, max_frames: int | None = None, *, stride: int = 1,
                   reverse: bool = False, key_frame: str = "first") -> WalkScore:
    """A keyframe walked with ``propagate`` through the clip, every frame scored, the
    keyframe included.

    ``protocol``: ``"clicks"`` (3 include clicks at interior maxima of the key frame's true
    mask, 2 exclude clicks just outside it, segmented by ``backend``) or ``"mask"`` (the key
    frame's true mask itself). ``truth_of(n)``: the clip's frame n's true mask (bool, full
    resolution, n 0-based). The walk sees the first ``max_frames`` frames of the clip, every
    ``stride``-th of them, backwards with ``reverse``; ``key_frame`` ``"first"`` keys the
    first frame of that order and walks forward, ``"middle"`` keys its middle frame and walks
    both ways.
    """
    with open_source(media) as clip:
        count = clip.info.frame_count if max_frames is None else min(clip.info.frame_count, max_frames)
        order = variant_order(count, stride, reverse)
        plain = order == list(range(count))
        source: FrameSource = clip if plain else HeldFrames(clip, [clip.first_frame + n for n in order],
                                                             backend.working_size)
        first = source.first_frame
        key = first + (len(order) // 2 if key_frame == "middle" else 0)
        image = to_working(source.read(key), backend.working_size)
        key_truth = truth_of(order[key - first])
        h, w = image.shape[:2]
        if protocol == "mask":
            mask = cv2.resize(key_truth.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        elif protocol == "clicks":
            prompts = parse_prompts(**prompts_from_mask(key_truth, include=3, exclude=2))
            mask = backend.segment(image, prompts.scaled(w / key_truth.shape[1], h / key_truth.shape[0]))
        else:
            raise ValueError(f"unknown protocol {protocol!r}")
        masks: dict[int, np.ndarray] = {}
        full = key_truth.shape[::-1]

        def add(frame: int, m: np.ndarray) -> None:
            masks[frame - first] = m.astype(np.float32)      # copied; scored once the walk is done

        add(key, mask)
        t0 = time.perf_counter()
        walked = propagate(source, backend, key, image, mask, +1, first + len(order) - 1 - key, add)
        walked += propagate(source, backend, key, image, mask, -1, key - first, add)
        seconds = time.perf_counter() - t0
    score = ClipScore()
    for i in sorted(masks):
        pred = cv2.resize(masks[i], full, interpolation=cv2.INTER_LINEAR)
        score.add(i, pred, truth_of(order[i]))
    fps = walked / seconds if walked and seconds > 0 else None
    return WalkScore(score, score.j[key - first], fps, (w, h))


def write_davis_layout(clip: MatteClip, folder: str | Path) -> Path:
    """``clip`` as a DAVIS-layout folder (``clip.mp4`` linked, ``masks/NNNNN.png``), for
    benchmarks/matte_quality.py."""
    folder = Path(folder)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    movie = folder / "clip.mp4"
    if not movie.exists():
        movie.symlink_to(Path(clip.path).resolve())
    for n, mask in enumerate(clip.masks):
        cv2.imwrite(str(folder / "masks" / f"{n:05d}.png"), np.where(mask > 0.5, 255, 0).astype(np.uint8))
    return folder
