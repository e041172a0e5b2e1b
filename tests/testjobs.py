"""Job kinds that exist only for the tests, loaded into the engine via MOVIOLA_JOB_PLUGINS.

``sleep`` works in small steps, reports progress and honours cancellation, so tests can hold a
job running while they poke the engine; ``crash`` has a bug, to show the engine survives it;
``stuck`` blocks and ignores cancellation, like a worker wedged in a library call; ``spin``
keeps a CPU and the interpreter lock busy, like a CPU-bound batch job; ``slow_check`` takes its
time in ``check``, to show that checks never hold up the server thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from moviola.engine.jobs.base import JobContext, JobKind
from moviola.engine.jobs.schema import param
from moviola.plugin.errors import InvalidParamsError


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


@dataclass(frozen=True)
class StuckParams:
    seconds: float = param(3600.0, help="how long to block")


class StuckJob(JobKind):
    NAME = "stuck"
    DESCRIPTION = "Test job: blocks without ever checking for cancellation."
    Params = StuckParams

    def run(self, params: StuckParams, ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0, 1, "stuck")
        threading.Event().wait(params.seconds)  # never looks at ctx: cancel cannot reach it
        return {}


@dataclass(frozen=True)
class SpinParams:
    steps: int = param(10, help="number of steps")
    step_s: float = param(0.01, help="seconds of pure-Python work per step")


class SpinJob(JobKind):
    NAME = "spin"
    DESCRIPTION = "Test job: keeps a CPU and the GIL busy in steps, reporting progress."
    Params = SpinParams

    def run(self, params: SpinParams, ctx: JobContext) -> dict[str, Any]:
        for step in range(params.steps):
            ctx.progress(step, params.steps, f"step {step}")
            end = time.perf_counter() + params.step_s
            while time.perf_counter() < end:  # busy in the interpreter: holds the GIL
                pass
        ctx.progress(params.steps, params.steps, "done")
        return {"steps": params.steps}


@dataclass(frozen=True)
class UnsendableParams:
    pass


class UnsendableJob(JobKind):
    NAME = "unsendable"
    DESCRIPTION = "Test job: returns a file name that is not valid UTF-8 (a lone surrogate)."
    Params = UnsendableParams

    def run(self, params: UnsendableParams, ctx: JobContext) -> dict[str, Any]:
        return {"files": ["/renders/caf\udce9.0001.exr"]}


@dataclass(frozen=True)
class SlowCheckParams:
    check_s: float = param(1.0, help="seconds the check takes")
    refuse: bool = param(False, help="the check ends with a typed error")


class SlowCheckJob(JobKind):
    NAME = "slow_check"
    DESCRIPTION = "Test job: a check that takes its time (and may refuse), then nothing to run."
    Params = SlowCheckParams

    def check(self, params: SlowCheckParams, engine: Any = None) -> None:
        time.sleep(params.check_s)
        if params.refuse:
            raise InvalidParamsError("refused by the check", detail={"param": "refuse"})

    def run(self, params: SlowCheckParams, ctx: JobContext) -> dict[str, Any]:
        return {"checked": True}


@dataclass(frozen=True)
class StrictParams:
    word: str = param("yes", help="anything but 'no'")


class StrictJob(JobKind):
    NAME = "strict"
    DESCRIPTION = "Test job: refines validation in prepare(), as a plugin may."
    Params = StrictParams

    def prepare(self, raw: dict[str, Any], engine: Any) -> tuple[Any, Any]:
        params, prepared = super().prepare(raw, engine)
        if params.word == "no":
            raise InvalidParamsError("strict: word must not be 'no'", detail={"param": "word"})
        return params, prepared

    def run(self, params: StrictParams, ctx: JobContext) -> dict[str, Any]:
        return {"word": params.word}
