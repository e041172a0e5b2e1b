"""Open any input as a :class:`FrameSource`: a video file or an image sequence."""

from __future__ import annotations

import os

from .frame_source import FrameSource
from .sequence import SequenceReader, looks_like_sequence
from .video import VideoReader

__all__ = ["FrameSource", "open_source"]


def open_source(path: str | os.PathLike[str], **kwargs: object) -> VideoReader | SequenceReader:
    """Open a video file or an image sequence (pattern, numbered frame or folder).

    Keyword arguments go to the reader (e.g. ``rate=`` for a sequence).

    Raises:
        MediaNotFoundError: nothing exists at ``path``.
        MediaDecodeError: it is not readable media.
    """

    if looks_like_sequence(path):
        return SequenceReader(path, **kwargs)  # type: ignore[arg-type]
    return VideoReader(path, **kwargs)  # type: ignore[arg-type]
