"""``proxy``: decode every clip and write it, scaled down, as an image sequence; return a
result timeline whose new track refers to those sequences. The plumbing every frame job uses,
proven on the simplest one."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from ..engine_view import EngineView
from ..inputs import media_file, resolve_input, shown_frames
from ..media.pipeline import FramePipeline
from ..media.resize import fit_width
from ..provenance import provenance
from .base import JobContext, JobKind, Prepared
from .clip_outputs import ClipOutputs, ClipWriteFailures, plan_clips, require_frames
from .common_params import RANGE_HELP, RATE_HELP, WRITERS, check_range, check_rate, clamp_to_media
from .output_folder import prepare_output
from .result_export import EXPORT_HELP
from .schema import Bounds, param

MAX_WIDTH = Bounds(1, 65536, zero="full size",
                   why="a width in pixels to scale down to; 65536 is far past any plate")


@dataclass(frozen=True)
class ProxyParams:
    input: str = param(help="video file, image sequence or timeline (.otio, .xml, .edl)")
    out: str | None = param(None, help="output folder; nothing is written outside it "
                                          "(default: <output_dir setting>/<input stem>)")
    format: Literal["jpg", "png", "exr"] = param("jpg", help="image format of the frames")
    max_width: int = param(960, help="scale down to at most this width; 0 keeps full size",
                           bounds=MAX_WIDTH)
    range: list[int] | None = param(None, help=RANGE_HELP)
    writers: int = param(2, help="threads encoding and writing frames", bounds=WRITERS)
    rate: float | None = param(None, help=RATE_HELP)
    export: list[Literal["xml", "edl"]] = param([], help=EXPORT_HELP)


class ProxyJob(JobKind):
    NAME = "proxy"
    DESCRIPTION = "Write every clip's frames, scaled, as image sequences plus a result OTIO."
    Params = ProxyParams

    def check(self, params: ProxyParams, engine: EngineView) -> Prepared:
        prepared = prepare_output(params.input, params.out, engine.settings)
        check_range(params.range, timeline=prepared.input.is_timeline)
        check_rate(params.rate)
        return prepared

    def run(self, params: ProxyParams, ctx: JobContext) -> dict[str, Any]:
        started = time.perf_counter()
        prepared: Prepared = ctx.checked(self, params)
        with resolve_input(prepared.input, check_rate(params.rate)) as source, \
                ClipOutputs(prepared.out, "proxy") as outputs:
            plans, problems = plan_clips(source, params.range)
            total = sum(last - first + 1 for _, first, last in plans)
            done = 0
            clips = []
            failures = ClipWriteFailures(len(plans))

            def written(_: Any, clip: str) -> None:
                nonlocal done
                done += 1
                ctx.progress(done, total, clip)

            with ThreadPoolExecutor(params.writers, thread_name_prefix="moviola-writer") as pool:
                for index, (unit, first, last) in enumerate(plans):
                    with failures.clip(unit.clip_name) as outcome:
                        media = source.open(media_file(unit))
                        last = clamp_to_media(unit, last, media.last_frame, problems)
                        writer = outputs.writer(index, unit, first, params.format)
                        frames = []
                        with FramePipeline(pool) as pipeline:
                            for number, image in shown_frames(media, unit, first, last):
                                ctx.check_cancelled()
                                pipeline.submit(writer.write, fit_width(image, params.max_width),
                                                number, then=partial(written, clip=unit.clip_name))
                                frames.append(number)
                        require_frames(unit, frames, first, last)
                        ctx.progress(done, total, unit.clip_name)
                    if outcome.failed:
                        continue  # other clips still get done
                    writer.paths.sort()
                    clips.append(outputs.add(unit, writer, frames))
            problems.extend(failures.problems)
            record = provenance("proxy", {"input": params.input, "format": params.format,
                                          "max_width": params.max_width, "range": params.range})
            otio_path = outputs.write_result(source, "Moviola proxy", record, problems=problems,
                                             export=params.export, movie_style="picture")
        elapsed = time.perf_counter() - started
        return {"clips": clips, "files": outputs.files,
                "frames": [n for clip in clips for n in clip["frames"]],
                "otio": otio_path, "problems": problems, "failed_clips": failures.failed,
                "exports": outputs.exports,
                "timings": {"job_s": round(elapsed, 3),
                            "frames_per_s": round(len(outputs.files) / elapsed, 2) if elapsed else None}}
