"""``matte``: keyframes with clicks → a soft matte per object for every frame of a clip;
``matte_preview``: one frame's prompts → that frame's mask at once (the interactive loop).

The work lives in :mod:`moviola.engine.matte`; these kinds check parameters, pick the clip,
report progress and assemble the result (image sequences or ProRes, and the result OTIO).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, Literal

import opentimelineio as otio

from moviola.plugin.errors import FrameRangeError, InvalidParamsError
from moviola.plugin.timeline import WorkUnit

from ..engine_view import EngineView
from ..inputs import CheckedInput, ResolvedInput, check_input, media_file, resolve_input
from ..matte.backend import create_backend
from ..matte.cache import MatteCache
from ..matte.key_masks import fit_keyframe_masks, load_keyframe_masks
from ..matte.object_matte import ObjectMatte
from ..matte.outputs import MatteOutput, check_format, header_attributes, write_result_timeline
from ..matte.preview import preview_mask
from ..matte.prompts import (
    Keyframe,
    by_object,
    check_keyframes,
    parse_keyframes,
    parse_mask,
    parse_prompts,
)
from ..matte.render import render
from ..media.identity import media_identity
from ..provenance import provenance
from .base import JobContext, JobKind, Prepared
from .clip_outputs import ClipOutputs
from .common_params import (
    MATTE_WORKING_SIZE,
    WRITERS,
    Device,
    check_range,
    clamp_range,
    device_param,
    resolve_device,
)
from .output_folder import prepare_output
from .result_export import EXPORT_HELP, export_result, movies_for
from .schema import param

Backend = Literal["auto", "classical", "sam2"]


@dataclass(frozen=True)
class MatteParams:
    input: str = param(help="video file, image sequence or timeline (.otio, .xml, .edl)")
    keyframes: list[dict] = param(help="[{frame, object, include: [[x, y]...], exclude: [...], "
                                       "box: [x0, y0, x1, y1], mask: PATH}]: source frame "
                                       "numbers, pixels of the full-resolution image, origin "
                                       "top-left; mask: an existing matte of that frame "
                                       "(or mask_png: its PNG bytes)")
    out: str | None = param(None, help="output folder; nothing is written outside it "
                                          "(default: <output_dir setting>/<input stem>)")
    range: list[int] | None = param(None, help="[first, last] source frames to matte "
                                                  "(default: the whole clip)")
    clip: int | None = param(None, help="for a timeline: index of the clip to matte among "
                                           "its clips with media; optional with one clip")
    objects: list[int] | None = param(None, help="object ids to output (default: all)")
    format: Literal["exr", "png", "prores"] = param("exr", help="exr (half, A channel), png "
                                                    "(16-bit grey) or prores (4444 with alpha)")
    backend: Backend = param("auto", help="classical (no weights), sam2, or auto")
    model: str | None = param(None, help="registry model for a neural backend "
                                            "(default sam2.1-hiera-tiny)")
    working_size: int | None = param(None, help="longest side of the working resolution "
                                                   "(default: the backend's; 0: full size)",
                                        bounds=MATTE_WORKING_SIZE)
    reuse: bool = param(True, help="reuse keyframe masks and walks cached by earlier runs")
    writers: int = param(2, help="threads refining and writing frames", bounds=WRITERS)
    export: list[Literal["xml", "edl"]] = param([], help=EXPORT_HELP)
    device: Device | None = device_param()


@dataclass(frozen=True)
class MattePreviewParams:
    input: str = param(help="video file, image sequence or timeline")
    frame: int = param(help="source frame number")
    include: list[list[float]] = param([], help="[[x, y], ...] clicks on the object")
    exclude: list[list[float]] = param([], help="[[x, y], ...] clicks on what must stay out")
    box: list[float] | None = param(None, help="[x0, y0, x1, y1] around the object")
    previous_mask: bytes | None = param(None, help="PNG of this frame's mask to refine")
    mask: str | None = param(None, help="an existing matte of this frame (image file), as a "
                                        "keyframe mask: shown as it is, or refined by clicks")
    mask_png: bytes | None = param(None, help="the same matte as PNG bytes (a client whose "
                                              "files the engine cannot see)")
    object: int = param(1, help="object id (echoed back)")
    clip: int | None = param(None, help="for a timeline: index of the clip")
    backend: Backend = param("auto", help="classical (no weights), sam2, or auto")
    model: str | None = param(None, help="registry model for a neural backend")
    working_size: int | None = param(None, help="longest side of the working resolution "
                                                   "(default: the backend's; 0: full size)",
                                        bounds=MATTE_WORKING_SIZE)
    device: Device | None = device_param()


def pick_unit(source: ResolvedInput, clip: int | None) -> WorkUnit:
    """The clip to matte: the only one with media, or the one ``clip`` names."""
    units = [u for u in source.units if u.media_kind in ("video", "image_sequence")]
    names = "; ".join(f"{i}: {u.clip_name}" for i, u in enumerate(units))
    if not units:
        raise FrameRangeError("the input has no clip with readable media", path=source.path)
    if clip is None:
        if len(units) > 1:
            raise InvalidParamsError(f"the timeline has {len(units)} clips; choose one with "
                                     f"clip: {names}", detail={"param": "clip"})
        return _not_retimed(units[0])
    if not 0 <= clip < len(units):
        raise InvalidParamsError(f"clip {clip} does not exist; clips: {names}",
                                 detail={"param": "clip"})
    return _not_retimed(units[clip])


def _not_retimed(unit: WorkUnit) -> WorkUnit:
    # A matte propagates through media frames in order; a freeze frame or speed change shows
    # them otherwise. Refused by name rather than matted on the wrong frames.
    if unit.retimed:
        raise InvalidParamsError(f"clip {unit.clip_name!r} is retimed (freeze frame or speed "
                                 f"change): matte its source media instead",
                                 detail={"param": "clip", "clip": unit.clip_name})
    return unit


def media_of(checked: CheckedInput, clip: int | None) -> str:
    """The media file a one-frame kind reads: the input itself, or the timeline clip ``clip``
    names. Plain media is not probed here: the open-reader cache opens it once."""
    if not checked.is_timeline:
        return checked.path
    with resolve_input(checked) as source:
        return media_file(pick_unit(source, clip))


class MatteJob(JobKind):
    NAME = "matte"
    DESCRIPTION = ("Mattes from clicks on keyframes, propagated through the clip: a soft alpha "
                   "sequence per object at full resolution, plus a result OTIO.")
    Params = MatteParams

    def check(self, params: MatteParams, engine: EngineView) -> Prepared:
        prepared = prepare_output(params.input, params.out, engine.settings)
        # A range is in source frames, so it applies to the one clip picked from a timeline too.
        check_range(params.range, timeline=prepared.input.is_timeline, timeline_allowed=True)
        keyframes = parse_keyframes(params.keyframes)
        load_keyframe_masks(keyframes)   # a missing, unreadable or empty mask: refused now
        known = {k.object_id for k in keyframes}
        for obj in params.objects or ():
            if obj not in known:
                raise InvalidParamsError(f"unknown object id {obj}: the keyframes define "
                                         f"objects {sorted(known)}", detail={"param": "objects"})
        return prepared

    def run(self, params: MatteParams, ctx: JobContext) -> dict[str, Any]:
        with resolve_input(ctx.checked(self, params).input) as source:
            return self._run(source, params, ctx)

    def _run(self, source: ResolvedInput, params: MatteParams, ctx: JobContext) -> dict[str, Any]:
        started = time.perf_counter()
        out: str = ctx.prepared.out   # the folder check resolved
        keyframes = load_keyframe_masks(parse_keyframes(params.keyframes))
        unit = pick_unit(source, params.clip)
        backend = create_backend(params.backend, params.working_size, params.model,
                                 where=ctx.engine)
        media = source.open(media_file(unit))
        info = media.info
        first, last = clamp_range(unit, params.range)
        last = min(last, media.last_frame)
        # Everything that needs the media is checked before any work starts.
        check_keyframes(keyframes, info.width, info.height, media.first_frame,
                        media.last_frame, unit.media_path)
        keyframes, mask_notes = fit_keyframe_masks(keyframes, info.width, info.height)
        check_format(params.format, info.width, info.height)
        groups = by_object(keyframes)
        cache = MatteCache(out, reuse=params.reuse)
        identity = media_identity(info)
        objects = [ObjectMatte(obj, groups[obj], first, last, identity, backend, cache,
                               (info.width, info.height))
                   for obj in (params.objects or sorted(groups))]
        total = sum(o.pending_frames() for o in objects) + (last - first + 1) * len(objects)
        done = [0]

        def tick(message: str) -> None:
            done[0] += 1
            ctx.progress(done[0], total, message)

        # The walks' warps and blends and the full-resolution edge refinement run where
        # ``device`` says (SAM 2 itself keeps the device its backend picks).
        device = resolve_device(params.device, ctx.engine.settings, ctx.engine.devices)
        ctx.progress(0, total, "keyframes")
        t0 = time.perf_counter()
        for obj in objects:
            message = f"object {obj.object_id}: propagating"
            obj.compute(media, partial(tick, message), ctx.check_cancelled, device.stages)
        propagate_s = time.perf_counter() - t0
        device_info = {k: v for k, v in device.describe().items() if k != "model"}
        records, writers = [], []
        try:
            for obj in objects:
                records.append(self._provenance(params, obj, backend.describe(), first, last))
                writers.append(MatteOutput(
                    ClipOutputs(out, f"matte_obj{obj.object_id}"), unit, 0,
                    params.format, first, Fraction(info.frame_rate), (info.width, info.height),
                    header_attributes({**records[-1], "source": unit.media_path})))
            t1 = time.perf_counter()
            render(media, objects, writers, first, last, params.writers, ctx.check_cancelled,
                   lambda: tick("refining and writing"), stages=device.stages)
            render_s = time.perf_counter() - t1
            summaries = [w.finish({"object": o.object_id}) for o, w in zip(objects, writers)]
            if params.export:
                # A ProRes matte is its own movie; sequences get one encoded, before the
                # staged folders are swapped in (ProRes 4444, RGB = alpha = the matte).
                for writer in writers:
                    writer.outputs.outputs = movies_for(writer.outputs, "matte")
            otio_path = write_result_timeline(
                source, out, [(f"Moviola matte {o.object_id}", w.outputs, r)
                                     for o, w, r in zip(objects, writers, records)])
            exports = (export_result(otio.adapters.read_from_file(otio_path), out,
                                     f"{source.stem}.matte", params.export)
                       if params.export else [])
        finally:
            for writer in writers:   # nothing staged outlives a cancel or a failure
                writer.discard()
        computed = sum(o.computed_frames for o in objects)
        result: dict[str, Any] = {
            "objects": [{"object": o.object_id, "files": s["files"], "frames": s["frames"],
                         "pattern": s["pattern"], "otio": otio_path, **o.summary()}
                        for o, s in zip(objects, summaries)],
            "otio": otio_path, "exports": exports, "computed_frames": computed,
            "reused_frames": sum(o.reused_frames for o in objects),
            "keyframes_computed": sum(o.keyframes_computed for o in objects),
            "backend": backend.describe(), "clip": unit.clip_name, "media": unit.media_path,
            "range": [first, last],
            "problems": [*unit.problems, *mask_notes, *device.problems],
            "device": device_info,
            "timings": {"job_s": round(time.perf_counter() - started, 3),
                        "propagate_s": round(propagate_s, 3), "render_s": round(render_s, 3),
                        "propagated_frames_per_s": round(computed / propagate_s, 2)
                        if computed and propagate_s > 0 else None}}
        if len(objects) == 1:  # the single-object shape the CLI documents
            result["files"], result["frames"] = summaries[0]["files"], summaries[0]["frames"]
        return result

    @staticmethod
    def _provenance(params: MatteParams, obj: ObjectMatte, engine: dict[str, Any], first: int,
                    last: int) -> dict[str, Any]:
        return provenance("matte", {"input": params.input, "range": [first, last],
                                    "format": params.format, "backend": params.backend,
                                    "model": params.model, "working_size": params.working_size},
                          object=obj.object_id, keyframes=[k.to_wire() for k in obj.keyframes],
                          model=engine.get("model"), weights_sha256=engine.get("weights_sha256"),
                          backend=engine)


class MattePreviewJob(JobKind):
    NAME = "matte_preview"
    LANE = "interactive"  # a viewer waits for it: never queued behind batch jobs
    DESCRIPTION = ("One frame's mask from clicks/box (optionally refining a previous mask), "
                   "returned at once as PNG bytes at full resolution with its bounding box.")
    Params = MattePreviewParams

    def check(self, params: MattePreviewParams, engine: EngineView) -> Any:
        checked = check_input(params.input)
        mask = parse_mask({"mask": params.mask, "mask_png": params.mask_png}, "matte_preview")
        parse_prompts(params.include, params.exclude, params.box, "prompts",
                      allow_empty=mask is not None)
        return checked

    def run(self, params: MattePreviewParams, ctx: JobContext) -> dict[str, Any]:
        mask = parse_mask({"mask": params.mask, "mask_png": params.mask_png}, "matte_preview")
        prompts = parse_prompts(params.include, params.exclude, params.box, "prompts",
                                allow_empty=mask is not None)
        media_path = media_of(ctx.checked(self, params), params.clip)
        backend = create_backend(params.backend, params.working_size, params.model,
                                 where=ctx.engine)
        keyframe = None
        if mask is not None:
            keyframe, = load_keyframe_masks([Keyframe(params.frame, params.object, prompts,
                                                      mask)], "mask")
        # The edge refinement runs where ``device`` says, as in the matte job.
        device = resolve_device(params.device, ctx.engine.settings, ctx.engine.devices)
        result = preview_mask(media_path, params.frame, prompts, backend, params.previous_mask,
                              keyframe=keyframe, stages=device.stages)
        result["object"] = params.object
        result["device"] = {k: v for k, v in device.describe().items() if k != "model"}
        result["problems"] = [*result.get("problems", []), *device.problems]
        return result
