"""Ctrl-C while a command waits for its job: the engine's job is cancelled, not left running.

Without this, the engine would carry on with a job whose client is gone until it notices the
silence (``orphan_timeout_s``, a minute by default), writing files nobody asked for any more.
:func:`wait_cancelling` waits for a job; on Ctrl-C it asks the engine to cancel it and waits a
few seconds for the job to end, so that when the command exits the job has stopped and its
output folder is as it was (writers stage their files and publish them only at the end). A
second Ctrl-C stops that wait at once. Either way :class:`JobInterrupted` is raised, which
``main`` prints as one line and turns into exit status 130.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from moviola.plugin.client import Event, JobHandle
from moviola.plugin.errors import JobCancelledError, MoviolaError

__all__ = ["EXIT_INTERRUPTED", "CANCEL_WAIT_S", "JobInterrupted", "wait_cancelling"]

#: The shell's status for a command ended by SIGINT.
EXIT_INTERRUPTED = 130
#: How long to wait for a cancelled job to end; jobs look at the flag between frames.
CANCEL_WAIT_S = 10.0


class JobInterrupted(Exception):
    """Ctrl-C ended the wait for a job. ``state``: the job's final state once it ended, or
    None when it had not ended yet; ``requested``: whether the cancel reached the engine."""

    def __init__(self, job: JobHandle, state: str | None, requested: bool) -> None:
        self.job_id, self.kind, self.state, self.requested = job.job_id, job.kind, state, requested
        super().__init__(self.line)

    @property
    def line(self) -> str:
        """What the user reads: one line."""
        who = f"job {self.job_id} ({self.kind})"
        if self.state == "cancelled":
            return f"cancelled {who}"
        if self.state is not None:
            return f"{who} had already ended ({self.state}) when Ctrl-C came"
        if self.requested:
            return f"cancel requested for {who}; not waiting for it to stop"
        return f"interrupted; {who} may still be running (moviola cancel {self.job_id})"

    def to_wire(self) -> dict[str, Any]:
        """The ``--json`` error, shaped like every other error the command prints."""
        error = JobCancelledError(self.line, detail={"job_id": self.job_id, "kind": self.kind,
                                                     "state": self.state,
                                                     "cancel_requested": self.requested})
        return error.to_wire()


def wait_cancelling(job: JobHandle, on_progress: Callable[[Event], None] | None = None
                    ) -> dict[str, Any]:
    """:meth:`JobHandle.wait`; on Ctrl-C, cancel the job and raise :class:`JobInterrupted`."""
    try:
        return job.wait(on_progress=on_progress)
    except KeyboardInterrupt:
        pass
    raise _cancel(job)


def _cancel(job: JobHandle) -> JobInterrupted:
    requested = False
    try:
        job.cancel()
        requested = True
        return JobInterrupted(job, _final_state(job, CANCEL_WAIT_S), requested)
    except KeyboardInterrupt:   # the second Ctrl-C: stop waiting now
        return JobInterrupted(job, None, requested)
    except MoviolaError:        # the engine is gone or does not answer: nothing left to wait for
        return JobInterrupted(job, None, requested)


def _final_state(job: JobHandle, timeout: float) -> str | None:
    """The job's state once it ends within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    for event in job.events(heartbeat_interval=min(1.0, timeout), idle_timeout=timeout):
        if event.final:
            return str(event.body.get("state"))
        if time.monotonic() > deadline:
            break
    return None
