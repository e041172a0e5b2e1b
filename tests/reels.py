"""Synthetic reels with exact ground truth, for shot detection and match-cut tests.

Every shot is drawn from a :class:`ShotSpec`: a textured background seen through a moving
camera (pan, tilt, zoom) and one screen-fixed object (its silhouette). Reels are encoded as
real H.264 with PyAV, frames drawn lazily so memory stays one shot's background.

- :func:`cuts_reel`: hard cuts, a dissolve, a fade to black and back, a flash inside a shot
  and a fast pan (the last two are not cuts); :class:`Reel` holds every cut exactly.
- :data:`REAL_TRUTH`: the known cuts of the real videos in ``shared/data/shots``.
- :func:`motion_reel`: whip pans, camera shake, fast objects and a flash inside shots (none
  a cut), beside hard cuts, dissolves and a fade.
- :func:`matchcut_reel`: planted frame matches (same silhouette framing, different look),
  planted motion matches (same camera move, different content), a near-duplicate shot and
  distractors; :class:`MatchReel` holds the planted pairs.

Import from tests as ``from reels import ...`` (pytest puts ``tests/`` on sys.path).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from shared_data import SHARED_DATA
from synthetic import _open_video_stream

RATE = Fraction(24)
SIZE = (160, 90)


# ---- what a shot is -------------------------------------------------------------------------

@dataclass(frozen=True)
class ShotSpec:
    """One synthetic shot. Positions and sizes are shares of the frame; camera speeds are
    shares of the frame width per frame; ``zoom`` is the scale factor per frame."""

    frames: int
    seed: int                                   # background texture
    palette: tuple[tuple[int, int, int], tuple[int, int, int]]  # background colours
    shape: str | None = "disc"                  # disc | square | figure | triangle | None
    colour: tuple[int, int, int] = (230, 60, 40)
    centre: tuple[float, float] = (0.5, 0.5)
    size: float = 0.3                           # object height / frame height
    camera: tuple[float, float, float] = (0.0, 0.0, 1.0)  # vx, vy, zoom per frame
    flash: tuple[int, ...] = ()                 # frames (in the shot) washed to white
    # A whip pan: (first frame, frames, travel in frame widths); the camera eases in and out
    # of a horizontal sweep, motion-blurred as a shutter open the whole frame would blur it.
    whip: tuple[int, int, float] | None = None
    shake: float = 0.0                          # camera jitter, shares of the width per frame
    motion: tuple[float, float] = (0.0, 0.0)    # object velocity (shares of width, height per
                                                # frame); it bounces off the frame's edges


@dataclass(frozen=True)
class TruthCut:
    """A shot boundary: ``frame`` starts the new shot; ``start``..``end`` (exclusive) is the
    transition's span (one frame for a hard cut)."""

    frame: int
    kind: str                                   # hard | dissolve | fade
    start: int
    end: int


@dataclass(frozen=True)
class Reel:
    path: Path
    frame_count: int
    cuts: tuple[TruthCut, ...]
    shots: tuple[tuple[int, int], ...]          # (start, end exclusive), per shot
    rate: Fraction = RATE


@dataclass(frozen=True)
class MatchReel:
    path: Path
    frame_count: int
    shots: tuple[tuple[int, int], ...]
    frame_pairs: frozenset[tuple[int, int]]     # shot indexes (i < j)
    motion_pairs: frozenset[tuple[int, int]]
    duplicates: tuple[tuple[int, int], ...] = field(default=())  # (original, repeat)
    rate: Fraction = RATE


# ---- drawing --------------------------------------------------------------------------------

def _noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth noise in 0..1: random values on a coarse grid, upsampled."""
    gh, gw = max(2, h * cells // w), max(2, cells)
    grid = rng.random((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _canvas(spec: ShotSpec, w: int, h: int) -> np.ndarray:
    """The world a shot's camera looks at: big enough for the whole camera move."""
    vx, vy, _ = spec.camera
    extra = (abs(spec.whip[2]) * w if spec.whip else 0) + 8 * spec.shake * w
    cw = w + int(abs(vx) * w * spec.frames + extra) + 2 * w
    ch = h + int(abs(vy) * w * spec.frames + 8 * spec.shake * w) + 2 * h
    rng = np.random.default_rng(spec.seed)
    mix = _noise(rng, ch, cw, max(4, cw // 90))[..., None]
    texture = 0.55 * _noise(rng, ch, cw, max(8, cw // 12)) + 0.45 * _noise(rng, ch, cw, cw // 4)
    a, b = (np.array(c, np.float32) for c in spec.palette)
    colour = a * (1 - mix) + b * mix
    return colour * (0.55 + 0.6 * texture[..., None])


def _silhouette(spec: ShotSpec, w: int, h: int) -> np.ndarray:
    """Soft coverage (HxW, 0..1) of the object, drawn 4x larger and area-averaged."""
    k = 4
    big = np.zeros((h * k, w * k), np.uint8)
    cx, cy = spec.centre[0] * w * k, spec.centre[1] * h * k
    s = spec.size * h * k
    if spec.shape == "disc":
        cv2.circle(big, (int(cx), int(cy)), int(s / 2), 255, -1)
    elif spec.shape == "square":
        cv2.rectangle(big, (int(cx - s / 2), int(cy - s / 2)), (int(cx + s / 2), int(cy + s / 2)), 255, -1)
    elif spec.shape == "triangle":
        pts = np.array([[cx, cy - s / 2], [cx - s / 2, cy + s / 2], [cx + s / 2, cy + s / 2]], np.int32)
        cv2.fillPoly(big, [pts], 255)
    elif spec.shape == "figure":  # a person-like silhouette: head over a body
        cv2.circle(big, (int(cx), int(cy - s * 0.32)), int(s * 0.17), 255, -1)
        cv2.ellipse(big, (int(cx), int(cy + s * 0.18)), (int(s * 0.24), int(s * 0.34)), 0, 0, 360, 255, -1)
    elif spec.shape is not None:
        raise ValueError(f"unknown shape {spec.shape!r}")
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _whip_offset(spec: ShotSpec, t: float) -> float:
    """How far (frame widths) the whip pan has taken the camera at time ``t`` (frames)."""
    if spec.whip is None:
        return 0.0
    first, length, travel = spec.whip
    u = min(1.0, max(0.0, (t - first) / length))
    return travel * (1 - np.cos(np.pi * u)) / 2        # eases in and out


def _bounce(x: float) -> float:
    """``x`` folded into 0.15..0.85, as an object bouncing off the frame's edges moves."""
    span = 0.7
    y = (x - 0.15) % (2 * span)
    return 0.15 + (y if y <= span else 2 * span - y)


def _camera_offsets(spec: ShotSpec, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame camera jitter (x, y) in pixels: a smoothed random walk around the path."""
    if not spec.shake:
        return np.zeros(spec.frames), np.zeros(spec.frames)
    rng = np.random.default_rng(spec.seed + 11)
    jitter = rng.normal(0.0, spec.shake * w, (spec.frames, 2))
    kernel = np.array([0.25, 0.5, 0.25])
    smooth = [np.convolve(jitter[:, k], kernel, mode="same") for k in (0, 1)]
    return smooth[0], smooth[1]


def shot_frames(spec: ShotSpec, size: tuple[int, int] = SIZE) -> Iterator[np.ndarray]:
    """The shot's frames as HxWx3 float32 RGB (0..255), drawn one at a time."""
    w, h = size
    canvas = _canvas(spec, w, h)
    alpha = _silhouette(spec, w, h)[..., None]
    shade = 0.85 + 0.3 * _noise(np.random.default_rng(spec.seed + 7), h, w, 6)[..., None]
    obj = np.array(spec.colour, np.float32) * shade
    vx, vy, zoom = spec.camera
    ch, cw = canvas.shape[:2]
    # Start where the whole move stays inside the canvas.
    travel = abs(vx) * w * spec.frames + (abs(spec.whip[2]) * w if spec.whip else 0)
    direction = np.sign(vx) if vx else (np.sign(spec.whip[2]) if spec.whip else 0)
    x0 = cw / 2 - direction * travel / 2
    y0 = ch / 2 - np.sign(vy) * (abs(vy) * w * spec.frames) / 2
    shake_x, shake_y = _camera_offsets(spec, w)

    def background(t: float, i: int) -> np.ndarray:
        scale = zoom ** i
        x = x0 + vx * w * t + _whip_offset(spec, t) * w + shake_x[i]
        y = y0 + vy * w * t + shake_y[i]
        # frame (x', y') -> canvas (x + (x' - w/2)/scale, y + (y' - h/2)/scale)
        m = np.array([[1 / scale, 0, x - w / 2 / scale],
                      [0, 1 / scale, y - h / 2 / scale]], np.float32)
        return cv2.warpAffine(canvas, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)

    for i in range(spec.frames):
        whipping = spec.whip is not None and spec.whip[0] - 1 <= i <= spec.whip[0] + spec.whip[1]
        if whipping:   # motion blur: the shutter is open from t - 1/2 to t + 1/2
            bg = np.mean([background(i + d, i) for d in np.linspace(-0.5, 0.5, 9)], axis=0)
        else:
            bg = background(i, i)
        a, o = alpha, obj
        if spec.motion != (0.0, 0.0):
            cx = _bounce(spec.centre[0] + spec.motion[0] * i) - spec.centre[0]
            cy = _bounce(spec.centre[1] + spec.motion[1] * i) - spec.centre[1]
            m = np.array([[1, 0, cx * w], [0, 1, cy * h]], np.float32)
            a = cv2.warpAffine(alpha, m, (w, h))[..., None]
            o = cv2.warpAffine(obj, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        img = bg * (1 - a) + o * a
        if i in spec.flash:
            img = img * 0.25 + 245.0 * 0.75
        yield img


# ---- encoding -------------------------------------------------------------------------------

def encode(path: str | Path, frames: Iterable[np.ndarray], size: tuple[int, int] = SIZE,
           rate: Fraction = RATE, gop: int = 48, timecode: str | None = None) -> int:
    """Encode float or uint8 RGB frames as H.264 (frame i has pts i); return the count.
    ``timecode`` becomes the start timecode of a mov/mp4."""
    n = 0
    with av.open(str(path), mode="w") as container:
        stream = _open_video_stream(container, "h264", rate, size, gop, 2)
        if timecode:
            stream.metadata["timecode"] = timecode
        for img in frames:
            rgb = np.clip(img + 0.5, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = n, 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
            n += 1
        for packet in stream.encode():
            container.mux(packet)
    return n


# ---- a reel for shot detection --------------------------------------------------------------

_PALETTES = [((40, 60, 110), (90, 140, 200)), ((120, 90, 40), (210, 180, 120)),
             ((30, 90, 40), (110, 180, 90)), ((100, 40, 70), (200, 120, 150)),
             ((70, 70, 70), (170, 170, 160)), ((20, 90, 100), (100, 200, 190)),
             ((110, 60, 20), (230, 140, 60)), ((50, 40, 100), (150, 130, 220)),
             ((90, 100, 30), (190, 200, 90)), ((100, 30, 30), (210, 100, 90)),
             ((40, 50, 60), (120, 150, 170)), ((80, 60, 90), (180, 160, 120))]
_SHAPES = ["disc", "square", "figure", "triangle"]
_COLOURS = [(230, 60, 40), (250, 220, 50), (240, 240, 240), (30, 30, 30), (60, 220, 90),
            (240, 80, 200), (40, 120, 250), (250, 150, 30)]


def _spec(i: int, frames: int, **overrides: object) -> ShotSpec:
    rng = np.random.default_rng(1000 + i)
    base = ShotSpec(frames=frames, seed=1000 + i, palette=_PALETTES[i % len(_PALETTES)],
                    shape=_SHAPES[i % len(_SHAPES)], colour=_COLOURS[(3 * i) % len(_COLOURS)],
                    centre=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.4, 0.6))),
                    size=float(rng.uniform(0.3, 0.5)),
                    camera=(float(rng.uniform(-0.004, 0.004)), 0.0, 1.0))
    return replace(base, **overrides)  # type: ignore[arg-type]


def cuts_reel(path: str | Path, *, variant: int = 0) -> Reel:
    """A ~15 s reel: hard cuts, a 12-frame dissolve, a fade to black and back (8 frames out,
    4 black, 8 in), a two-frame flash inside a shot and a fast pan (a tenth of the frame
    width per frame). ``variant`` reorders shots and lengths for a second, different reel."""
    rng = np.random.default_rng(variant)
    lengths = [int(x) for x in rng.integers(22, 40, 12)]
    order = list(rng.permutation(12)) if variant else list(range(12))
    specs = [_spec(order[i] + 12 * variant, lengths[i]) for i in range(12)]
    specs[3] = replace(specs[3], flash=(lengths[3] // 2, lengths[3] // 2 + 1))     # not a cut
    specs[6] = replace(specs[6], camera=(0.1, 0.0, 1.0), frames=max(lengths[6], 30))  # fast pan
    specs[9] = replace(specs[9], camera=(0.0, 0.0, 1.02))                             # push in
    # Transitions into shot i: "cut", ("dissolve", n) or ("fade", out, black, in).
    into: dict[int, tuple] = {4: ("dissolve", 12), 8: ("fade", 8, 4, 8)}

    plan = _plan(specs, into)
    n = encode(path, plan.frames())
    return Reel(Path(path), n, tuple(plan.cuts), tuple(plan.shots))


def motion_reel(path: str | Path, *, variant: int = 0) -> Reel:
    """A ~20 s reel where fast motion inside shots is no transition: two whip pans, shaky
    camera, big objects moving fast, a fast pan and a flash, beside real transitions: hard
    cuts, three dissolves (8 to 16 frames, one between two moving shots) and a fade through
    black. ``variant`` changes the shots' content, lengths and the motions' speeds."""
    rng = np.random.default_rng(100 + variant)
    lengths = [int(x) for x in rng.integers(30, 44, 14)]
    speed = 1.0 + 0.25 * variant
    specs = [_spec(i + 40 + 14 * variant, lengths[i]) for i in range(14)]
    moving = {
        1: {"whip": (10, 6, 2.5 * speed), "frames": max(lengths[1], 34)},       # whip pan
        2: {"shake": 0.025 * speed},                                               # handheld
        3: {"motion": (0.07 * speed, 0.03), "size": 0.5},                          # fast object
        4: {"shake": 0.02 * speed, "motion": (-0.05 * speed, 0.04)},
        5: {"flash": (lengths[5] // 2,), "camera": (0.02, 0.0, 1.0)},              # flash
        7: {"whip": (14, 5, -2.0 * speed), "shake": 0.01, "frames": max(lengths[7], 36)},
        8: {"camera": (0.03 * speed, 0.0, 1.0), "motion": (0.04, 0.0)},
        9: {"camera": (0.1 * speed, 0.0, 1.0)},                                   # fast pan
        10: {"motion": (0.09 * speed, -0.05), "size": 0.55, "shake": 0.015},
        11: {"shake": 0.02, "camera": (0.0, 0.0, 1.015)},
        12: {"camera": (0.0, 0.0, 0.985), "motion": (0.05, 0.05)},
    }
    specs = [replace(spec, **moving.get(i, {})) for i, spec in enumerate(specs)]  # type: ignore[arg-type]
    into: dict[int, tuple] = {3: ("dissolve", 12), 6: ("fade", 6, 3, 6), 8: ("dissolve", 16),
                              11: ("dissolve", 8)}
    plan = _plan(specs, into)
    n = encode(path, plan.frames())
    return Reel(Path(path), n, tuple(plan.cuts), tuple(plan.shots))


@dataclass
class _Plan:
    """Which shot frames make each output frame, and the truth that results."""

    specs: Sequence[ShotSpec | RealShot]
    into: dict[int, tuple]
    cuts: list[TruthCut] = field(default_factory=list)
    shots: list[tuple[int, int]] = field(default_factory=list)
    # per output frame: list of (shot index, frame in shot, weight)
    recipe: list[list[tuple[int, int, float]]] = field(default_factory=list)

    def frames(self, size: tuple[int, int] = SIZE) -> Iterator[np.ndarray]:
        """Render frames in order. Each shot frame is used once and in order, so one
        generator per shot suffices (at most two are open, during a dissolve)."""
        gens: dict[int, Iterator[np.ndarray]] = {}
        for parts in self.recipe:
            img = np.zeros((size[1], size[0], 3), np.float32)
            for shot, _, weight in parts:
                img += next(gens.setdefault(shot, _shot_pictures(self.specs[shot]))) * weight
            yield img


def _shot_pictures(spec: ShotSpec | RealShot) -> Iterator[np.ndarray]:
    if isinstance(spec, ShotSpec):
        return shot_frames(spec)
    return (p.astype(np.float32) for p in spec.pictures)


def _plan(specs: Sequence[ShotSpec | RealShot], into: dict[int, tuple]) -> _Plan:
    plan = _Plan(specs, into)
    out = plan.recipe
    starts: list[int] = []
    for i, spec in enumerate(specs):
        how = into.get(i, ("cut",))
        if how[0] == "dissolve":
            n = how[1]
            start = len(out) - n          # overlaps the previous shot's last n frames
            for k in range(n):
                a = (k + 1) / (n + 1)
                prev = out[start + k]
                out[start + k] = [(s, f, w * (1 - a)) for s, f, w in prev] + [(i, k, a)]
            out.extend([(i, k, 1.0)] for k in range(n, spec.frames))
            plan.cuts.append(TruthCut(start + n // 2, "dissolve", start, start + n))
            starts.append(start + n // 2)
        elif how[0] == "fade":
            out_n, black, in_n = how[1], how[2], how[3]
            fade_start = len(out) - out_n
            for k in range(out_n):   # the previous shot's tail goes down to black
                g = 1 - (k + 1) / (out_n + 1)
                out[fade_start + k] = [(s, f, w * g) for s, f, w in out[fade_start + k]]
            black_start = len(out)
            out.extend([] for _ in range(black))
            out.extend([(i, k, (k + 1) / (in_n + 1) if k < in_n else 1.0)]
                       for k in range(spec.frames))
            plan.cuts.append(TruthCut(black_start + black // 2, "fade", fade_start,
                                      black_start + black + in_n))
            starts.append(black_start + black // 2)
        else:
            if i:
                plan.cuts.append(TruthCut(len(out), "hard", len(out), len(out) + 1))
            starts.append(len(out))
            out.extend([(i, k, 1.0)] for k in range(spec.frames))
    plan.shots = [(s, e) for s, e in zip(starts, starts[1:] + [len(out)])]
    return plan


# ---- real videos with known cuts -------------------------------------------------------------

# The cuts of the real videos in shared/data/shots (0-based first frame of the new shot; spans
# for gradual transitions), checked by looking at the frames. testvideo.mp4 holds more than the
# data README lists: the deer shot fades in from black over 211-240 and out over 330-360, and a
# dissolve runs over 529-558.
REAL_TRUTH: dict[str, tuple[TruthCut, ...]] = {
    "testvideo.mp4": (TruthCut(30, "hard", 30, 31), TruthCut(180, "hard", 180, 181),
                      TruthCut(225, "fade", 211, 241), TruthCut(345, "fade", 330, 361),
                      TruthCut(408, "fade", 394, 424), TruthCut(543, "dissolve", 529, 559),
                      TruthCut(678, "fade", 664, 694)),
    "fades.mp4": (TruthCut(84, "fade", 78, 90), TruthCut(167, "fade", 161, 173)),
    "goldeneye-vfr-drop3.mp4": (TruthCut(60, "hard", 60, 61), TruthCut(140, "hard", 140, 141)),
    "counter.mp4": (TruthCut(10, "hard", 10, 11), TruthCut(20, "hard", 20, 21)),
}


# ---- reels of real footage --------------------------------------------------------------------

REAL_SIZE = (192, 108)


@dataclass(frozen=True)
class RealShot:
    """One shot of real pixels, rendered at the reel's size (HxWx3 uint8 RGB per frame)."""

    pictures: tuple[np.ndarray, ...]
    label: str

    @property
    def frames(self) -> int:
        return len(self.pictures)


def _fit(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` cropped about its centre to the aspect of ``size`` and scaled to it."""
    h, w = img.shape[:2]
    want = size[0] / size[1]
    if w / h > want:
        cw = int(round(h * want))
        img = img[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = int(round(w / want))
        img = img[(h - ch) // 2:(h - ch) // 2 + ch]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _davis_frames(name: str, first: int, count: int, *, full: bool) -> list[np.ndarray]:
    """Frames ``first..first + count`` of a shared DAVIS clip as RGB: 854x480, or half that
    (faster to read) unless ``full``."""
    paths = sorted((SHARED_DATA / "davis" / name / "frames").glob("*.jpg"))[first:first + count]
    flag = cv2.IMREAD_COLOR if full else cv2.IMREAD_REDUCED_COLOR_2
    return [cv2.cvtColor(cv2.imread(str(p), flag), cv2.COLOR_BGR2RGB) for p in paths]


def _video_frames(name: str, ranges: Iterable[tuple[int, int]],
                  width: int) -> dict[tuple[int, int], list[np.ndarray]]:
    """Decoded frames ``first..stop`` (exclusive) of a shared shots video, per range, scaled
    by the decoder to ``width``; decoded frame i is frame i, as the detectors number them."""
    ranges = sorted(set(ranges))
    out: dict[tuple[int, int], list[np.ndarray]] = {r: [] for r in ranges}
    last = max(b for _, b in ranges)
    with av.open(str(SHARED_DATA / "shots" / name)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        height = 2 * round(width * stream.height / stream.width / 2)
        for i, frame in enumerate(container.decode(stream)):
            if i >= last:
                break
            inside = [r for r in ranges if r[0] <= i < r[1]]
            if inside:
                rgb = frame.reformat(width=width, height=height, format="rgb24",
                                     interpolation="AREA").to_ndarray()
                for r in inside:
                    out[r].append(rgb)
    return out


def _view(img: np.ndarray, centre: tuple[float, float], width: float, angle: float,
          size: tuple[int, int]) -> np.ndarray:
    """A camera's view of ``img``: a window ``width`` source pixels wide (the aspect of
    ``size``) about ``centre``, turned by ``angle`` degrees, resampled to ``size`` (float)."""
    s = width / size[0]
    c, n = np.cos(np.radians(angle)) * s, np.sin(np.radians(angle)) * s
    w2, h2 = size[0] / 2, size[1] / 2
    # Output pixel (x, y) reads the source at centre + R(angle) * s * ((x, y) - size / 2).
    m = np.array([[c, -n, centre[0] - c * w2 + n * h2],
                  [n, c, centre[1] - n * w2 - c * h2]], np.float32)
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32)


def whip_pan(images: Sequence[np.ndarray], *, start: int, length: int, travel: float,
             size: tuple[int, int] = REAL_SIZE) -> list[np.ndarray]:
    """A whip pan over real frames: a window a fifth of the source wide (plus margin) holds
    still, sweeps ``travel`` window widths sideways in ``length`` frames from ``start``,
    easing in and out, and holds again; the sweep is motion-blurred as an open shutter blurs
    it. Frame i looks at ``images[i]``, so the scene keeps moving under the pan."""
    h, w = images[0].shape[:2]
    width = w / (abs(travel) + 1.3)
    x0 = w / 2 - travel * width / 2
    y = h / 2

    def at(t: float) -> float:
        u = min(1.0, max(0.0, (t - start) / length))
        return x0 + travel * width * (1 - np.cos(np.pi * u)) / 2

    out = []
    for i, img in enumerate(images):
        if start - 1 <= i <= start + length:
            views = [_view(img, (at(i + d), y), width, 0.0, size) for d in np.linspace(-0.5, 0.5, 17)]
            out.append(np.clip(np.mean(views, axis=0) + 0.5, 0, 255).astype(np.uint8))
        else:
            out.append(np.clip(_view(img, (at(i), y), width, 0.0, size) + 0.5, 0, 255).astype(np.uint8))
    return out


def camera_shake(images: Sequence[np.ndarray], *, amount: float, seed: int,
                 size: tuple[int, int] = REAL_SIZE) -> list[np.ndarray]:
    """Handheld shake over real frames: a window 80 % of the source jitters by ``amount``
    window widths per frame (smoothed), with a little roll, and blurs along its jump."""
    h, w = images[0].shape[:2]
    width = 0.8 * w
    rng = np.random.default_rng(seed)
    jitter = rng.normal(0.0, 1.0, (len(images) + 2, 3))
    kernel = np.array([0.25, 0.5, 0.25])
    smooth = np.stack([np.convolve(jitter[:, k], kernel, mode="same") for k in range(3)], axis=1)[1:-1]
    margin = (w - width) / 2
    xs = w / 2 + np.clip(smooth[:, 0] * amount * width, -margin, margin)
    ys = h / 2 + np.clip(smooth[:, 1] * amount * width, -margin * h / w, margin * h / w)
    angles = smooth[:, 2] * 0.8
    out = []
    for i, img in enumerate(images):
        j = max(0, i - 1)
        views = [_view(img, (xs[j] + u * (xs[i] - xs[j]), ys[j] + u * (ys[i] - ys[j])), width,
                       angles[j] + u * (angles[i] - angles[j]), size) for u in (0.5, 0.75, 1.0)]
        out.append(np.clip(np.mean(views, axis=0) + 0.5, 0, 255).astype(np.uint8))
    return out


def flash(pictures: Sequence[np.ndarray], at: int) -> list[np.ndarray]:
    """A photographer's flash at frame ``at``: washed towards white, fading over the next."""
    out = [p.copy() for p in pictures]
    for i, strength in ((at, 0.75), (at + 1, 0.3)):
        out[i] = np.clip(out[i] * (1 - strength) + 250.0 * strength, 0, 255).astype(np.uint8)
    return out


# Shots of the real reels: (source, first, count, effect). Sources are the shared DAVIS clips
# (real fast motion: a dog, a car) and shots of the shared videos between their known
# transitions. Effects: "whip+" / "whip-" (4 widths in 10 frames, from frame 12), "shake",
# "flash" (in the middle), "" (as shot).
_REAL_SHOTS = [
    [("testvideo.mp4", 40, 36, ""), ("dog", 0, 48, ""), ("blackswan", 0, 36, "whip+"),
     ("goldeneye-vfr-drop3.mp4", 2, 40, ""), ("car-roundabout", 0, 48, "shake"),
     ("testvideo.mp4", 430, 36, "flash"), ("dog", 4, 44, "whip-"),
     ("goldeneye-vfr-drop3.mp4", 66, 44, ""), ("testvideo.mp4", 565, 36, ""),
     ("car-roundabout", 20, 44, ""), ("testvideo.mp4", 250, 36, ""), ("blackswan", 10, 36, "shake")],
    [("goldeneye-vfr-drop3.mp4", 142, 16, ""), ("car-roundabout", 0, 40, "whip-"),
     ("dog", 0, 48, "shake"), ("testvideo.mp4", 470, 40, ""), ("blackswan", 0, 44, "flash"),
     ("dog", 12, 44, "whip+"), ("car-roundabout", 30, 44, "shake"), ("testvideo.mp4", 600, 36, "flash"),
     ("goldeneye-vfr-drop3.mp4", 10, 44, ""), ("dog", 20, 40, ""), ("testvideo.mp4", 100, 36, ""),
     ("blackswan", 4, 40, "whip+")],
    [("testvideo.mp4", 250, 40, ""), ("dog", 0, 56, "whip-"), ("goldeneye-vfr-drop3.mp4", 70, 48, "flash"),
     ("car-roundabout", 0, 56, "shake"), ("testvideo.mp4", 440, 44, ""), ("blackswan", 0, 48, "shake"),
     ("dog", 4, 52, "shake"), ("testvideo.mp4", 40, 48, ""), ("car-roundabout", 10, 60, "whip+"),
     ("goldeneye-vfr-drop3.mp4", 0, 56, ""), ("testvideo.mp4", 580, 44, "flash")],
]
# Transitions into shot i, as for the synthetic reels: a hard cut where none is named.
_REAL_INTO: list[dict[int, tuple]] = [
    {3: ("dissolve", 12), 5: ("fade", 8, 4, 8), 7: ("dissolve", 16), 9: ("dissolve", 8)},
    {3: ("dissolve", 10), 6: ("dissolve", 14), 8: ("fade", 6, 3, 6), 11: ("dissolve", 12)},
    {2: ("dissolve", 24), 4: ("dissolve", 20), 8: ("fade", 12, 6, 12), 9: ("dissolve", 30)},
]
REAL_REEL_VARIANTS = len(_REAL_SHOTS)


def real_shots(variant: int = 0, size: tuple[int, int] = REAL_SIZE) -> list[RealShot]:
    """The shots of real reel ``variant``, rendered from the shared data."""
    table = _REAL_SHOTS[variant]
    videos = {src for src, *_ in table if src.endswith(".mp4")}
    decoded = {name: _video_frames(name, [(a, a + n) for src, a, n, _ in table if src == name], 2 * size[0])
               for name in videos}
    shots = []
    for i, (src, first, count, effect) in enumerate(table):
        if src in decoded:
            full = decoded[src][(first, first + count)]
        else:   # a whip pan looks at a fifth of the frame: it needs every pixel
            full = _davis_frames(src, first, count, full=effect.startswith("whip"))
        assert len(full) == count, (src, first, count, len(full))
        if effect.startswith("whip"):
            travel = 4.0 if effect == "whip+" else -4.0
            pictures = whip_pan(full, start=12, length=10, travel=travel, size=size)
        elif effect == "shake":
            pictures = camera_shake(full, amount=0.03, seed=variant * 100 + i, size=size)
        else:
            pictures = [_fit(img, size) for img in full]
            if effect == "flash":
                pictures = flash(pictures, count // 2)
        shots.append(RealShot(tuple(pictures), f"{src}[{first}:{first + count}] {effect}".strip()))
    return shots


def real_reel(path: str | Path, *, variant: int = 0) -> Reel:
    """A reel of real footage with exact truth: shots of the shared DAVIS clips and shared
    videos joined by hard cuts, dissolves and a fade through black, of known frames, with
    in-shot hard cases made from real frames (whip pans of 4 widths in 10 frames, camera
    shake, flashes), none of them a transition. Needs ``shared/data`` (see shared_data.py)."""
    shots = real_shots(variant)
    plan = _plan(shots, _REAL_INTO[variant])
    n = encode(path, plan.frames(REAL_SIZE), size=REAL_SIZE)
    return Reel(Path(path), n, tuple(plan.cuts), tuple(plan.shots))


# ---- a reel for match cuts ------------------------------------------------------------------

# (shape, centre, size) of each planted frame match, and the distractors' silhouettes.
_FRAME_MATCHES = [("figure", (0.3, 0.55), 0.8), ("disc", (0.7, 0.4), 0.45),
                  ("square", (0.5, 0.5), 0.5), ("triangle", (0.28, 0.42), 0.55)]
# Camera moves (vx, vy, zoom) of each planted motion match, and the distractors' moves.
_MOTION_MATCHES = [(0.03, 0.0, 1.0), (0.0, 0.02, 1.0), (0.0, 0.0, 1.025), (-0.012, 0.0, 1.0)]
_STILL = (0.0, 0.0, 1.0)
# Shot order: F<i><a|b> frame pair i, M<i><a|b> motion pair i, D the shot repeated as D2
# (a near-duplicate), X<i> distractors. No planted pair sits side by side.
_ORDER = ["F0a", "M0a", "F1a", "M1a", "D", "F2a", "M2a", "F3a", "M3a", "X0",
          "F0b", "M0b", "F1b", "D2", "M1b", "F2b", "M2b", "X1", "F3b", "M3b"]
_DISTRACTORS = {"D": ("square", (0.72, 0.62), 0.35, (0.0, -0.02, 1.0)),
                "X0": ("disc", (0.25, 0.7), 0.25, (0.0, 0.0, 0.975)),
                "X1": ("figure", (0.78, 0.5), 0.45, (0.008, 0.0, 1.0))}
_SMALL = [("disc", (0.2, 0.25)), ("square", (0.8, 0.75)), ("triangle", (0.15, 0.8)),
          ("disc", (0.85, 0.2)), ("square", (0.2, 0.2)), ("triangle", (0.8, 0.3)),
          ("disc", (0.5, 0.8)), ("square", (0.82, 0.45))]


def _match_spec(name: str, i: int, frames: int) -> ShotSpec:
    palette = _PALETTES[i % len(_PALETTES)]
    colour = _COLOURS[(5 * i + 1) % len(_COLOURS)]
    if name.startswith("F"):
        shape, centre, size = _FRAME_MATCHES[int(name[1])]
        return ShotSpec(frames, 2000 + i, palette, shape, colour, centre, size, _STILL)
    if name.startswith("M"):
        pair, side = int(name[1]), name[2]
        shape, centre = _SMALL[2 * pair + (side == "b")]
        return ShotSpec(frames, 2000 + i, palette, shape, colour, centre, 0.22,
                        _MOTION_MATCHES[pair])
    shape, centre, size, camera = _DISTRACTORS[name.rstrip("2")]
    seed = 2000 + _ORDER.index(name.rstrip("2"))
    return ShotSpec(frames, seed, _PALETTES[_ORDER.index(name.rstrip("2")) % len(_PALETTES)],
                    shape, _COLOURS[3], centre, size, camera)


def matchcut_reel(path: str | Path, frames_per_shot: int = 20) -> MatchReel:
    """Twenty shots cut hard: four planted frame matches (same silhouette and framing,
    other background, colour and camera), four planted motion matches (same camera move,
    other content), a near-duplicate of one shot (D2 repeats D) and distractors."""
    specs = [_match_spec(name, i, frames_per_shot) for i, name in enumerate(_ORDER)]
    plan = _plan(specs, {})
    n = encode(path, plan.frames())

    def pairs(prefix: str) -> frozenset[tuple[int, int]]:
        return frozenset((_ORDER.index(f"{prefix}{k}a"), _ORDER.index(f"{prefix}{k}b"))
                         for k in range(4))

    return MatchReel(Path(path), n, tuple(plan.shots), pairs("F"), pairs("M"),
                     ((_ORDER.index("D"), _ORDER.index("D2")),))
