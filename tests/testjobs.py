"""Job kinds that exist only for the tests, loaded into the engine via MOVIOLA_JOB_PLUGINS.

``sleep`` works in small steps, reports progress and honours cancellation, so tests can hold a
job running while they poke the engine; ``crash`` has a bug, to show the engine survives it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from moviola.engine.jobs.base import JobContext, JobKind
from moviola.engine.jobs.schema import param


@dataclass(frozen=True)
class SleepParams:
    steps: int = param(10, help="number of steps")
    step_s: float = param(0.1, help="seconds per step")


class SleepJob(JobKind):
    NAME = "sleep"
    DESCRIPTION = "Test job: sleeps in steps, reporting progress."
    Params = SleepParams

    def run(self, params: SleepParams, ctx: JobContext) -> dict[str, Any]:
        for step in range(params.steps):
            ctx.progress(step, params.steps, f"step {step}")
            time.sleep(params.step_s)
        ctx.progress(params.steps, params.steps, "done")
        return {"steps": params.steps}


@dataclass(frozen=True)
class CrashParams:
    message: str = param("boom")


class CrashJob(JobKind):
    NAME = "crash"
    DESCRIPTION = "Test job: raises a plain exception (a bug)."
    Params = CrashParams

    def run(self, params: CrashParams, ctx: JobContext) -> dict[str, Any]:
        raise ZeroDivisionError(params.message)
