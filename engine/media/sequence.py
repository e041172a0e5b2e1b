"""Image sequences (EXR, DPX, PNG, TIFF, JPEG...) read through OpenImageIO.

A sequence is ``<directory>/<prefix><number><suffix>``. It can be named by a printf pattern
(``shot.%04d.exr``), by hashes or at-signs with one character per digit (``shot.####.exr``,
``shot.@@@@.exr``), by any one numbered frame (``shot.1001.exr``), or by a folder that holds
exactly one numbered sequence. Hidden files (such as a writer's temp files) are ignored.

Arrays come back as stored: every channel in file order (RGB, RGBA, a single matte or depth
channel...), always HxWxC, and typed by the file's sample type: float32 for half and float,
uint16 for 10/12/16-bit, uint8 for 8-bit. EXR data windows are placed in the display window.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from moviola.plugin.errors import MediaDecodeError, MediaNotFoundError

from .frame_source import FrameSource
from .info import MediaInfo
from .input_files import require_regular_file

__all__ = [
    "IMAGE_EXTENSIONS", "SequenceFiles", "SequenceReader", "looks_like_sequence",
    "parse_sequence", "probe_sequence", "read_image",
]

IMAGE_EXTENSIONS = frozenset({
    ".exr", ".dpx", ".cin", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".tga", ".bmp",
    ".hdr", ".sgi", ".rgb", ".webp",
})
_PRINTF = re.compile(r"%(0?\d*)d")
_HASHES = re.compile(r"#+|@+")
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")
# Return straight alpha as stored: by default OpenImageIO premultiplies PNG/TIFF on read.
_READ_CONFIG = oiio.ImageSpec()
_READ_CONFIG.attribute("oiio:UnassociatedAlpha", 1)
_FORMAT_CODECS = {"openexr": "exr", "jpeg": "jpeg", "tiff": "tiff", "png": "png", "dpx": "dpx"}


@dataclass(frozen=True)
class SequenceFiles:
    """The files of one sequence: where, how they are named, and which numbers exist."""

    directory: Path
    prefix: str
    padding: int              # digits, zero-padded; 0 = not padded
    suffix: str
    frames: tuple[int, ...]   # sorted numbers of the files that exist

    @property
    def pattern(self) -> str:
        """Absolute printf pattern, e.g. ``/x/shot.%04d.exr``."""
        token = f"%0{self.padding}d" if self.padding > 1 else "%d"
        return str(self.directory / f"{self.prefix}{token}{self.suffix}")

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    @property
    def missing(self) -> tuple[int, ...]:
        """Numbers inside ``first..last`` with no file."""
        have = set(self.frames)
        return tuple(n for n in range(self.first, self.last + 1) if n not in have)

    def name_for(self, n: int) -> str:
        return f"{self.prefix}{n:0{self.padding}d}{self.suffix}"

    def path_for(self, n: int) -> Path:
        """The file that holds frame ``n`` (whether or not it exists)."""
        return self.directory / self.name_for(n)


def looks_like_sequence(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names an image sequence rather than a video file."""
    p = Path(path)
    if p.is_file():  # an existing file is judged by its type, whatever its name holds
        return p.suffix.lower() in IMAGE_EXTENSIONS
    if p.is_dir() or _PRINTF.search(p.name) or _HASHES.search(p.name):
        return True
    return p.suffix.lower() in IMAGE_EXTENSIONS


def _consistent(digits: str, padding: int) -> bool:
    return digits == f"{int(digits):0{padding}d}"


def _scan(directory: Path, prefix: str, suffix: str, padding: int | None) -> tuple[int, dict]:
    """Numbers of files ``prefix<digits>suffix`` in ``directory``; infer padding if None."""
    rx = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    found: dict[str, None] = {}
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        raise MediaNotFoundError(f"no such folder: {directory}", path=str(directory)) from None
    except OSError as exc:
        raise MediaDecodeError(f"cannot list {directory}: {exc}", path=str(directory)) from exc
    for name in names:
        m = rx.match(name)
        if m and not name.startswith("."):
            found[m.group(1)] = None
    digits = list(found)
    if padding is None:
        padding = _infer_padding(digits)
    numbers = {int(d): d for d in digits if _consistent(d, padding)}
    return padding, numbers


def _infer_padding(digits: list[str]) -> int:
    if not digits:
        return 0
    shortest = min(len(d) for d in digits)
    # Padded when some number is written with a leading zero or all share one length.
    if any(len(d) > 1 and d.startswith("0") for d in digits) or len({len(d) for d in digits}) == 1:
        return shortest
    return 0


def parse_sequence(path: str | os.PathLike[str]) -> SequenceFiles:
    """Find the sequence ``path`` names (pattern, numbered frame or folder) and its frames.

    Raises:
        MediaNotFoundError: no file of the sequence exists.
        MediaDecodeError: a folder holds no numbered sequence, or several.
    """
    p = Path(path).expanduser().absolute()
    name = p.name
    if p.is_file():
        return _from_frame(p)
    m = _PRINTF.search(name)
    if m:
        width = m.group(1)
        padding = int(width) if width else 0
        return _collect(p.parent, name[:m.start()], name[m.end():], padding, str(p))
    m = _HASHES.search(name)
    if m:
        padding = len(m.group(0))
        return _collect(p.parent, name[:m.start()], name[m.end():], padding, str(p))
    if p.is_dir():
        return _from_folder(p)
    raise MediaNotFoundError(f"no such image or sequence: {p}", path=str(p))


def _from_frame(p: Path) -> SequenceFiles:
    """The sequence one existing numbered frame belongs to."""
    name = p.name
    m = _NUMBERED.match(name)
    if not m:
        raise MediaDecodeError(f"{name} has no frame number, so it is not part of a sequence",
                               path=str(p))
    prefix, digits, suffix = m.group("prefix"), m.group("digits"), m.group("suffix")
    padding, numbers = _scan(p.parent, prefix, suffix, None)
    if int(digits) not in numbers or numbers[int(digits)] != digits:
        # The named file's own spelling decides when siblings disagree.
        padding = len(digits) if digits.startswith("0") else 0
        padding, numbers = _scan(p.parent, prefix, suffix, padding)
    return SequenceFiles(p.parent, prefix, padding, suffix, tuple(sorted(numbers)))


def _collect(directory: Path, prefix: str, suffix: str, padding: int, shown: str) -> SequenceFiles:
    if not directory.is_dir():
        raise MediaNotFoundError(f"no such folder for sequence {shown}", path=shown)
    padding, numbers = _scan(directory, prefix, suffix, padding)
    if not numbers:
        raise MediaNotFoundError(f"no frames of sequence {shown}", path=shown)
    return SequenceFiles(directory, prefix, padding, suffix, tuple(sorted(numbers)))


def _from_folder(directory: Path) -> SequenceFiles:
    groups: dict[tuple[str, str], list[str]] = {}
    for name in os.listdir(directory):
        m = _NUMBERED.match(name)
        if m and not name.startswith(".") and m.group("suffix").lower() in IMAGE_EXTENSIONS:
            groups.setdefault((m.group("prefix"), m.group("suffix")), []).append(m.group("digits"))
    if len(groups) != 1:
        found = ", ".join(sorted(f"{pre}#{suf}" for pre, suf in groups)) or "none"
        raise MediaDecodeError(
            f"folder {directory} must hold exactly one numbered image sequence; found: {found}",
            path=str(directory))
    (prefix, suffix), digits = next(iter(groups.items()))
    padding = _infer_padding(digits)
    numbers = sorted(int(d) for d in digits if _consistent(d, padding))
    return SequenceFiles(directory, prefix, padding, suffix, tuple(numbers))


# ---- pixels ----------------------------------------------------------------------------------

def _array_type(spec: oiio.ImageSpec) -> str:
    formats = list(spec.channelformats) or [spec.format]
    bases = {f.basetype for f in formats}
    if bases & {oiio.HALF, oiio.FLOAT, oiio.DOUBLE}:
        return "float"
    if bases & {oiio.UINT16, oiio.INT16, oiio.UINT32, oiio.INT32}:
        return "uint16"
    return "uint8"


def _open(path: Path) -> oiio.ImageInput:
    if not path.exists():
        raise MediaNotFoundError(f"missing frame file {path}", path=str(path))
    require_regular_file(path, "frame file")  # OpenImageIO would block on a FIFO
    inp = oiio.ImageInput.open(str(path), _READ_CONFIG)
    if inp is None:
        raise MediaDecodeError(f"cannot read image {path.name}: {oiio.geterror()}", path=str(path))
    return inp


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one image file (first subimage) as HxWxC in its display window, typed as stored.

    Raises:
        MediaNotFoundError: the file does not exist.
        MediaDecodeError: OpenImageIO cannot read it.
    """
    p = Path(path)
    inp = _open(p)
    try:
        spec = inp.spec()
        pixels = inp.read_image(0, 0, 0, spec.nchannels, _array_type(spec))
        if pixels is None or not isinstance(pixels, np.ndarray):
            raise MediaDecodeError(f"cannot read pixels of {p.name}: {inp.geterror()}",
                                   path=str(p))
    finally:
        inp.close()
    pixels = pixels.reshape(spec.height, spec.width, spec.nchannels)
    return _in_display_window(pixels, spec)


def _in_display_window(pixels: np.ndarray, spec: oiio.ImageSpec) -> np.ndarray:
    fw, fh = spec.full_width or spec.width, spec.full_height or spec.height
    if (spec.x, spec.y, spec.width, spec.height) == (spec.full_x, spec.full_y, fw, fh):
        return pixels
    # A data window that differs from the display window (cropped or overscan comp EXRs).
    out = np.zeros((fh, fw, spec.nchannels), pixels.dtype)
    x0, y0 = spec.x - spec.full_x, spec.y - spec.full_y
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    w = min(spec.width - sx0, fw - dx0)
    h = min(spec.height - sy0, fh - dy0)
    if w > 0 and h > 0:
        out[dy0:dy0 + h, dx0:dx0 + w] = pixels[sy0:sy0 + h, sx0:sx0 + w]
    return out


def _decode_timecode(value: object) -> str | None:
    """SMPTE 12M packed BCD (``smpte:TimeCode``) to ``HH:MM:SS:FF`` (``;`` if drop-frame)."""
    try:
        v = int(value[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    hh = ((v >> 28) & 0x3) * 10 + ((v >> 24) & 0xF)
    mm = ((v >> 20) & 0x7) * 10 + ((v >> 16) & 0xF)
    ss = ((v >> 12) & 0x7) * 10 + ((v >> 8) & 0xF)
    ff = ((v >> 4) & 0x3) * 10 + (v & 0xF)
    sep = ";" if v & (1 << 6) else ":"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


def _pixel_format(spec: oiio.ImageSpec) -> str:
    names = [n.split(".")[-1].lower() for n in spec.channelnames]
    label = "".join(names) if all(len(n) == 1 for n in names) else f"{spec.nchannels}ch"
    return f"{label}_{spec.format}"


def probe_sequence(path: str | os.PathLike[str], *,
                   rate: Fraction | int | None = None) -> MediaInfo:
    """Probe an image sequence from its names and the first frame's header.

    ``frame_count`` is the number of files; holes inside the range are listed in
    ``missing_frames``. The rate is ``rate`` if given, else the header's
    ``FramesPerSecond``, else 24.
    """
    files = parse_sequence(path)
    return _info(files, rate)


def _info(files: SequenceFiles, rate: Fraction | int | None) -> MediaInfo:
    first = files.path_for(files.first)
    inp = _open(first)
    try:
        spec = inp.spec()
        fmt_name = inp.format_name()
    finally:
        inp.close()
    header_rate = spec.getattribute("FramesPerSecond")
    if rate is not None:
        fps = Fraction(rate)
    elif isinstance(header_rate, tuple) and len(header_rate) == 2 and header_rate[1]:
        fps = Fraction(int(header_rate[0]), int(header_rate[1]))
    else:
        fps = Fraction(24)
    width, height = spec.full_width or spec.width, spec.full_height or spec.height
    span = files.last - files.first + 1
    return MediaInfo(
        path=files.pattern,
        kind="image_sequence",
        codec=_FORMAT_CODECS.get(fmt_name, fmt_name),
        width=width,
        height=height,
        coded_width=width,
        coded_height=height,
        pixel_format=_pixel_format(spec),
        frame_rate=fps,
        variable_frame_rate=False,
        frame_count=len(files.frames),
        duration_s=float(span / fps),
        start_frame=files.first,
        start_timecode=_decode_timecode(spec.getattribute("smpte:TimeCode")),
        rotation=0,
        bit_depth=spec.get_int_attribute("oiio:BitsPerSample", spec.format.size() * 8),
        missing_frames=files.missing,
    )


class SequenceReader(FrameSource):
    """Read an image sequence by frame number (the number in the file names).

    Arrays are returned as stored (see the module docstring). A hole in the sequence raises
    :class:`MediaDecodeError` naming the missing file when that frame is read.
    """

    def __init__(self, path: str | os.PathLike[str], *, rate: Fraction | int | None = None) -> None:
        self.files = parse_sequence(path)
        self._info = _info(self.files, rate)
        self._closed = False

    @property
    def info(self) -> MediaInfo:
        return self._info

    def path_for(self, n: int) -> Path:
        """The file that holds frame ``n``."""
        return self.files.path_for(self._check_frame(n))

    def read(self, n: int) -> np.ndarray:
        if self._closed:
            raise ValueError("reader is closed")
        path = self.path_for(n)
        if not path.exists():
            raise MediaDecodeError(f"frame {n} of {self.info.path} is missing: {path.name}",
                                   path=str(path), detail={"frame": int(n)})
        return read_image(path)

    def close(self) -> None:
        self._closed = True
