"""``depth``: a depth pass per clip, stable over time, at the plate's resolution, with its
normalisation on record; plus a result timeline with a depth track aligned to the clips.

Every clip runs in two streaming passes (:mod:`moviola.engine.depth.pipeline`): predict and
measure, then align, normalise, upsample and write. What the numbers mean is in
:mod:`moviola.engine.depth.normalise` and ``docs/depth.md``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from moviola.plugin.errors import (
    InvalidParamsError,
    JobFailedError,
)

from ..depth import backends
from ..depth.cache import PredictionCache
from ..depth.normalise import CHANNEL, CONFIDENCE_CHANNEL, PNG_CHANNEL, PREVIEW_CHANNELS, plan
from ..depth.pipeline import analyse, render, stabiliser_for
from ..engine_view import EngineView
from ..inputs import ResolvedInput, resolve_input
from ..provenance import provenance
from .base import JobContext, JobKind, Prepared
from .clip_outputs import ClipOutputs, ClipWriteFailures, plan_clips
from .common_params import (
    DEPTH_WORKING_SIZE,
    RANGE_HELP,
    WRITERS,
    Device,
    check_range,
    clamp_to_media,
    device_param,
    resolve_device,
)
from .output_folder import prepare_output
from .result_export import EXPORT_HELP
from .schema import Bounds, param

TRACK_NAME = "Moviola depth"
SMOOTHING = Bounds(0.0, 0.9, why="a blend weight of the previous frame: 1 would freeze the "
                                 "first frame's depth")
FOV = Bounds(1.0, 170.0, why="degrees of horizontal view: a pinhole camera's field of view "
                             "stays under 180")


@dataclass(frozen=True)
class DepthParams:
    input: str = param(help="video file, image sequence or timeline (.otio, .xml, .edl)")
    out: str | None = param(None, help="output folder; nothing is written outside it "
                                          "(default: <output_dir setting>/<input stem>)")
    format: Literal["exr", "png16"] = param("exr", help="float EXR (channel depth.Z; parallax adds "
                                                        "depth.confidence) or 16-bit grey PNG")
    normalize: Literal["relative", "near-far", "metric"] = param(
        "relative", help="relative: inverse depth 0 far..1 near; near-far: depth 0 near..1 far; "
                         "metric: depth in metres (metric models only)")
    backend: str = param("auto", help="auto, parallax, or a depth model name (see moviola models list)")
    range: list[int] | None = param(None, help=RANGE_HELP)
    preview: bool = param(False, help="EXR: add an RGB preview, 0..1 with near white")
    stabilize: bool = param(True, help="align every frame to its neighbours (off: raw per-frame values)")
    smoothing: float = param(0.5, help="flow-guided temporal smoothing of per-pixel flicker, "
                                       "0..0.9 (0: off; only with stabilize)", bounds=SMOOTHING)
    working_size: int = param(0, help="shorter side of the working resolution; 0: the backend's own",
                              bounds=DEPTH_WORKING_SIZE)
    fov: float | None = param(None, help="parallax: horizontal field of view in degrees (default 45)",
                                 bounds=FOV)
    device: Device | None = device_param()
    precision: Literal["auto", "fp32", "fp16", "bf16"] = param("auto", help="auto: fp16 on CUDA, fp32 on CPU")
    runtime: Literal["torch", "tensorrt"] = param("torch",
                                                  help="tensorrt: build/cache engines (CUDA; unverified)")
    writers: int = param(2, help="threads upsampling and writing frames", bounds=WRITERS)
    export: list[Literal["xml", "edl"]] = param([], help=EXPORT_HELP)


class DepthJob(JobKind):
    NAME = "depth"
    DESCRIPTION = ("Per-frame depth passes, stable over time, at full resolution (EXR float or "
                   "16-bit PNG) plus a result OTIO with a depth track.")
    Params = DepthParams

    def check(self, params: DepthParams, engine: EngineView) -> Prepared:
        prepared = prepare_output(params.input, params.out, engine.settings)
        check_range(params.range, timeline=prepared.input.is_timeline)
        store, registry = engine.store, engine.models
        name = backends.resolve(params.backend, store, registry)
        if params.normalize == "metric":
            if params.format == "png16":
                raise InvalidParamsError("png16 holds 0..1; metric depth needs format exr",
                                         detail={"param": "format"})
            if not backends.is_metric(name, store, registry):
                raise InvalidParamsError(
                    f"metric depth needs a metric model; {name} predicts relative depth "
                    f"(use normalize relative or near-far)", detail={"param": "normalize"})
        if name != backends.PARALLAX:
            available = engine.runtimes
            if (params.device or engine.settings.device) == "cuda" and not available["cuda"]:
                raise InvalidParamsError("device 'cuda' asked for, but no CUDA device is usable",
                                         detail={"param": "device"})
            if params.runtime == "tensorrt" and not (available["tensorrt"] and available["cuda"]):
                raise InvalidParamsError("runtime 'tensorrt' needs the tensorrt package and a "
                                         "CUDA GPU", detail={"param": "runtime"})
        return Prepared(prepared.input, prepared.out, name)

    def run(self, params: DepthParams, ctx: JobContext) -> dict[str, Any]:
        with resolve_input(ctx.checked(self, params).input) as source:
            return self._run(source, params, ctx)

    def _run(self, source: ResolvedInput, params: DepthParams, ctx: JobContext) -> dict[str, Any]:
        started = time.perf_counter()
        prepared: Prepared = ctx.prepared
        store, registry, name = ctx.engine.store, ctx.engine.models, prepared.backend
        assert name is not None   # check resolved "auto" to a backend
        plans, problems = self._plan(source, params)
        needed = backends.min_frames(name)
        for unit, first, last in plans:
            if last - first + 1 < needed:
                raise InvalidParamsError(f"{unit.clip_name}: the {name} backend needs at least "
                                         f"{needed} frames, the clip has {last - first + 1}",
                                         detail={"param": "backend"})
        device = resolve_device(params.device, ctx.engine.settings, ctx.engine.devices)
        problems.extend(device.problems)
        backend = backends.create(name, backends.BackendOptions(
            working_size=params.working_size, fov_deg=params.fov, device=device.model_device,
            precision=params.precision, runtime=params.runtime), store, registry)
        described = backend.describe()
        outputs = ClipOutputs(prepared.out, "depth")
        fmt = "exr" if params.format == "exr" else "png"
        # Only an EXR can hold the confidence, and only a backend that measures it has one.
        confidence = CONFIDENCE_CHANNEL if fmt == "exr" and backend.measures_confidence else None
        channels = ((*PREVIEW_CHANNELS, CHANNEL) if params.preview else (CHANNEL,)) + (
            (confidence,) if confidence else ())
        options: dict[str, Any] = (
            {"channels": channels, "pixel_type": "float"} if fmt == "exr"
            else {"channels": (PNG_CHANNEL,), "bit_depth": 16})
        header = {"moviola/backend": name, "moviola/model": described.get("model") or "",
                  "moviola/model/sha256": described.get("weights_sha256") or "",
                  "moviola/model/license": described.get("license") or ""}
        total = 2 * sum(last - first + 1 for _, first, last in plans)
        done = 0

        def progress(message: str) -> None:
            nonlocal done
            done += 1
            ctx.progress(done, total, message)

        clips, convention = [], None
        failures = ClipWriteFailures(len(plans))
        with outputs:   # a cancel or failure leaves the previous result in place
            try:
                with ThreadPoolExecutor(params.writers, thread_name_prefix="moviola-depth") as pool:
                    for index, (unit, first, last) in enumerate(plans):
                        with failures.clip(unit.clip_name):
                            clip, convention = self._clip(index, unit, first, last, params, ctx,
                                                          backend, outputs, fmt, options, header,
                                                          pool, progress, problems, source,
                                                          device.stages, confidence)
                            clips.append(clip)
            finally:
                backend.close()
            problems.extend(failures.problems)
            record = provenance("depth", {k: getattr(params, k) for k in (
                "input", "format", "normalize", "backend", "range", "preview", "stabilize",
                "smoothing", "working_size", "fov", "device", "precision", "runtime")},
                backend=described)
            otio_path = outputs.write_result(source, TRACK_NAME, record, problems=problems,
                                             export=params.export, movie_style="depth")
        elapsed = time.perf_counter() - started
        return {"clips": clips, "files": outputs.files,
                "frames": [n for clip in clips for n in clip["frames"]],
                "channel": CHANNEL if fmt == "exr" else PNG_CHANNEL,
                "confidence_channel": confidence,
                "convention": convention or ("inverse_depth" if params.normalize == "relative"
                                             else "depth"),
                "normalize": params.normalize, "backend": name, "model": described,
                "device": device.describe(),
                "otio": otio_path, "problems": problems, "failed_clips": failures.failed,
                "exports": outputs.exports,
                "timings": {"job_s": round(elapsed, 3),
                            "frames_per_s": round(len(outputs.files) / elapsed, 2) if elapsed else None}}

    @staticmethod
    def _plan(source, params: DepthParams) -> tuple[list, list[str]]:
        plans, problems = plan_clips(source, params.range)
        # Depth is solved over a clip's media frames in order; a still, a freeze frame or a
        # speed change shows them otherwise, so such clips are named, not guessed at.
        problems.extend(f"{unit.clip_name}: still or retimed clip (freeze frame, speed change) "
                        f"is not given depth" for unit, _, _ in plans if unit.retimed)
        plans = [plan for plan in plans if not plan[0].retimed]
        if not plans:
            raise InvalidParamsError("the input has no video clip to make depth for",
                                     path=source.path)
        return plans, problems

    def _clip(self, index, unit, first, last, params, ctx, backend, outputs, fmt, options,
              header, pool, progress, problems, source, stages=None, confidence=None):
        media = source.open(unit.media_path)
        last = clamp_to_media(unit, last, media.last_frame, problems)
        with PredictionCache(outputs.out_dir, f"{ctx.job_id[:12]}-{index:03d}") as cache:
            analysis = analyse(media, first, last, backend,
                               stabiliser_for(backend, params.stabilize), cache, progress)
            verdict = analysis.verdict
            if not analysis.measured or verdict["status"] == "not_valid":
                raise JobFailedError(
                    f"the {backend.NAME} backend is not valid for this clip: "
                    f"{verdict.get('reason') or 'no frame could be measured'}",
                    path=unit.media_path, detail={"verdict": verdict})
            alignment = analysis.alignment
            ranges = [alignment.ranges[f] for f in analysis.measured]
            normalisation = plan(params.normalize, backend.output, backend.metric, ranges)
            writer = outputs.writer(index, unit, first, fmt, **options)
            frames = render(media, analysis, normalisation, cache, writer, pool, progress,
                            preview=params.preview and fmt == "exr", attributes=header,
                            smoothing=params.smoothing if params.stabilize else 0.0,
                            stages=stages, confidence=confidence is not None)
        writer.paths.sort()
        held = {str(n): analysis.source_of(n) for n in frames if analysis.source_of(n) != n}
        depth_record = {
            **normalisation.record(),
            "stabilisation": {"mode": alignment.mode, "links": alignment.links,
                              "residual": round(alignment.residual, 5), "notes": alignment.notes,
                              "temporal_smoothing": params.smoothing if params.stabilize else 0.0},
            "frames": frames,
            "scale": [alignment.scale[analysis.source_of(n)] for n in frames],
            "shift": [alignment.shift[analysis.source_of(n)] for n in frames],
            "held_from": held,
            "working_resolution": list(analysis.working_shape),
            "plate_resolution": list(analysis.plate_shape)}
        summary = outputs.add(unit, writer, frames, metadata={
            "depth": depth_record, "backend": backend.describe(), "verdict": verdict,
            "channel": CHANNEL if fmt == "exr" else PNG_CHANNEL, "confidence_channel": confidence})
        summary.update(backend=backend.NAME, verdict=verdict, normalization=normalisation.record(),
                       stabilisation=depth_record["stabilisation"], held_from=held,
                       timings=analysis.timings)
        return summary, normalisation.convention
