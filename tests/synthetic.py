"""Synthetic media with exact ground truth, for frame-accuracy tests.

Every video frame drawn here carries its own index as a big binary code (:func:`frame_pattern`)
that survives lossy compression, so a decoded frame can be checked against the frame that was
drawn (:func:`read_frame_index`). Writers use PyAV and OpenImageIO directly, not the engine's
own writers, so reader tests do not depend on the code they test.

Import from tests as ``from synthetic import ...`` (pytest puts ``tests/`` on sys.path).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio

# Index code layout: BITS data cells in the top rows, the same bits inverted below them.
# Each bit is read by comparing a cell with its complement, so no threshold is needed.
BITS = 16
_COLS = 8
_ROWS = BITS // _COLS           # rows of data cells; as many rows again hold the complement
_CODE_FRACTION = 0.6            # top share of the frame used by the code


def _cells(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the 2*BITS cells: data cells then complement cells."""
    rows = 2 * _ROWS
    ch = int(h * _CODE_FRACTION) // rows
    cw = w // _COLS
    out = []
    for r in range(rows):
        for c in range(_COLS):
            out.append((r * ch, (r + 1) * ch, c * cw, (c + 1) * cw))
    return out


def frame_pattern(n: int, w: int = 128, h: int = 96) -> np.ndarray:
    """An HxWx3 uint8 RGB frame that encodes ``n`` (0 <= n < 2**16) in 16 big cells.

    The lower part holds a colour gradient that changes with ``n`` so frames also differ
    in colour, and lossless round trips can be compared pixel for pixel.
    """
    if not 0 <= n < 2 ** BITS:
        raise ValueError(f"frame index {n} does not fit in {BITS} bits")
    img = np.empty((h, w, 3), np.uint8)
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    img[..., 0] = (255 * ((x + n * 0.037) % 1.0)).astype(np.uint8)
    img[..., 1] = (255 * ((y + n * 0.051) % 1.0)).astype(np.uint8)
    img[..., 2] = ((n * 29) % 256)
    bits = [(n >> i) & 1 for i in range(BITS)]
    cells = _cells(w, h)
    for i, (y0, y1, x0, x1) in enumerate(cells):
        bit = bits[i] if i < BITS else 1 - bits[i - BITS]
        img[y0:y1, x0:x1] = 230 if bit else 25
    return img


def read_frame_index(img: np.ndarray) -> int:
    """Decode the index :func:`frame_pattern` drew into ``img`` (uint8 or uint16 RGB)."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., :3].mean(axis=2)
    h, w = a.shape
    means = []
    for y0, y1, x0, x1 in _cells(w, h):
        my, mx = (y1 - y0) // 4, (x1 - x0) // 4  # the cell's centre, away from its edges
        means.append(float(a[y0 + my:y1 - my, x0 + mx:x1 - mx].mean()))
    n = 0
    for i in range(BITS):
        if means[i] > means[i + BITS]:
            n |= 1 << i
    return n


_CODECS = {
    # name: (encoder, pix_fmt, options)
    "h264": ("libx264", "yuv420p", {"preset": "veryfast", "crf": "16"}),
    "prores": ("prores_ks", "yuv422p10le", {"profile": "hq"}),
    "ffv1": ("ffv1", "bgr0", {}),   # lossless RGB: decoded frames equal the drawn ones
    "mpeg4": ("mpeg4", "yuv420p", {"qscale": "2"}),
}


def _open_video_stream(container: av.container.OutputContainer, codec: str, rate: Fraction,
                       size: tuple[int, int], gop: int, bframes: int) -> av.VideoStream:
    encoder, pix_fmt, options = _CODECS[codec]
    stream = container.add_stream(encoder, rate=rate)
    stream.width, stream.height = size
    stream.pix_fmt = pix_fmt
    options = dict(options)
    if codec == "h264":
        options["x264-params"] = (f"keyint={gop}:min-keyint={gop}:scenecut=0:"
                                  f"bframes={bframes}")
    elif codec == "mpeg4":
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
    stream.options = options
    return stream


def write_video(path: str | Path, n_frames: int, *, rate: Fraction = Fraction(24000, 1001),
                codec: str = "h264", size: tuple[int, int] = (128, 96),
                timecode: str | None = None, gop: int = 12, bframes: int = 2,
                rotation: int | None = None) -> Path:
    """Write ``n_frames`` of :func:`frame_pattern` at ``rate``; frame i has pts i.

    ``codec``: "h264" (B-frames, GOP ``gop``), "prores" (422 HQ, 10-bit), "ffv1" (lossless
    RGB) or "mpeg4". ``timecode`` becomes a tmcd track in mov/mp4. ``rotation`` writes a
    display matrix (counter-clockwise degrees, as PyAV reads it back).
    """
    path = Path(path)
    w, h = size
    with av.open(str(path), mode="w") as container:
        stream = _open_video_stream(container, codec, Fraction(rate), size, gop, bframes)
        if timecode:
            stream.metadata["timecode"] = timecode
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, w, h), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / Fraction(rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_rotated_video(path: str | Path, n_frames: int = 6, *, rotation: int = -90,
                        **kwargs) -> Path:
    """A video whose display matrix turns it by ``rotation`` degrees counter-clockwise.

    PyAV 18 writes the matrix with ``VideoStream.set_display_rotation`` (mov, mp4 and mkv all
    keep it). -90 is what phones write for portrait footage: display = stored turned clockwise.
    """
    return write_video(path, n_frames, rotation=rotation, **kwargs)


def vfr_pattern(n_frames: int, ticks_per_frame: int = 1000) -> list[int]:
    """Irregular pts: a repeating mix of 1x and 2x frame steps (1/24 s and 1/12 s at 24000)."""
    steps = [1, 1, 2, 1, 2, 2, 1]
    pts, t = [], 0
    for i in range(n_frames):
        pts.append(t)
        t += steps[i % len(steps)] * ticks_per_frame
    return pts


def write_vfr_video(path: str | Path, n_frames: int = 20, *,
                    time_base: Fraction = Fraction(1, 24000), codec: str = "h264",
                    size: tuple[int, int] = (128, 96), gop: int = 6) -> list[int]:
    """Write a variable frame rate video; return the pts written (in ``time_base`` units).

    Frame i shows :func:`frame_pattern` (i) at pts ``vfr_pattern(n)[i]``.
    """
    pts = vfr_pattern(n_frames)
    w, h = size
    with av.open(str(path), mode="w") as container:
        stream = _open_video_stream(container, codec, Fraction(24), size, gop, 2)
        # The encoder must count in the same time base as the pts, or it rescales them.
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        for i, t in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, w, h), format="rgb24")
            frame.pts = t
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return pts


def image_frames(count: int, w: int = 64, h: int = 48, channels: int = 3,
                 dtype: str = "float32", hdr: bool = True) -> list[np.ndarray]:
    """Distinct test images: gradients offset per frame; float ones reach above 1.0 if ``hdr``."""
    frames = []
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    for i in range(count):
        chans = [((x / w + 0.1 * c + 0.07 * i) % 1.0) * ((y + 1) / h) for c in range(channels)]
        img = np.stack(chans, axis=2)
        if dtype == "float32":
            frames.append((img * (4.0 if hdr else 1.0)).astype(np.float32))
        elif dtype == "uint16":
            frames.append(np.round(img * 65535).astype(np.uint16))
        else:
            frames.append(np.round(img * 255).astype(np.uint8))
    return frames


_OIIO_TYPES = {"half": oiio.HALF, "float": oiio.FLOAT, "uint16": oiio.UINT16,
               "uint8": oiio.UINT8}


def write_sequence(directory: str | Path, name: str, ext: str, frames: Sequence[np.ndarray],
                   start: int = 1001, *, padding: int = 4, pixel_type: str | None = None,
                   bits: int | None = None, channel_names: Sequence[str] | None = None,
                   attributes: dict | None = None) -> list[Path]:
    """Write ``frames`` as ``directory/name.<start+i, padded>.ext`` with OpenImageIO.

    ``pixel_type`` ("half", "float", "uint16", "uint8") defaults from the array dtype
    (float32 -> half). ``bits`` sets ``oiio:BitsPerSample`` (e.g. 10 for DPX).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(frames):
        img = img if img.ndim == 3 else img[..., None]
        h, w, c = img.shape
        ptype = pixel_type or {"float32": "half", "uint16": "uint16"}.get(str(img.dtype), "uint8")
        spec = oiio.ImageSpec(w, h, c, _OIIO_TYPES[ptype])
        if channel_names:
            spec.channelnames = tuple(channel_names)
        if bits:
            spec.attribute("oiio:BitsPerSample", bits)
        if ext == "exr":
            spec.attribute("compression", "zip")
        else:
            spec.attribute("oiio:UnassociatedAlpha", 1)  # arrays hold straight alpha
        for key, value in (attributes or {}).items():
            if isinstance(value, tuple):
                spec.attribute(key, value[0], value[1])
            else:
                spec.attribute(key, value)
        path = directory / f"{name}.{start + i:0{padding}d}.{ext}"
        out = oiio.ImageOutput.create(str(path))
        if out is None or not out.open(str(path), spec):
            raise RuntimeError(f"cannot write {path}: {oiio.geterror()}")
        if not out.write_image(np.ascontiguousarray(img)):
            raise RuntimeError(f"cannot write {path}: {out.geterror()}")
        out.close()
        paths.append(path)
    return paths


def decode_all(path: str | Path) -> list[tuple[int, np.ndarray]]:
    """Reference decode with plain PyAV, no seeking: (pts, rgb24 array) per frame, in order."""
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            out.append((frame.pts, frame.to_ndarray(format="rgb24")))
    return out
