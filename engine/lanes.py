"""The engine's two lanes: batch jobs, and the interactive work an artist waits for.

A job kind declares ``LANE = "interactive"`` (``frame``, ``matte_preview``: what a panel or a
bridge asks for while someone watches) to run on its own small pool, so a scrub never queues
behind a matte or depth job; ``max_jobs`` bounds the batch lane only, ``interactive_jobs`` the
other. Separate pools are not enough in Python: threads share one interpreter lock, and a
CPU-bound batch job takes most of it. So batch jobs also yield: at each cancellation check
(every ``ctx.progress``) a batch worker waits while interactive work is queued or running,
up to :data:`YIELD_MAX_S` at a time, so a batch job still advances under constant scrubbing.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

BATCH = "batch"
INTERACTIVE = "interactive"
LANES = (BATCH, INTERACTIVE)

# The longest a batch worker waits at one yield point: long enough to cover a frame fetch or
# a mask preview, short enough that a batch job moves on while an artist keeps scrubbing.
YIELD_MAX_S = 0.25


def lane_of(kind: Any) -> str:
    """The lane a job kind (class or instance) declared; batch unless it says otherwise."""
    lane = getattr(kind, "LANE", BATCH)
    if lane not in LANES:
        log.warning("job kind %s declares unknown lane %r; it runs as batch",
                    getattr(kind, "NAME", kind), lane)
        return BATCH
    return lane


class InteractiveGate:
    """Counts interactive jobs queued or running; batch workers wait at their yield points
    while the count is above zero (thread-safe)."""

    def __init__(self, max_wait_s: float = YIELD_MAX_S) -> None:
        self._max_wait_s = max_wait_s
        self._pending = 0
        self._clear = threading.Condition()

    @property
    def pending(self) -> int:
        return self._pending

    def enter(self) -> None:
        with self._clear:
            self._pending += 1

    def leave(self) -> None:
        with self._clear:
            self._pending = max(0, self._pending - 1)
            if self._pending == 0:
                self._clear.notify_all()

    def yield_to_interactive(self) -> None:
        """Called by batch workers: return at once when no interactive work is pending,
        else wait (without the interpreter lock) until there is none, or ``max_wait_s``."""
        if self._pending == 0:  # the common case costs one attribute read, no lock
            return
        with self._clear:
            self._clear.wait_for(lambda: self._pending == 0, timeout=self._max_wait_s)
