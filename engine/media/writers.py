"""Writers for the outputs professionals use: EXR, 16-bit PNG, JPEG proxies, ProRes 4444.

Every file goes through :func:`.outputs.resolve_output` (never outside the output folder).
Images are encoded in memory first, then written with plain file I/O by
:func:`.outputs.write_bytes` (temp file, fsync, size check, rename): the codec library never
touches the output disk, so a full disk, a size limit or an I/O error is one typed error
naming the file, never a truncated frame under its final name and never a codec that aborts
the process (libjpeg calls ``exit()`` on a write error). Input arrays are uint8, uint16 or
float32, HxW or HxWxC; integer data is read as 0..max and float data as 0..1 (EXR keeps
floats as they are, above 1.0 included).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import cv2
import numpy as np
import OpenImageIO as oiio

from moviola.plugin.errors import InvalidParamsError, OutputPathError, OutputWriteError

from . import faults
from .outputs import AtomicPath, resolve_output, write_bytes, write_error

__all__ = ["ImageSequenceWriter", "ProResWriter", "as_image_array"]

# zlib level for PNG. The default (6) wrote a textured 1080p frame in 770 ms here; level 3 in
# 240 ms for a file 7% larger. Mattes and depth, smoother than plates, differ even less.
PNG_COMPRESSION_LEVEL = 3

_EXTENSIONS = {"exr": "exr", "png": "png", "jpg": "jpg", "jpeg": "jpg", "tif": "tif",
               "tiff": "tif"}
_DEFAULT_CHANNELS = {1: ("Y",), 2: ("Y", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


def as_image_array(image: np.ndarray) -> np.ndarray:
    """Check and normalise an image to HxWxC of uint8, uint16 or float32."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] < 1 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InvalidParamsError(f"expected an HxW or HxWxC image, got shape {a.shape}")
    if a.dtype in (np.float16, np.float64):
        a = a.astype(np.float32)
    if a.dtype not in (np.uint8, np.uint16, np.float32):
        raise InvalidParamsError(f"image dtype must be uint8, uint16 or float32, not {a.dtype}")
    return np.ascontiguousarray(a)


def _channel_role(names: Sequence[str], role: str) -> int:
    for i, name in enumerate(names):
        if name == role or name.endswith("." + role):
            return i
    return -1


class ImageSequenceWriter:
    """Write numbered frames ``<name>.<frame, zero-padded>.<ext>`` inside ``out_dir``.

    Formats:

    - ``"exr"``: ``pixel_type`` "half" (default) or "float"; ZIP compression; ``channels``
      names the channels, e.g. ``("R","G","B","A")``, ``("A",)`` for a matte, ``("Z",)`` or
      ``("depth.Z",)`` for depth (defaults: Y, YA, RGB, RGBA by channel count).
    - ``"png"``: grey, grey+alpha, RGB or RGBA; ``bit_depth`` 8 or 16 (default 16 unless the
      input is uint8). Alpha is written unassociated, as given.
    - ``"jpg"``: 8-bit grey or RGB for proxies and thumbnails (an alpha channel is dropped);
      ``quality`` 1-100; encoded by OpenCV in memory, so no header ``attributes``.
    - ``"tif"``: 8/16-bit or float (``pixel_type`` "float").

    ``attributes`` are extra header entries (str -> str/int/float; anything else is written
    as JSON text), e.g. ``{"moviola/model": "sam2.1-tiny"}``; EXR keeps any name.

    :meth:`write` may run on several threads at once when each call names its frame;
    :attr:`paths` is then in completion order (sort it).
    """

    def __init__(self, out_dir: str | os.PathLike[str], name: str, format: str = "exr", *,
                 start_frame: int = 1001, padding: int = 4,
                 channels: Sequence[str] | None = None, pixel_type: str = "half",
                 bit_depth: int | None = None, compression: str = "zip", quality: int = 90,
                 attributes: Mapping[str, Any] | None = None) -> None:
        fmt = format.lower().lstrip(".")
        if fmt not in _EXTENSIONS:
            raise InvalidParamsError(f"unknown image format {format!r}; "
                                     f"use one of {sorted(set(_EXTENSIONS))}")
        if pixel_type not in ("half", "float"):
            raise InvalidParamsError(f"pixel_type must be 'half' or 'float', not {pixel_type!r}")
        if bit_depth not in (None, 8, 16):
            raise InvalidParamsError(f"bit_depth must be 8 or 16, not {bit_depth!r}")
        if not name or "%" in name or "#" in name:
            raise InvalidParamsError(f"sequence name {name!r} must be a plain file name stem")
        self.out_dir = Path(out_dir)
        self.name = name
        self.ext = _EXTENSIONS[fmt]
        self.start_frame = int(start_frame)
        self.padding = int(padding)
        self.channels = tuple(channels) if channels else None
        self.pixel_type = pixel_type
        self.bit_depth = bit_depth
        self.compression = compression
        self.quality = int(quality)
        self.attributes = dict(attributes or {})
        self.paths: list[Path] = []
        self._next_frame = self.start_frame
        self._lock = threading.Lock()
        # Fails early (OutputPathError) if the folder is unusable or the name escapes it.
        self._first = resolve_output(self.out_dir, self.file_name(self.start_frame))

    def file_name(self, frame: int) -> str:
        """The file name of ``frame``, e.g. ``matte.1001.exr``."""
        return f"{self.name}.{frame:0{self.padding}d}.{self.ext}"

    @property
    def pattern(self) -> str:
        """Absolute printf pattern of the sequence, e.g. ``/out/matte.%04d.exr``."""
        return str(self._first.parent / f"{self.name}.%0{self.padding}d.{self.ext}")

    def write(self, image: np.ndarray, frame: int | None = None) -> Path:
        """Write one frame (the next number when ``frame`` is None); return its path.

        Raises:
            InvalidParamsError: bad shape, dtype or channel count.
            OutputPathError: the file cannot be written inside the output folder.
            DiskFullError, OutputWriteError: the write failed; no file of that name appeared.
        """
        with self._lock:
            if frame is None:
                frame = self._next_frame
            self._next_frame = max(self._next_frame, int(frame) + 1)
        frame = int(frame)
        a = self._prepare(as_image_array(image))
        spec = self._spec(a)
        final = resolve_output(self.out_dir, self.file_name(frame))
        write_bytes(final, self._encode(final, spec, a))
        with self._lock:
            self.paths.append(final)
        return final

    def write_all(self, images: Sequence[np.ndarray] | Any) -> list[Path]:
        """Write frames in order from ``start_frame``; return their paths."""
        return [self.write(img) for img in images]

    # ---- per format --------------------------------------------------------------------------

    def _encode(self, final: Path, spec: oiio.ImageSpec, a: np.ndarray) -> bytes:
        try:
            faults.check_encode(final.name)
            if self.ext == "jpg":
                return _encode_jpeg(a, self.quality, final)
            return _encode_oiio(final, spec, a)
        except faults.FaultError as exc:
            raise OutputWriteError(str(exc), path=str(final)) from exc

    def _prepare(self, a: np.ndarray) -> np.ndarray:
        if self.ext == "jpg":
            if a.shape[2] in (2, 4):
                a = a[..., :-1]  # JPEG has no alpha
            if a.dtype != np.uint8:
                a = _to_uint8(a)
        elif self.ext in ("png", "tif") and a.dtype == np.float32:
            a = np.clip(a, 0.0, 1.0)  # integer files: floats map 0..1 to 0..max
        if self.channels and len(self.channels) != a.shape[2] and self.ext != "jpg":
            raise InvalidParamsError(f"{len(self.channels)} channel names for an image with "
                                     f"{a.shape[2]} channels")
        return np.ascontiguousarray(a)

    def _spec(self, a: np.ndarray) -> oiio.ImageSpec:
        h, w, c = a.shape
        if self.ext == "exr":
            ptype = oiio.HALF if self.pixel_type == "half" else oiio.FLOAT
        elif self.ext == "jpg":
            ptype = oiio.UINT8
        elif self.ext == "tif" and self.pixel_type == "float" and a.dtype == np.float32:
            ptype = oiio.FLOAT
        else:
            depth = self.bit_depth or (8 if a.dtype == np.uint8 else 16)
            ptype = oiio.UINT8 if depth == 8 else oiio.UINT16
        spec = oiio.ImageSpec(w, h, c, ptype)
        names = (self.channels if self.channels and self.ext != "jpg"
                 else _DEFAULT_CHANNELS.get(c, tuple(f"C{i}" for i in range(c))))
        spec.channelnames = tuple(names)
        spec.alpha_channel = _channel_role(names, "A")
        spec.z_channel = _channel_role(names, "Z")
        if self.ext == "exr":
            spec.attribute("compression", self.compression)
        elif self.ext == "jpg":
            spec.attribute("Compression", f"jpeg:{self.quality}")
        else:
            # The array holds straight (unassociated) alpha: write it as given.
            spec.attribute("oiio:UnassociatedAlpha", 1)
            if self.ext == "tif":
                spec.attribute("compression", "zip")
            else:
                spec.attribute("png:compressionLevel", PNG_COMPRESSION_LEVEL)
        for key, value in self.attributes.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                value = json.dumps(value)
            spec.attribute(str(key), value)
        return spec


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def _encode_jpeg(a: np.ndarray, quality: int, final: Path) -> bytes:
    """JPEG through OpenCV's in-memory encoder (OpenImageIO's needs a file)."""
    pixels = a[..., 0] if a.shape[2] == 1 else cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok or not len(buf):
        raise OutputWriteError(f"the JPEG encoder failed for {final.name}", path=str(final))
    return buf.tobytes()


def _encode_oiio(final: Path, spec: oiio.ImageSpec, pixels: np.ndarray) -> bytes:
    """Encode through OpenImageIO into a scratch file that is not on the output disk (an
    anonymous memory file on Linux, the system temp folder elsewhere); return its bytes."""
    with _Scratch(final.suffix) as scratch:
        out = oiio.ImageOutput.create(final.name)  # the format comes from the extension
        if out is None:
            raise OutputPathError(f"no image writer for {final.name}: {oiio.geterror()}",
                                  path=str(final))
        ok = out.open(scratch.path, spec) and out.write_image(pixels)
        # Some codecs (PNG) report a write error only through the error state.
        ok = ok and not out.has_error
        message = out.geterror() if not ok else ""
        closed = out.close()
        if not ok or not closed:
            raise _codec_error(final, message or out.geterror() or oiio.geterror(), scratch.size())
        data = scratch.read()
    if not data:
        raise OutputWriteError(f"the encoder wrote nothing for {final.name}", path=str(final))
    return data


def _codec_error(final: Path, message: str, size: int) -> OutputWriteError:
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and size >= soft:
        return OutputWriteError(f"cannot write {final.name}: it would exceed the engine's file "
                                f"size limit of {soft} bytes", path=str(final),
                                detail={"errno": "EFBIG"})
    return OutputWriteError(f"cannot encode {final.name}: {message.strip() or 'codec error'}",
                            path=str(final))


class _Scratch:
    """A file the codec writes into, off the output disk, removed on exit."""

    def __init__(self, suffix: str) -> None:
        if hasattr(os, "memfd_create") and sys.platform.startswith("linux"):
            self.fd = os.memfd_create("moviola-frame", os.MFD_CLOEXEC)
            self.path = f"/proc/self/fd/{self.fd}"
            self._named = None
        else:
            self.fd, self._named = tempfile.mkstemp(prefix="moviola-frame-", suffix=suffix)
            self.path = self._named

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read(self) -> bytes:
        os.lseek(self.fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self.fd, 1 << 22):
            chunks.append(chunk)
        return b"".join(chunks)

    def __enter__(self) -> _Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
        if self._named:
            try:
                os.unlink(self._named)
            except OSError:
                pass


# ---- ProRes 4444 -----------------------------------------------------------------------------

#: The ProRes flavours written, and prores_ks's name for each: 4444 (with or without alpha)
#: for mattes and depth previews, 422 HQ for picture (proxies).
PRORES_PROFILES = {"4444": "4444", "422hq": "hq"}

class ProResWriter:
    """Write RGBA frames to a ProRes 4444 ``.mov`` (``prores_ks``, ``yuva444p10le``), or
    with ``profile="422hq"`` (no alpha) to ProRes 422 HQ (``yuv422p10le``).

    Frames are uint8, uint16 or float32 (0..1), HxWx4 (or HxWx3: alpha becomes opaque).
    With ``alpha=False`` the file is ProRes 4444 without alpha (``yuv444p10le``). Colour is
    converted and tagged as BT.709, limited range. The movie is written to a hidden temp file
    and renamed onto ``path`` by :meth:`close`; an exception inside ``with`` removes it.
    ``path`` should come from :func:`.outputs.resolve_output`. ``timecode`` ("HH:MM:SS:FF")
    becomes the movie's start timecode.

    ProRes encoding is CPU-heavy (a few fps at 1080p on two cores): write from a worker.
    """

    def __init__(self, path: str | os.PathLike[str], rate: Fraction | int, width: int,
                 height: int, *, alpha: bool = True, vendor: str = "apl0",
                 profile: str = "4444", timecode: str | None = None) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise InvalidParamsError(f"ProRes needs a positive even size, not {width}x{height}")
        if profile not in PRORES_PROFILES:
            raise InvalidParamsError(f"ProRes profile {profile!r} is not one of "
                                     f"{sorted(PRORES_PROFILES)}")
        if profile != "4444" and alpha:
            raise InvalidParamsError("only ProRes 4444 holds an alpha channel")
        self.path = Path(path)
        self.rate = Fraction(rate)
        self.width, self.height, self.alpha = int(width), int(height), bool(alpha)
        self.profile = profile
        self.frames_written = 0
        self._atomic = AtomicPath(self.path)
        self._pix_fmt = ("yuva444p10le" if alpha else "yuv444p10le") if profile == "4444" \
            else "yuv422p10le"
        try:
            self._container = av.open(str(self._atomic.tmp), mode="w", format="mov")
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputPathError(f"cannot create {self.path}: {exc}", path=str(self.path)) from exc
        stream = self._container.add_stream("prores_ks", rate=self.rate)
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = self._pix_fmt
        stream.options = {"profile": PRORES_PROFILES[profile], "vendor": vendor}
        if timecode:
            # The mov muxer turns this into a timecode track, which hosts read as the
            # movie's start (so an EDL's source timecodes find the right frames).
            stream.metadata["timecode"] = timecode
        stream.thread_type = "AUTO"
        cc = stream.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
        cc.color_range = 1                                     # limited ("MPEG")
        self._stream = stream
        self._open = True

    def write(self, image: np.ndarray) -> None:
        """Encode one frame (the next in order)."""
        if not self._open:
            raise ValueError("writer is closed")
        a = as_image_array(image)
        h, w, c = a.shape
        if (w, h) != (self.width, self.height):
            raise InvalidParamsError(f"frame is {w}x{h}, the movie is {self.width}x{self.height}")
        if c not in (3, 4):
            raise InvalidParamsError(f"ProRes frames need 3 or 4 channels, not {c}")
        rgba = _to_uint16(a)
        if c == 3:
            rgba = np.concatenate([rgba, np.full((h, w, 1), 65535, np.uint16)], axis=2)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba), format="rgba64le")
        # swscale would use BT.601 unless told; tag and convert as BT.709 like other tools.
        yuv = frame.reformat(format=self._pix_fmt, dst_colorspace="ITU709",
                             dst_color_range="MPEG")
        yuv.pts = self.frames_written
        yuv.time_base = 1 / self.rate
        try:
            for packet in self._stream.encode(yuv):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise self._failed(exc) from exc
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the movie, check it holds every frame, and move it into place; return its
        path.

        Raises:
            DiskFullError, OutputWriteError: the movie could not be written in full; nothing
                appears at ``path``.
        """
        if self._open:
            self._open = False
            try:
                try:
                    for packet in self._stream.encode():
                        self._container.mux(packet)
                    self._container.close()
                    faults.check_write(str(self.path))
                    self._verify()
                except (av.error.FFmpegError, OSError) as exc:
                    raise self._failed(exc) from exc
            except BaseException:
                self._abandon()
                raise
            self._atomic.commit()
        return self.path

    def _failed(self, exc: BaseException) -> Exception:
        if isinstance(exc, OSError) and exc.errno:
            return write_error(exc, self.path)
        return OutputWriteError(f"cannot encode {self.path.name}: {exc}", path=str(self.path))

    def _verify(self) -> None:
        """A movie whose muxer lost data on the way (a write error FFmpeg only logged) does
        not hold every frame: read its index back."""
        with av.open(str(self._atomic.tmp)) as check:
            stream = check.streams.video[0]
            found = stream.frames or sum(1 for p in check.demux(stream) if p.size)
        if found != self.frames_written:
            raise OutputWriteError(f"{self.path.name} holds {found} of {self.frames_written} "
                                   "frames after writing", path=str(self.path))

    def abort(self) -> None:
        """Stop and remove the partial movie; ``path`` is left untouched."""
        if self._open:
            self._open = False
            self._abandon()

    def _abandon(self) -> None:
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the file is being thrown away anyway
            pass
        self._atomic.discard()

    def __enter__(self) -> ProResWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _to_uint16(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint16:
        return a
    if a.dtype == np.uint8:
        return a.astype(np.uint16) * 257
    return np.round(np.clip(a, 0.0, 1.0) * 65535.0).astype(np.uint16)
