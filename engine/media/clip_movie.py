"""A movie of one generated clip, for hosts that import movies, not image sequences.

FCP7 XML and EDL have no image-sequence form Premiere or Resolve import as moving media (a
lone frame path comes in as a still), so a result exported to them refers to a movie per
generated clip. This encodes one from the clip's written frames: ProRes 422 HQ for picture
(proxies), ProRes 4444 with alpha for mattes (RGB = alpha = the matte, like the matte job's
own ProRes), ProRes 4444 grey for depth previews. The movie starts at the timecode of the
clip's first frame in the source media, so EDL source timecodes and FCP7 in/out find the same
frames as the image sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
from opentimelineio import opentime

from moviola.plugin.errors import InvalidParamsError

from .sequence import read_image
from .writers import ProResWriter

__all__ = ["MOVIE_STYLES", "encode_clip_movie", "start_timecode"]

#: How each kind of result is encoded: picture, matte or depth.
MOVIE_STYLES = ("picture", "matte", "depth")


def encode_clip_movie(frames: Sequence[Path], movie: Path, rate: float, style: str,
                      start_timecode: str | None,
                      check_cancelled: Callable[[], None] = lambda: None) -> Path:
    """Encode ``frames`` (image files, in order) into ``movie``; return its path.

    Odd sizes are padded by one edge pixel (ProRes needs even sizes). A depth clip's single
    channel is scaled by its own minimum and maximum over the whole clip, so the preview
    does not flicker.
    """
    if style not in MOVIE_STYLES:
        raise InvalidParamsError(f"movie style {style!r} is not one of {MOVIE_STYLES}")
    if not frames:
        raise InvalidParamsError(f"no frames to encode into {movie.name}")
    z = _depth_index(frames[0]) if style == "depth" else -1
    lo_hi = _depth_span(frames, z, check_cancelled) if style == "depth" else None
    first = _to_rgba(read_image(frames[0]), style, lo_hi, z)
    height, width = first.shape[0] + first.shape[0] % 2, first.shape[1] + first.shape[1] % 2
    with ProResWriter(movie, _exact_rate(rate), width, height, alpha=style == "matte",
                      profile="422hq" if style == "picture" else "4444",
                      timecode=start_timecode) as writer:
        for index, path in enumerate(frames):
            check_cancelled()
            image = first if index == 0 else _to_rgba(read_image(path), style, lo_hi, z)
            writer.write(_even(image, width, height))
    return movie


def start_timecode(frame: int, rate: float) -> str | None:
    """The timecode string of a frame count at ``rate``; None when OTIO cannot say."""
    try:
        return str(opentime.to_timecode(opentime.RationalTime(frame, rate), rate))
    except Exception:  # noqa: BLE001 - a rate timecode cannot express: no timecode track
        return None


def _exact_rate(rate: float) -> Fraction:
    for base in (24, 30, 48, 60, 120):
        if abs(rate - base * 1000 / 1001) < 1e-3:
            return Fraction(base * 1000, 1001)
    return Fraction(rate).limit_denominator(1001)


def _depth_span(frames: Sequence[Path], z_index: int, check_cancelled: Callable[[], None]
                ) -> tuple[float, float]:
    lo, hi = np.inf, -np.inf
    for path in frames:
        check_cancelled()
        z = _depth_channel(read_image(path), z_index)
        finite = z[np.isfinite(z)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return (0.0, 1.0) if not np.isfinite(lo) or hi <= lo else (lo, hi)


def _depth_index(path: Path) -> int:
    """The header's depth channel (``depth.Z``), or -1 (the last channel) when it names none."""
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        return -1
    try:
        return int(inp.spec().z_channel)
    finally:
        inp.close()


def _depth_channel(image: np.ndarray, z_index: int) -> np.ndarray:
    # Depth EXRs may carry an RGB preview before the depth channel and a confidence channel
    # after it; a grey PNG has only the depth.
    return _unit_float(image[..., z_index if z_index >= 0 else -1])


def _unit_float(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    return a.astype(np.float32)


def _to_rgba(image: np.ndarray, style: str, lo_hi: tuple[float, float] | None,
             z_index: int = -1) -> np.ndarray:
    """HxWx4 float32 0..1 for the ProRes writer."""
    if style == "depth":
        lo, hi = lo_hi or (0.0, 1.0)
        grey = np.clip((_depth_channel(image, z_index) - lo) / (hi - lo), 0.0, 1.0)
        grey = np.nan_to_num(grey)
        return np.repeat(grey[..., None], 4, axis=2)
    a = _unit_float(image)
    if style == "matte":
        alpha = np.clip(a[..., -1], 0.0, 1.0)   # a matte's one channel, or RGBA's alpha
        return np.repeat(alpha[..., None], 4, axis=2)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    rgb = np.clip(a[..., :3], 0.0, 1.0)
    return np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,), np.float32)], axis=2)


def _even(image: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    return np.pad(image, ((0, height - h), (0, width - w), (0, 0)), mode="edge")
