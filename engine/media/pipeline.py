"""The one frame pipeline: decode on the job's thread, process and write on a thread pool, with
a bounded number of frames in flight so memory stays flat on long clips.

Every frame job (proxy, depth, mattes) writes through :class:`FramePipeline`. Results are
taken in the order they were submitted, on the submitting thread, so a writer that needs
frames in order (a movie) gets them in order, and progress counts finished frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

__all__ = ["FramePipeline", "MAX_IN_FLIGHT"]

# Frames in flight between the decoder and the writers: enough to keep both busy, small
# enough that memory stays bounded whatever the clip length.
MAX_IN_FLIGHT = 6


class FramePipeline:
    """Submit per-frame work; at most ``max_in_flight`` frames wait at once.

    Use it as a context manager: leaving it normally waits for every frame; leaving it on an
    error waits for nothing more (the pool's owner waits for running tasks).
    """

    def __init__(self, pool: ThreadPoolExecutor, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.pool = pool
        self.max_in_flight = max(1, max_in_flight)
        self._pending: deque[tuple[Future, Callable[[Any], None] | None]] = deque()

    def submit(self, work: Callable[..., Any], *args: Any,
               then: Callable[[Any], None] | None = None) -> None:
        """Run ``work(*args)`` on the pool; ``then(result)`` runs on this thread once it is
        done, in submission order. Blocks while the pipeline is full."""
        self._pending.append((self.pool.submit(work, *args), then))
        self.drain(self.max_in_flight - 1)

    def drain(self, limit: int = 0) -> None:
        """Take finished frames in order until at most ``limit`` wait (and none at the head
        is done); raises the first failure."""
        while len(self._pending) > limit or (self._pending and self._pending[0][0].done()):
            future, then = self._pending.popleft()
            result = future.result()
            if then is not None:
                then(result)

    def __enter__(self) -> FramePipeline:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.drain(0)
        else:
            for future, _ in self._pending:
                future.cancel()
            self._pending.clear()
