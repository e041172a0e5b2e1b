"""The built-in demo sample: a short synthetic H.264 clip and an OTIO timeline that cuts it.

``moviola demo`` uses it so a fresh install has something to work on. The clip holds a few
shots (textured backgrounds, a moving/scaling disc or square, camera pans), each with a
different colour and layout. The timeline plays them in another order, trimmed, with a gap,
so mapping record frames to media frames is not trivial. :class:`SampleInfo` keeps the ground
truth: each shot's media frame range and its object's centre and size per frame
(:meth:`ShotTruth.mask` draws the exact matte).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio

from .media.outputs import AtomicPath, resolve_output

__all__ = ["EditEvent", "SampleInfo", "ShotTruth", "make_sample"]


@dataclass(frozen=True)
class ShotTruth:
    """One shot of the sample clip: where it sits in the media and what moves in it."""

    name: str
    first_frame: int                           # media frame (0-based) of its first frame
    frame_count: int
    shape: str                                 # "disc" | "square"
    colour: tuple[int, int, int]               # the object's RGB
    centres: tuple[tuple[float, float], ...]   # object centre (x, y) in pixels, per frame
    sizes: tuple[float, ...]                   # disc radius / square half-side, per frame

    @property
    def last_frame(self) -> int:
        """Media frame of the shot's last frame (inclusive)."""
        return self.first_frame + self.frame_count - 1

    def mask(self, frame: int, width: int, height: int) -> np.ndarray:
        """Exact soft matte (HxW float32, 0..1) of the object at media ``frame``."""
        i = frame - self.first_frame
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {frame} is not in shot {self.name}")
        cx, cy = self.centres[i]
        return _coverage(self.shape, cx, cy, self.sizes[i], width, height)


@dataclass(frozen=True)
class EditEvent:
    """One clip of the sample timeline: record frame -> media frame mapping."""

    name: str
    shot: str
    record_start: int     # timeline frame where the clip starts
    source_start: int     # media frame shown at record_start
    duration: int         # frames


@dataclass(frozen=True)
class SampleInfo:
    """What :func:`make_sample` wrote, with the ground truth."""

    video_path: Path
    timeline_path: Path
    rate: Fraction
    width: int
    height: int
    frame_count: int
    shots: tuple[ShotTruth, ...]
    edit: tuple[EditEvent, ...]              # clips in record order
    gaps: tuple[tuple[int, int], ...]        # (record start, duration) of each gap

    @property
    def cuts(self) -> tuple[int, ...]:
        """Media frames where a new shot starts (shot boundaries in the clip, first excluded)."""
        return tuple(s.first_frame for s in self.shots[1:])

    def media_frame(self, record_frame: int) -> int | None:
        """The media frame the timeline shows at ``record_frame`` (None in a gap)."""
        for ev in self.edit:
            if ev.record_start <= record_frame < ev.record_start + ev.duration:
                return ev.source_start + record_frame - ev.record_start
        return None


# ---- drawing ---------------------------------------------------------------------------------

def _coverage(shape: str, cx: float, cy: float, size: float, w: int, h: int) -> np.ndarray:
    """Anti-aliased coverage of a disc/square: one pixel of soft edge."""
    ys = np.arange(h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
    if shape == "disc":
        dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
    else:
        dist = np.maximum(np.abs(xs - cx), np.abs(ys - cy))
    return np.clip(size - dist + 0.5, 0.0, 1.0).astype(np.float32)


def _texture(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth pseudo-random texture in 0..1 from a few random plane waves."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    tex = np.zeros((h, w), np.float32)
    for _ in range(6):
        fx, fy = rng.uniform(-1, 1, 2) * (2 * np.pi / scale)
        tex += np.sin(fx * xs + fy * ys + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    return (tex - tex.min()) / max(float(np.ptp(tex)), 1e-6)


# Per shot: object shape and colour, background tint, texture scale, camera pan (px/frame),
# object path as (start, end) in frame-relative units, size (start, end) relative to height.
_SHOTS = [
    dict(name="A", shape="disc", colour=(220, 40, 40), tint=(0.45, 0.55, 0.35), scale=90,
         pan=(1.5, 0.0), path=((0.15, 0.55), (0.85, 0.45)), size=(0.12, 0.12)),
    dict(name="B", shape="square", colour=(40, 200, 80), tint=(0.30, 0.35, 0.60), scale=40,
         pan=(0.0, 0.0), path=((0.50, 0.50), (0.55, 0.48)), size=(0.06, 0.30)),
    dict(name="C", shape="disc", colour=(240, 220, 40), tint=(0.25, 0.25, 0.30), scale=150,
         pan=(0.0, 1.2), path=((0.80, 0.20), (0.20, 0.80)), size=(0.15, 0.09)),
    dict(name="D", shape="square", colour=(200, 60, 200), tint=(0.60, 0.50, 0.40), scale=60,
         pan=(-1.0, 0.5), path=((0.30, 0.70), (0.70, 0.30)), size=(0.10, 0.18)),
]

# The cut: (shot, head trim, duration), both as shares of a shot; None = a gap of that share.
_EDIT = [("C", 1 / 12, 3 / 4), ("A", 1 / 8, 5 / 8), (None, 0.0, 1 / 4), ("D", 1 / 6, 2 / 3),
         ("B", 0.0, 1 / 2)]


def _draw_shot(spec: dict, first: int, count: int, w: int, h: int,
               rng: np.random.Generator) -> tuple[ShotTruth, Iterator[np.ndarray]]:
    """The shot's ground truth, and its frames drawn lazily (memory stays one shot's texture)."""
    pan_x, pan_y = spec["pan"]
    margin_x, margin_y = int(abs(pan_x) * count) + 1, int(abs(pan_y) * count) + 1
    tex = _texture(rng, h + margin_y, w + margin_x, spec["scale"])
    bg_full = (tex[..., None] * 0.7 + 0.3) * np.array(spec["tint"], np.float32) * 255.0
    (x0, y0), (x1, y1) = spec["path"]
    s0, s1 = spec["size"]
    ts = [i / max(count - 1, 1) for i in range(count)]
    centres = tuple(((x0 + (x1 - x0) * t) * w, (y0 + (y1 - y0) * t) * h) for t in ts)
    sizes = tuple((s0 + (s1 - s0) * t) * h for t in ts)
    truth = ShotTruth(spec["name"], first, count, spec["shape"], tuple(spec["colour"]),
                      centres, sizes)

    def frames() -> Iterator[np.ndarray]:
        colour = np.array(spec["colour"], np.float32)
        for i in range(count):
            # Camera pan: slide a frame-sized window over the larger texture.
            ox = round(pan_x * i) if pan_x >= 0 else margin_x - 1 + round(pan_x * i)
            oy = round(pan_y * i) if pan_y >= 0 else margin_y - 1 + round(pan_y * i)
            bg = bg_full[oy:oy + h, ox:ox + w]
            alpha = truth.mask(first + i, w, h)[..., None]
            yield np.clip(bg * (1.0 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)

    return truth, frames()


# ---- writing ---------------------------------------------------------------------------------

def _encode(path: Path, frames: Iterable[np.ndarray], rate: Fraction, w: int, h: int) -> None:
    with AtomicPath(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"preset": "veryfast", "crf": "18",
                              "x264-params": "keyint=24:min-keyint=24:scenecut=0"}
            cc = stream.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709, tagged and used
            cc.color_range = 1
            for n, img in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709",
                                       dst_color_range="MPEG")
                frame.pts, frame.time_base = n, 1 / rate
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)


def _timeline(video: Path, rate: Fraction, total: int,
              shots: dict[str, ShotTruth]) -> tuple[otio.schema.Timeline, list[EditEvent],
                                                    list[tuple[int, int]]]:
    fps = float(rate)
    rt = lambda frames: otio.opentime.RationalTime(frames, fps)  # noqa: E731
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    events, gaps, record = [], [], 0
    for shot_name, head, share in _EDIT:
        if shot_name is None:
            length = max(1, round(shots["A"].frame_count * share))
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(length))))
            gaps.append((record, length))
            record += length
            continue
        shot = shots[shot_name]
        start = shot.first_frame + round(shot.frame_count * head)
        length = max(1, min(round(shot.frame_count * share), shot.last_frame + 1 - start))
        ref = otio.schema.ExternalReference(
            target_url=str(video),
            available_range=otio.opentime.TimeRange(rt(0), rt(total)))
        name = f"shot_{shot_name}"
        clip = otio.schema.Clip(name=name, media_reference=ref,
                                source_range=otio.opentime.TimeRange(rt(start), rt(length)),
                                metadata={"moviola": {"sample_shot": shot_name}})
        track.append(clip)
        events.append(EditEvent(name, shot_name, record, start, length))
        record += length
    timeline = otio.schema.Timeline(name="Moviola sample")
    timeline.tracks.append(track)
    return timeline, events, gaps


def make_sample(out_dir: str | os.PathLike[str], *, width: int = 640, height: int = 360,
                rate: Fraction | int = Fraction(24), seconds_per_shot: float = 2.0,
                name: str = "moviola_sample", seed: int = 7) -> SampleInfo:
    """Write ``<name>.mp4`` and ``<name>.otio`` into ``out_dir`` and return the ground truth.

    Four shots of ``seconds_per_shot`` each (H.264, BT.709, keyframe every 24 frames). The
    timeline (one video track) plays them as C, A, gap, D, B, each trimmed; its clips refer
    to the clip by absolute path with ``source_range`` in media frames.

    Raises:
        OutputPathError: ``out_dir`` is unusable.
    """
    rate = Fraction(rate)
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ValueError(f"sample size must be even and at least 16x16, not {width}x{height}")
    per_shot = max(4, int(round(seconds_per_shot * rate)))
    rng = np.random.default_rng(seed)
    truths, streams = [], []
    for i, spec in enumerate(_SHOTS):
        truth, frames = _draw_shot(spec, i * per_shot, per_shot, width, height, rng)
        truths.append(truth)
        streams.append(frames)
    total = per_shot * len(_SHOTS)
    video = resolve_output(out_dir, f"{name}.mp4")
    _encode(video, itertools.chain.from_iterable(streams), rate, width, height)
    timeline, events, gaps = _timeline(video, rate, total, {t.name: t for t in truths})
    timeline_path = resolve_output(out_dir, f"{name}.otio")
    with AtomicPath(timeline_path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp))
    return SampleInfo(video, timeline_path, rate, width, height, total, tuple(truths),
                      tuple(events), tuple(gaps))
