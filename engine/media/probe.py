"""What a piece of media is: :class:`MediaInfo`, and the demux index that makes frames exact.

A video's frame N is defined as the N-th presentation timestamp of its video stream, taken
from a demux-only pass over the packets (:class:`VideoIndex`). Counting packets instead of
trusting ``stream.frames`` or ``duration * rate`` is what keeps variable frame rate files and
rates such as 24000/1001 exact. Image sequences are probed by :mod:`.sequence`.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from moviola.plugin.errors import MediaDecodeError, MediaNotFoundError

from .info import MediaInfo
from .input_files import require_regular_file
from .sequence import looks_like_sequence, probe_sequence

__all__ = ["MediaInfo", "VideoIndex", "probe", "probe_video", "open_container", "video_index"]


@dataclass(frozen=True)
class VideoIndex:
    """Presentation timestamps of one video stream, from demuxing alone (no decode).

    ``pts`` is sorted: frame N is ``pts[N]``. ``keyframes`` holds the frame numbers that start
    a decodable run, and ``seek_ts`` the timestamp to seek to for each (its dts when known,
    because most demuxers index keyframes by decode time, which is never after the pts).

    Containers that store no presentation times (AVI, raw streams) can hand the decoder
    made-up pts; B-frames then come out with pts out of order. For those the first frames
    are decoded once to check, and when the check fails ``pts_reliable`` is False: frame N
    is then the N-th frame the decoder outputs from the start.
    """

    stream_index: int
    time_base: Fraction
    pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    seek_ts: tuple[int, ...]
    last_duration: int        # in time_base units; 0 when the container does not say
    pts_reliable: bool = True  # False: decoded frames do not carry these pts (see below)

    def __len__(self) -> int:
        return len(self.pts)

    def keyframe_before(self, n: int) -> int:
        """Position in :attr:`keyframes` of the last keyframe at or before frame ``n``."""
        return max(0, bisect.bisect_right(self.keyframes, n) - 1)

    def frame_of_pts(self, pts: int) -> int | None:
        """The frame number whose timestamp is exactly ``pts``, or None."""
        i = bisect.bisect_left(self.pts, pts)
        return i if i < len(self.pts) and self.pts[i] == pts else None


# ---- opening ---------------------------------------------------------------------------------

def open_container(path: str | os.PathLike[str]) -> tuple[av.container.InputContainer,
                                                          av.video.stream.VideoStream]:
    """Open ``path`` with PyAV and return the container and its main video stream.

    Raises:
        MediaNotFoundError: the file does not exist.
        MediaDecodeError: it is not media PyAV can read, or has no video stream.
    """
    p = Path(path)
    if not p.exists():
        raise MediaNotFoundError(f"no such media file: {p}", path=str(p))
    if p.is_dir():
        raise MediaDecodeError(f"expected a video file, found a folder: {p}", path=str(p))
    require_regular_file(p, "media file")  # av.open would block on a FIFO
    try:
        container = av.open(str(p), mode="r")
    except av.error.FFmpegError as exc:
        raise MediaDecodeError(f"cannot read {p.name} as media: {exc.strerror or exc}",
                               path=str(p)) from exc
    try:
        stream = container.streams.best("video")  # skips attached cover pictures
    except Exception:  # noqa: BLE001 - PyAV raises assorted errors on odd files
        stream = None
    if not isinstance(stream, av.video.stream.VideoStream):
        container.close()
        raise MediaDecodeError(f"{p.name} has no video stream", path=str(p))
    return container, stream


# ---- the demux index, cached per file version ------------------------------------------------

_INDEX_CACHE: OrderedDict[tuple, VideoIndex] = OrderedDict()
_INDEX_LOCK = threading.Lock()
_INDEX_CACHE_SIZE = 64


def _file_key(path: Path, stream_index: int) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, stream_index)


def video_index(path: str | os.PathLike[str], container: av.container.InputContainer,
                stream: av.video.stream.VideoStream) -> VideoIndex:
    """The :class:`VideoIndex` of ``stream``; built once per file version, then cached.

    Demuxing moves the container's read position: seek before decoding afterwards.
    """
    key = _file_key(Path(path), stream.index)
    with _INDEX_LOCK:
        if key in _INDEX_CACHE:
            _INDEX_CACHE.move_to_end(key)
            return _INDEX_CACHE[key]
    index = _build_index(path, container, stream)
    with _INDEX_LOCK:
        _INDEX_CACHE[key] = index
        while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
            _INDEX_CACHE.popitem(last=False)
    return index


def _build_index(path: str | os.PathLike[str], container: av.container.InputContainer,
                 stream: av.video.stream.VideoStream) -> VideoIndex:
    entries: list[tuple[int | None, bool, int | None, int]] = []  # pts, key, seek ts, duration
    try:
        for pkt in container.demux(stream):
            # Size-0 packets are the demuxer's end-of-stream flush; "discard" packets lie
            # outside an edit list and the decoder drops their frames.
            if pkt.size == 0 or pkt.is_discard:
                continue
            ts = pkt.pts if pkt.pts is not None else pkt.dts
            seek = pkt.dts if pkt.dts is not None else ts
            entries.append((ts, bool(pkt.is_keyframe),
                            None if ts is None or seek is None else min(seek, ts), pkt.duration or 0))
    except av.error.FFmpegError as exc:
        raise MediaDecodeError(f"cannot demux {Path(path).name}: {exc.strerror or exc}",
                               path=str(path)) from exc
    if not entries:
        raise MediaDecodeError(f"{Path(path).name} has no video frames", path=str(path))
    if any(e[0] is None for e in entries) or stream.time_base is None:
        return _untimed_index(stream, len(entries))
    # Every packet has a time here, so every one has a seek time too.
    timed = sorted(((ts, key, seek, duration) for ts, key, seek, duration in entries
                    if ts is not None and seek is not None), key=lambda e: e[0])
    keyframes = [i for i, e in enumerate(timed) if e[1]]
    if not keyframes or keyframes[0] != 0:
        keyframes.insert(0, 0)  # decoding from the very start always works
    seek_ts = [timed[i][2] for i in keyframes]
    seek_ts[0] = min(e[2] for e in timed)  # keyframe slot 0 means "the very start"
    pts = tuple(e[0] for e in timed)
    return VideoIndex(
        stream_index=stream.index,
        time_base=Fraction(stream.time_base),
        pts=pts,
        keyframes=tuple(keyframes),
        seek_ts=tuple(seek_ts),
        last_duration=timed[-1][3],
        pts_reliable=_decoded_pts_match(container, stream, pts, seek_ts[0]),
    )


def _untimed_index(stream: av.video.stream.VideoStream, count: int) -> VideoIndex:
    """Raw streams without timestamps: frames are counted, at the stream's nominal rate."""
    rate = stream.guessed_rate or stream.average_rate or stream.base_rate or 25
    return VideoIndex(stream_index=stream.index, time_base=1 / Fraction(rate),
                      pts=tuple(range(count)), keyframes=(0,), seek_ts=(0,), last_duration=1,
                      pts_reliable=False)


# Demuxers whose packets carry no real presentation time stamps.
_NO_PTS_FORMATS = {"avi", "h264", "hevc", "m4v", "mpegvideo", "flv", "ivf", "h263", "vc1"}
_PTS_CHECK_FRAMES = 12


def _decoded_pts_match(container: av.container.InputContainer,
                       stream: av.video.stream.VideoStream, pts: tuple[int, ...],
                       start_ts: int) -> bool:
    """True unless the first decoded frames' pts disagree with the index (see VideoIndex)."""
    if not set(container.format.name.split(",")) & _NO_PTS_FORMATS:
        return True
    want = pts[:_PTS_CHECK_FRAMES]
    got: list[int | None] = []
    try:
        container.seek(start_ts, stream=stream, backward=True)
        for frame in container.decode(stream):
            got.append(frame.pts)
            if len(got) == len(want):
                break
    except av.error.FFmpegError:
        return False
    return tuple(got) == want


# ---- probing a video -------------------------------------------------------------------------

def _timecode(container: av.container.InputContainer, stream: av.stream.Stream) -> str | None:
    # mov/mp4 copy the tmcd track's start onto the video stream; MXF puts it on the container.
    for meta in (stream.metadata, container.metadata, *(s.metadata for s in container.streams)):
        tc = meta.get("timecode")
        if tc:
            return tc
    return None


def _rates(index: VideoIndex, stream: av.video.stream.VideoStream) -> tuple[Fraction, bool,
                                                                             Fraction]:
    """(nominal rate, variable?, duration in seconds) from the timestamps, exactly."""
    tb = index.time_base
    pts = index.pts
    deltas = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    guessed = stream.guessed_rate or stream.average_rate or stream.base_rate
    guessed = Fraction(guessed) if guessed else None
    if not deltas:
        rate = guessed or Fraction(24)
        return rate, False, Fraction(index.last_duration) * tb or 1 / rate
    lo, hi = min(deltas), max(deltas)
    last = index.last_duration or deltas[-1]
    duration = (pts[-1] - pts[0] + last) * tb
    if lo == hi:
        return 1 / (lo * tb), False, duration
    if hi - lo <= 1:
        # Timestamps rounded to a coarse time base (Matroska's 1 ms): constant rate whose
        # exact value the stream header knows, e.g. 24000/1001 as 41/42 ms steps.
        mean = Fraction(pts[-1] - pts[0], len(deltas)) * tb
        if guessed and abs(1 / guessed - mean) <= tb:
            return guessed, False, Fraction(len(pts)) / guessed
        return (1 / mean).limit_denominator(1001), False, duration
    average = Fraction(len(pts)) / duration
    return average.limit_denominator(100000), True, duration


def probe_video(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe a video file: demux index for the exact count, first frame for format/rotation.

    Raises:
        MediaNotFoundError: the file does not exist.
        MediaDecodeError: the file cannot be demuxed or its first frame cannot be decoded.
    """
    container, stream = open_container(path)
    with container:
        info, _ = probe_container(path, container, stream)
    return info


def probe_container(path: str | os.PathLike[str], container: av.container.InputContainer,
                    stream: av.video.stream.VideoStream) -> tuple[MediaInfo, VideoIndex]:
    """Probe an already open container (used by the reader so a file is opened once)."""
    p = Path(path).resolve()
    index = video_index(p, container, stream)
    try:
        first = _first_frame(p, container, stream, index)
    except (av.error.FFmpegError, StopIteration) as exc:
        raise MediaDecodeError(f"cannot decode the first frame of {p.name}: {exc}",
                               path=str(p)) from exc
    rotation = _normalise_rotation(first.rotation)
    w, h = first.width, first.height
    disp_w, disp_h = (h, w) if rotation in (90, -90) else (w, h)
    rate, vfr, duration = _rates(index, stream)
    info = MediaInfo(
        path=str(p),
        kind="video",
        codec=stream.codec_context.codec.name,
        width=disp_w,
        height=disp_h,
        coded_width=w,
        coded_height=h,
        pixel_format=first.format.name,
        frame_rate=rate,
        variable_frame_rate=vfr,
        frame_count=len(index),
        duration_s=float(duration),
        start_frame=0,
        start_timecode=_timecode(container, stream),
        rotation=rotation,
        bit_depth=max(c.bits for c in first.format.components),
    )
    return info, index


def _first_frame(path: Path, container: av.container.InputContainer,
                 stream: av.video.stream.VideoStream, index: VideoIndex) -> av.VideoFrame:
    try:
        container.seek(index.seek_ts[0], stream=stream, backward=True)
    except av.error.FFmpegError:
        # Raw streams cannot seek at all: read the first frame from a fresh open.
        with av.open(str(path)) as fresh:
            again = fresh.streams[stream.index]
            assert isinstance(again, av.video.stream.VideoStream)   # the same file, reopened
            return next(fresh.decode(again))
    return next(container.decode(stream))


def _normalise_rotation(degrees: float | int | None) -> int:
    """Snap to -90/0/90/180 (display matrices are stored as floats)."""
    if not degrees:
        return 0
    q = int(round(float(degrees) / 90.0)) % 4
    return {0: 0, 1: 90, 2: 180, 3: -90}[q]


# ---- the one entry point ---------------------------------------------------------------------

def probe(path: str | os.PathLike[str], *,
          sequence_rate: Fraction | int | None = None) -> MediaInfo:
    """Probe a video file or an image sequence.

    ``path`` may be a video file, a sequence pattern (``shot.%04d.exr``, ``shot.####.exr``,
    ``shot.@@@@.exr``), one numbered frame of a sequence, or a folder holding exactly one
    numbered sequence. ``sequence_rate`` is the rate assumed for sequences whose headers give
    none (default 24).

    Raises:
        MediaNotFoundError: nothing exists at ``path``.
        MediaDecodeError: something exists but is not readable media.
    """
    # Imported here because sequence.py builds MediaInfo from this module.

    if looks_like_sequence(path):
        return probe_sequence(path, rate=sequence_rate)
    return probe_video(path)
