"""A still image as a one-frame :class:`FrameSource`.

A timeline clip whose media is a single picture (a title card, a board) shows that picture
for its whole length, whatever digits the file name holds: ``board_0000.png`` is not frame 0
of a sequence. The reader has one frame, number 0, read once and kept.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from .frame_source import FrameSource
from .info import MediaInfo
from .input_files import require_regular_file
from .sequence import read_image

__all__ = ["StillReader"]


class StillReader(FrameSource):
    """One image file, read as frame 0."""

    def __init__(self, path: str | os.PathLike[str], *, rate: Fraction | int = 24) -> None:
        self.path = str(Path(path).resolve())
        require_regular_file(self.path)
        self._image = read_image(self.path)   # also proves the file is a readable image
        h, w = self._image.shape[:2]
        rate = Fraction(rate)
        self._info = MediaInfo(
            path=self.path, kind="still", codec=Path(self.path).suffix.lower().lstrip("."),
            width=w, height=h, coded_width=w, coded_height=h,
            pixel_format=f"{self._image.dtype}x{self._image.shape[2]}", frame_rate=rate,
            variable_frame_rate=False, frame_count=1, duration_s=float(1 / rate),
            start_frame=0, start_timecode=None, rotation=0,
            bit_depth=self._image.dtype.itemsize * 8)

    @property
    def info(self) -> MediaInfo:
        return self._info

    def read(self, n: int) -> np.ndarray:
        self._check_frame(n)
        return self._image

    def close(self) -> None:
        pass
