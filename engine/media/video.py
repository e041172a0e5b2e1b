"""Frame-accurate video reading with PyAV.

Frame N is the N-th presentation timestamp of the demux index (:class:`.probe.VideoIndex`),
never a time computed from a float rate. Random access seeks to the keyframe at or before N
and decodes forward until the decoded frame's pts equals the index's; reading forward reuses
the running decoder, so :meth:`VideoReader.frames` decodes sequentially without seeking.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

from moviola.plugin.errors import MediaDecodeError

from .frame_source import FrameSource
from .info import MediaInfo
from .probe import VideoIndex, open_container, probe_container

__all__ = ["VideoReader"]


class VideoReader(FrameSource):
    """Read a video file by frame number (0-based, presentation order).

    Arrays are HxWx3 RGB in display orientation (rotation metadata applied): uint8, or
    uint16 (``rgb48``) when the source has more than 8 bits. YUV is converted with the
    matrix and range the stream is tagged with.

    With ``alpha=True`` a stream that carries alpha (ProRes 4444, PNG/QuickTime Animation...)
    comes back as HxWx4 RGBA instead.

    ``thread_type``: ``"AUTO"`` (frame + slice threads) suits streaming through a clip;
    ``"SLICE"`` has less decoder delay for interactive single-frame fetches.

    One reader holds one decoder: use it from one thread at a time (open one per worker).
    """

    def __init__(self, path: str | os.PathLike[str], *, alpha: bool = False,
                 thread_type: str = "AUTO") -> None:
        self._container, self._stream = open_container(path)
        try:
            self._stream.thread_type = thread_type  # must be set before the codec opens
            self._info, self._index = probe_container(path, self._container, self._stream)
        except BaseException:
            self._container.close()
            raise
        deep = self._info.bit_depth > 8
        if alpha and self._has_alpha:
            self._rgb = "rgba64le" if deep else "rgba"
        else:
            self._rgb = "rgb48le" if deep else "rgb24"
        self._quarter_turns = (self._info.rotation // 90) % 4
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._next: int | None = None  # frame number the running decoder yields next
        self._closed = False

    @property
    def info(self) -> MediaInfo:
        return self._info

    @property
    def _has_alpha(self) -> bool:
        return any(c.is_alpha for c in av.VideoFormat(self._info.pixel_format).components)

    @property
    def index(self) -> VideoIndex:
        """The demux index: ``index.pts[n]`` is frame n's timestamp in ``index.time_base``."""
        return self._index

    def time_of(self, n: int) -> Fraction:
        """Presentation time of frame ``n`` in seconds, exactly (stream pts x time base)."""
        n = self._check_frame(n)
        return self._index.pts[n] * self._index.time_base

    def read(self, n: int) -> np.ndarray:
        return self._to_array(self._decode(self._check_frame(n)))

    def read_frame(self, n: int) -> av.VideoFrame:
        """Frame ``n`` as the decoder's own :class:`av.VideoFrame` (no conversion)."""
        return self._decode(self._check_frame(n))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stop_decoder()
            self._container.close()

    # ---- decoding ----------------------------------------------------------------------------

    def _decode(self, n: int) -> av.VideoFrame:
        if self._closed:
            raise ValueError("reader is closed")
        index = self._index
        if not index.pts_reliable:
            return self._decode_counting(n)
        kpos = index.keyframe_before(n)
        # Try the keyframe before n; if the decoder overshoots (open GOPs, demuxers that
        # land late), step back a keyframe, and finally decode from the very start.
        attempts = list(dict.fromkeys([kpos, max(kpos - 1, 0), 0]))
        can_continue = (self._decoder is not None and self._next is not None
                        and index.keyframes[kpos] <= self._next <= n)
        for attempt, k in enumerate(attempts):
            if not (attempt == 0 and can_continue):
                self._seek(k)
            frame = self._decode_until(n)
            if frame is not None:
                return frame
        raise MediaDecodeError(f"frame {n} of {os.path.basename(self._info.path)} "
                               "could not be decoded", path=self._info.path,
                               detail={"frame": n, "pts": index.pts[n]})

    def _decode_until(self, n: int) -> av.VideoFrame | None:
        """Decode forward to frame ``n``; None if the decoder passes it or runs out."""
        assert self._decoder is not None
        target = self._index.pts[n]
        try:
            for frame in self._decoder:
                ts = frame.pts if frame.pts is not None else frame.dts
                if ts is None:
                    continue
                got = self._index.frame_of_pts(ts)
                if got is not None:
                    self._next = got + 1
                if ts == target:
                    return frame
                if ts > target:
                    return None
        except av.error.FFmpegError as exc:
            raise self._decode_failed(n, exc) from exc
        self._stop_decoder()
        return None

    def _decode_failed(self, n: int, exc: Exception) -> MediaDecodeError:
        self._stop_decoder()
        return MediaDecodeError(f"decoding {os.path.basename(self._info.path)} failed near "
                                f"frame {n}: {exc}", path=self._info.path, detail={"frame": n})

    def _decode_counting(self, n: int) -> av.VideoFrame:
        """Frame n as the n-th decoded frame from the start (streams without real pts)."""
        if self._decoder is None or self._next is None or self._next > n:
            self._seek(0)
            self._next = 0
        assert self._decoder is not None
        try:
            for frame in self._decoder:
                self._next += 1
                if self._next - 1 == n:
                    return frame
        except av.error.FFmpegError as exc:
            raise self._decode_failed(n, exc) from exc
        self._stop_decoder()
        raise MediaDecodeError(f"{os.path.basename(self._info.path)} ended before frame {n}",
                               path=self._info.path, detail={"frame": n})

    def _seek(self, kpos: int) -> None:
        self._stop_decoder()
        try:
            self._container.seek(self._index.seek_ts[kpos], stream=self._stream,
                                 backward=True, any_frame=False)
        except av.error.FFmpegError:
            if kpos != 0:
                raise
            self._rewind()
        self._decoder = self._container.decode(self._stream)
        self._next = None

    def _rewind(self) -> None:
        """Back to the start when the demuxer cannot seek (raw streams): open it again."""
        try:
            self._container.seek(0, backward=True, any_frame=False)
            return
        except av.error.FFmpegError:
            pass
        thread_type = self._stream.thread_type
        self._container.close()
        self._container, self._stream = open_container(self._info.path)
        self._stream.thread_type = thread_type

    def _stop_decoder(self) -> None:
        if self._decoder is not None:
            close = getattr(self._decoder, "close", None)
            if close is not None:
                close()
        self._decoder = None
        self._next = None

    def _to_array(self, frame: av.VideoFrame) -> np.ndarray:
        rgb: np.ndarray = frame.to_ndarray(format=self._rgb)
        if self._quarter_turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, self._quarter_turns))
        return rgb
