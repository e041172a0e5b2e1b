"""``shots``: every shot boundary of a video, an image sequence or a timeline's clips, with
its kind (hard cut, dissolve, fade) and confidence; as JSON, a CSV and a timeline of one clip
per shot."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Any, Literal

from moviola.plugin.results import NAMESPACE, write_timeline

from ..engine_view import EngineView
from ..inputs import CheckedInput, ResolvedInput, check_input, media_file, resolve_input
from ..matchcuts.cache import MediaCache, default_root
from ..media.outputs import AtomicPath, ensure_dir, resolve_output, sweep_stale
from ..provenance import provenance
from ..shots.cached import detect_cached
from ..shots.detect import check_settings, choose_backend
from ..shots.timeline_out import (
    clip_of,
    global_start,
    marked_timeline,
    record_frame,
    shot_list_timeline,
    shots_timeline,
)
from .base import ClipFailures, JobContext, JobKind
from .clip_outputs import safe_name
from .common_params import RATE_HELP, check_rate
from .schema import param


@dataclass(frozen=True)
class ShotsParams:
    input: str = param(help="video file, image sequence or timeline (.otio, .xml, .edl)")
    out: str | None = param(None, help="folder for the shot timeline and CSV; nothing is "
                                          "written outside it (none: JSON result only)")
    name: str | None = param(None, help="base name of the outputs (default <input>.shots)")
    backend: Literal["auto", "classical", "transnetv2", "fused"] = param(
        "auto", help="shot detector; auto: fused (TransNetV2 checked by classical) when TransNetV2 "
                     "is installed, else classical")
    thresholds: dict = param({}, help="backend settings, e.g. {\"cut_threshold\": 0.08} "
                                      "(see docs/shots-and-matchcuts.md)")
    cache: bool = param(True, help="reuse and store detections in the Moviola cache folder")
    rate: float | None = param(None, help=RATE_HELP)


class ShotsJob(JobKind):
    NAME = "shots"
    DESCRIPTION = "Shot boundaries (hard cuts, dissolves, fades) as JSON, CSV and a timeline."
    Params = ShotsParams

    def check(self, params: ShotsParams, engine: EngineView) -> CheckedInput:
        checked = check_input(params.input)
        check_rate(params.rate)
        name, _ = choose_backend(params.backend)
        check_settings(name, params.thresholds)
        if params.out is not None:
            ensure_dir(params.out)
        return checked

    def run(self, params: ShotsParams, ctx: JobContext) -> dict[str, Any]:
        with resolve_input(ctx.checked(self, params), check_rate(params.rate)) as source:
            return self._run(source, params, ctx)

    def _run(self, source: ResolvedInput, params: ShotsParams, ctx: JobContext) -> dict[str, Any]:
        started = time.perf_counter()
        cache = MediaCache(default_root() if params.cache else None)
        problems = [f"{u.clip_name}: {p}" for u in source.units for p in u.problems]
        units = [u for u in source.units if u.media_kind in ("video", "image_sequence")]
        # A freeze frame or a speed change shows its media out of order: a cut found in the
        # media has no one record frame. Such clips are named, not searched.
        problems.extend(f"{u.clip_name}: retimed clip (freeze frame or speed change) not searched "
                        f"for cuts" for u in units if u.retimed)
        units = [u for u in units if not u.retimed]
        total = sum(u.frame_count for u in units) or 1
        cuts: list[dict[str, Any]] = []
        shots: list[dict[str, Any]] = []
        entries = []
        found: list[tuple[Any, list[Any]]] = []   # each searched clip and its cuts
        backends: dict[str, str] = {}
        done = 0
        failures = ClipFailures(len(units))
        for unit in units:
            offset = done
            with failures.clip(unit.clip_name) as outcome:
                def report(d: int, _: int, o: int = offset, clip: str = unit.clip_name) -> None:
                    ctx.progress(o + d, total, clip)

                media = source.open(media_file(unit))
                detection, _ = detect_cached(
                    media, cache, params.backend, settings=params.thresholds,
                    start=unit.first_frame, stop=unit.last_frame + 1, progress=report)
            if outcome.failed:
                continue  # other clips still get done
            done += unit.frame_count
            backends[detection.backend] = detection.reason
            found.append((unit, list(detection.cuts)))
            ref = clip_of(source.timeline, unit).media_reference
            where = self._placing(unit, source.is_timeline)
            for cut in detection.cuts:
                cuts.append({**cut.to_wire(), "media": unit.media_path, **where(cut.frame, "record_frame")})
            kinds = {c.frame: c for c in detection.cuts}
            for shot in detection.shots:
                cut_in = kinds.get(shot.start)
                shots.append({"start": shot.start, "end": shot.end, "media": unit.media_path,
                              "cut_in": cut_in.kind if cut_in else None,
                              **where(shot.start, "record_start")})
                entries.append((unit, ref, shot.start, shot.end, {
                    "kind": "shot", "media": unit.media_path, "frames": [shot.start, shot.end],
                    "cut_in": cut_in.to_wire() if cut_in else None, "backend": detection.backend,
                    "source_clip": unit.clip_name}))
        problems.extend(failures.problems)
        if source.is_timeline:
            # Numbered in record order, as an editor reads the edit.
            order = sorted(range(len(shots)), key=lambda i: (shots[i]["record_start"],
                                                              entries[i][0].track_index))
            shots, entries = [shots[i] for i in order], [entries[i] for i in order]
        ctx.progress(total, total, "writing")
        backend = ", ".join(backends) or choose_backend(params.backend)[0]
        result: dict[str, Any] = {
            "cuts": cuts, "shots": shots, "backend": backend,
            "backend_reason": "; ".join(f"{k}: {v}" for k, v in backends.items()),
            "otio": None, "marked_otio": None, "csv": None, "problems": problems,
            "cache": cache.stats()}
        if params.out is not None:
            sweep_stale(params.out)   # temp files of killed runs
            name = safe_name(params.name or f"{source.stem}.shots", "shots")
            record = provenance("shots", {"input": params.input, "backend": params.backend,
                                          "thresholds": params.thresholds}, backend=backend)
            if source.is_timeline:
                # The shot list where the shots sit in the edit, and the edit itself with a
                # marker at every cut on the clip it was found in.
                timeline = shot_list_timeline(f"{source.stem} shots", entries,
                                              global_start(source.units))
                marked = marked_timeline(source.timeline, found)
                marked.metadata.setdefault(NAMESPACE, {})["shots"] = record
                result["marked_otio"] = write_timeline(
                    marked, resolve_output(params.out, f"{name}.marked.otio"))
            else:
                timeline = shots_timeline(f"{source.stem} shots", entries)
            timeline.metadata[NAMESPACE] = record
            result["otio"] = write_timeline(timeline, resolve_output(params.out, f"{name}.otio"))
            result["csv"] = self._write_csv(resolve_output(params.out, f"{name}.csv"), shots)
        elapsed = time.perf_counter() - started
        result["timings"] = {"job_s": round(elapsed, 3),
                             "frames_per_s": round(done / elapsed, 1) if elapsed else None}
        return result

    @staticmethod
    def _placing(unit: Any, on_timeline: bool):
        """Extra fields placing a media frame on the timeline (timeline inputs only)."""
        def where(frame: int, key: str) -> dict[str, Any]:
            if not on_timeline:
                return {}
            return {"clip": unit.clip_name, key: record_frame(unit, frame)}
        return where

    @staticmethod
    def _write_csv(path: Any, shots: list[dict[str, Any]]) -> str:
        columns = ["shot", "media", "start", "end", "frames", "cut_in", "clip", "record_start"]
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for number, shot in enumerate(shots, start=1):
            writer.writerow({**shot, "shot": number, "frames": shot["end"] - shot["start"]})
        with AtomicPath(path) as tmp:
            tmp.write_text(text.getvalue(), encoding="utf-8")
        return str(path)
