"""``probe``: media facts (codec, size, rate, frame count, timecode, rotation, pixel format)
of a video, an image sequence, or every media file a timeline uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moviola.plugin.errors import MoviolaError

from ..engine_view import EngineView
from ..inputs import CheckedInput, check_input, resolve_input
from ..media.probe import probe
from .base import JobContext, JobKind
from .common_params import RATE_HELP, check_rate
from .schema import param


@dataclass(frozen=True)
class ProbeParams:
    input: str = param(help="video file, image sequence (shot.%04d.exr) or timeline")
    rate: float | None = param(None, help=RATE_HELP)


class ProbeJob(JobKind):
    NAME = "probe"
    LANE = "interactive"  # the panel waits for it when it opens a clip
    DESCRIPTION = "Media info of a video, an image sequence, or each media file of a timeline."
    Params = ProbeParams

    def check(self, params: ProbeParams, engine: EngineView) -> CheckedInput:
        check_rate(params.rate)
        return check_input(params.input)

    def run(self, params: ProbeParams, ctx: JobContext) -> dict[str, Any]:
        with resolve_input(ctx.checked(self, params), check_rate(params.rate)) as source:
            return self._run(source, ctx)

    def _run(self, source: Any, ctx: JobContext) -> dict[str, Any]:
        if source.media is not None:
            ctx.progress(1, 1)
            return {"media": [source.media.to_wire()], "timeline": None, "problems": []}
        paths = sorted({u.media_path for u in source.units if u.media_kind in ("video", "image_sequence")})
        problems = [p for u in source.units for p in u.problems]
        media = []
        for done, path in enumerate(paths):
            ctx.progress(done, len(paths), path)
            try:
                media.append(probe(path).to_wire())
            except MoviolaError as exc:  # one bad file does not hide the others
                problems.append(f"{path}: {exc}")
        ctx.progress(len(paths), len(paths))
        return {"media": media, "problems": problems,
                "timeline": {"path": source.path, "name": source.timeline.name,
                             "clips": len(source.units)}}
