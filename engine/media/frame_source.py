"""The interface every readable clip offers: :class:`FrameSource`.

Frame numbers are what a timeline addresses: ``0 .. count-1`` for a video file (in
presentation order) and the numbers in the file names for an image sequence (e.g. 1001...).
``frames(start, stop)`` follows Python ranges: ``stop`` is excluded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

import numpy as np

from moviola.plugin.errors import FrameRangeError

from .info import MediaInfo

__all__ = ["FrameSource"]


class FrameSource(ABC):
    """A readable clip: random access by frame number and forward streaming."""

    @property
    @abstractmethod
    def info(self) -> MediaInfo:
        """What the media is (size, rate, count, timecode...)."""

    @abstractmethod
    def read(self, n: int) -> np.ndarray:
        """Frame ``n`` as an HxWxC array in display orientation.

        Raises:
            FrameRangeError: ``n`` is outside ``first_frame .. last_frame``.
        """

    def frames(self, start: int | None = None,
               stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame number, array)`` for ``start <= n < stop`` in bounded memory.

        ``start`` defaults to :attr:`first_frame`, ``stop`` to ``last_frame + 1``.
        """
        start, stop = self._check_range(start, stop)
        for n in range(start, stop):
            # Readers keep their decoder running between reads: one seek for the whole range.
            yield n, self.read(n)

    @abstractmethod
    def close(self) -> None:
        """Release files and decoders; the source cannot be read afterwards."""

    @property
    def first_frame(self) -> int:
        """First frame number: 0 for video, the first number in the names for sequences."""
        return self.info.start_frame

    @property
    def last_frame(self) -> int:
        """Last frame number, inclusive."""
        return self.info.last_frame

    def _check_frame(self, n: int) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"frame number must be an int, not {type(n).__name__}")
        n = int(n)
        if not self.first_frame <= n <= self.last_frame:
            raise FrameRangeError(
                f"frame {n} is outside {self.first_frame}..{self.last_frame}",
                path=self.info.path,
                detail={"frame": n, "first": self.first_frame, "last": self.last_frame})
        return n

    def _check_range(self, start: int | None, stop: int | None) -> tuple[int, int]:
        start = self.first_frame if start is None else int(start)
        stop = self.last_frame + 1 if stop is None else int(stop)
        if stop <= start:
            return start, start
        self._check_frame(start)
        self._check_frame(stop - 1)
        return start, stop

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
