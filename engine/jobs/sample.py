"""``sample``: write the built-in demo sample (synthetic shots as H.264 plus an OTIO edit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..media.outputs import ensure_dir
from ..samples import make_sample
from .base import JobContext, JobKind
from .schema import param


@dataclass(frozen=True)
class SampleParams:
    out: str = param(help="folder for the sample video and timeline")
    width: int = param(640, help="frame width (even)")
    height: int = param(360, help="frame height (even)")
    seconds_per_shot: float = param(2.0, help="length of each synthetic shot")


class SampleJob(JobKind):
    NAME = "sample"
    DESCRIPTION = "Write the built-in sample: four synthetic shots (H.264) and an OTIO that cuts them."
    Params = SampleParams

    def check(self, params: SampleParams, engine: Any) -> None:
        from moviola.plugin.errors import InvalidParamsError
        if params.width % 2 or params.height % 2 or min(params.width, params.height) < 16:
            raise InvalidParamsError("sample size must be even and at least 16x16",
                                     detail={"param": "width"})
        if not 0.2 <= params.seconds_per_shot <= 60:
            raise InvalidParamsError("seconds_per_shot must be within 0.2..60",
                                     detail={"param": "seconds_per_shot"})
        ensure_dir(params.out)

    def run(self, params: SampleParams, ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0, 1, "drawing and encoding")
        info = make_sample(params.out, width=params.width, height=params.height,
                           seconds_per_shot=params.seconds_per_shot)
        ctx.progress(1, 1)
        truths = {t.name: t for t in info.shots}
        return {
            "video": str(info.video_path), "timeline": str(info.timeline_path),
            "width": info.width, "height": info.height,
            "frame_rate": f"{info.rate.numerator}/{info.rate.denominator}",
            "frame_count": info.frame_count,
            "shots": [{"name": s.name, "start": s.first_frame, "end": s.first_frame + s.frame_count}
                      for s in info.shots],
            "edit": [{"clip": e.name, "shot": e.shot, "record_start": e.record_start,
                      "source_start": e.source_start, "duration": e.duration,
                      "object": _object_at(truths[e.shot], e.source_start)} for e in info.edit],
        }


def _object_at(truth: Any, frame: int) -> dict[str, Any]:
    """Where the shot's object is on ``frame``: a click and a box a matte can start from."""
    x, y = truth.centres[frame - truth.first_frame]
    r = truth.sizes[frame - truth.first_frame] * 1.25
    return {"shape": truth.shape, "centre": [round(x, 1), round(y, 1)],
            "box": [round(x - r, 1), round(y - r, 1), round(x + r, 1), round(y + r, 1)]}
