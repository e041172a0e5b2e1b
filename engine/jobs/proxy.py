"""``proxy``: decode every clip and write it, scaled down, as an image sequence; return a
result timeline whose new track refers to those sequences. The plumbing every frame job uses,
proven on the simplest one."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal, Optional

from moviola.plugin.errors import InvalidParamsError

from ..inputs import check_input_exists, resolve_input
from ..media.outputs import ensure_dir
from ..media.resize import fit_width
from ..media.source import open_source
from ..provenance import provenance
from .base import JobContext, JobKind
from .clip_outputs import ClipOutputs, ClipWriteFailures, check_range, plan_clips
from .output_folder import output_folder
from .schema import param

# Frames in flight between the decoder and the writers: enough to keep both busy, small
# enough that memory stays bounded whatever the clip length.
MAX_IN_FLIGHT = 6


@dataclass(frozen=True)
class ProxyParams:
    input: str = param(help="video file, image sequence or timeline (.otio, .xml, .edl)")
    out: Optional[str] = param(None, help="output folder; nothing is written outside it "
                                          "(default: <output_dir setting>/<input stem>)")
    format: Literal["jpg", "png", "exr"] = param("jpg", help="image format of the frames")
    max_width: int = param(960, help="scale down to at most this width; 0 keeps full size")
    range: Optional[list[int]] = param(None, help="[first, last] source frames (plain media only)")
    writers: int = param(2, help="threads encoding and writing frames")


class ProxyJob(JobKind):
    NAME = "proxy"
    DESCRIPTION = "Write every clip's frames, scaled, as image sequences plus a result OTIO."
    Params = ProxyParams

    def check(self, params: ProxyParams) -> None:
        check_input_exists(params.input)
        ensure_dir(output_folder(params.out, params.input))
        if params.max_width < 0:
            raise InvalidParamsError("max_width must be 0 or positive", detail={"param": "max_width"})
        if not 1 <= params.writers <= 16:
            raise InvalidParamsError("writers must be 1..16", detail={"param": "writers"})
        check_range(params.range, params.input)

    def run(self, params: ProxyParams, ctx: JobContext) -> dict[str, Any]:
        started = time.perf_counter()
        params = replace(params, out=output_folder(params.out, params.input))
        source = resolve_input(params.input)
        with ClipOutputs(params.out, "proxy") as outputs:
            plans, problems = plan_clips(source, params.range)
            total = sum(last - first + 1 for _, first, last in plans)
            done = 0
            clips = []
            failures = ClipWriteFailures(len(plans))
            with ThreadPoolExecutor(params.writers, thread_name_prefix="moviola-writer") as pool:
                for index, (unit, first, last) in enumerate(plans):
                    with failures.clip(unit.clip_name) as outcome, open_source(unit.media_path) as media:
                        if last > media.last_frame:
                            problems.append(f"{unit.clip_name}: clip uses frames up to {last} but "
                                            f"the media ends at {media.last_frame}")
                            last = media.last_frame
                        writer = outputs.writer(index, unit, first, params.format)
                        pending: list[Future] = []
                        frames = []
                        for number, image in media.frames(first, last + 1):
                            ctx.check_cancelled()
                            pending.append(pool.submit(writer.write, fit_width(image, params.max_width), number))
                            frames.append(number)
                            while len(pending) >= MAX_IN_FLIGHT or (pending and pending[0].done()):
                                pending.pop(0).result()
                                done += 1
                                ctx.progress(done, total, unit.clip_name)
                        for future in pending:
                            future.result()
                            done += 1
                        ctx.progress(done, total, unit.clip_name)
                    if outcome.failed:
                        continue  # other clips still get done
                    writer.paths.sort()
                    clips.append(outputs.add(unit, writer, frames))
            problems.extend(failures.problems)
            record = provenance("proxy", {"input": params.input, "format": params.format,
                                          "max_width": params.max_width, "range": params.range})
            otio_path = outputs.write_result(source, "Moviola proxy", record)
        elapsed = time.perf_counter() - started
        return {"clips": clips, "files": outputs.files,
                "frames": [n for clip in clips for n in clip["frames"]],
                "otio": otio_path, "problems": problems,
                "timings": {"job_s": round(elapsed, 3),
                            "frames_per_s": round(len(outputs.files) / elapsed, 2) if elapsed else None}}
