"""``matchcuts``: pairs of shots that would cut well together, across one or several inputs
(timelines, videos, episodes), ranked per flavour (frame, motion, look); as markers on the
source timelines, a review timeline of the A→B cuts and JSON.

The five steps (arXiv 2210.05766) are each a module of :mod:`moviola.engine.matchcuts`:
shots (:mod:`.collect` with the shot detector), near-duplicates (:mod:`.dedupe`), one vector
per shot and flavour (:mod:`.features`), candidate search and exact scores (:mod:`.search`,
:mod:`.rank`), and the top K.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from moviola.plugin.errors import InvalidParamsError
from moviola.plugin.results import write_timeline

from ..engine_view import EngineView
from ..inputs import CheckedInput, ResolvedInput, check_input, resolve_input
from ..matchcuts.cache import MediaCache, default_root
from ..matchcuts.collect import describe_all, gather_shots
from ..matchcuts.dedupe import duplicate_groups
from ..matchcuts.features import flavours
from ..matchcuts.otio_out import marked_timelines, note, review_timeline
from ..matchcuts.rank import rank_pairs
from ..matchcuts.segmentation import Segmenter
from ..matchcuts.segmentation import resolve as resolve_segmenter
from ..media.outputs import AtomicPath, ensure_dir, resolve_output, sweep_stale
from ..provenance import provenance
from ..shots.detect import check_settings, choose_backend
from .base import JobContext, JobKind
from .clip_outputs import safe_name
from .schema import param


@dataclass(frozen=True)
class MatchCutsParams:
    inputs: list[str] = param(help="timelines, videos or image sequences (several episodes at once)")
    flavor: Literal["frame", "motion", "look", "all"] = param(
        "all", help="frame: silhouettes line up; motion: same camera move; look: similar appearance")
    top: int = param(20, help="pairs kept per flavour")
    out: str | None = param(None, help="folder for the marked timelines, the review timeline "
                                          "and JSON; nothing is written outside it")
    name: str | None = param(None, help="base name of the outputs (default: matchcuts)")
    backend: Literal["auto", "classical", "transnetv2", "fused"] = param(
        "auto", help="shot detector for video inputs (timeline clips are shots already)")
    thresholds: dict = param({}, help="shot detector settings (see the shots job)")
    dedupe: float = param(0.97, help="look similarity above which shots are near-duplicates")
    review_seconds: float = param(2.0, help="seconds of A's tail and B's head in the review timeline")
    cache: bool = param(True, help="reuse and store shots and vectors in the Moviola cache folder")
    silhouette: str = param("auto", help="frame flavour's silhouettes: auto (a segmentation model, "
                                         "people first, when its weights are installed, else "
                                         "classical), classical, or a segmentation model's name")


def _segmenter(params: MatchCutsParams, engine: EngineView) -> Segmenter | None:
    """The segmentation model the frame flavour uses, or None (classical silhouettes)."""
    if params.flavor not in ("frame", "all"):
        return None
    spec = resolve_segmenter(params.silhouette, engine.store, engine.models)
    return Segmenter(spec, engine.store) if spec is not None else None


class MatchCutsJob(JobKind):
    NAME = "matchcuts"
    DESCRIPTION = "Match-cut suggestions (frame, motion, look) as markers, a review timeline and JSON."
    Params = MatchCutsParams

    def check(self, params: MatchCutsParams, engine: EngineView) -> list[CheckedInput]:
        if not params.inputs:
            raise InvalidParamsError("inputs is empty: give at least one timeline or video",
                                     detail={"param": "inputs"})
        checked = [check_input(path) for path in params.inputs]
        if not 1 <= params.top <= 10000:
            raise InvalidParamsError("top must be 1..10000", detail={"param": "top"})
        if not 0.0 < params.dedupe <= 1.0:
            raise InvalidParamsError("dedupe must be within 0..1", detail={"param": "dedupe"})
        if not 0.1 <= params.review_seconds <= 60:
            raise InvalidParamsError("review_seconds must be within 0.1..60",
                                     detail={"param": "review_seconds"})
        resolve_segmenter(params.silhouette, engine.store, engine.models)
        name, _ = choose_backend(params.backend)
        check_settings(name, params.thresholds)
        if params.out is not None:
            ensure_dir(params.out)
        return checked

    def run(self, params: MatchCutsParams, ctx: JobContext) -> dict[str, Any]:
        with ExitStack() as inputs:   # the readers resolving opened close with the job
            sources = [inputs.enter_context(resolve_input(c)) for c in ctx.checked(self, params)]
            return self._run(params, ctx, sources)

    def _run(self, params: MatchCutsParams, ctx: JobContext, sources: list[ResolvedInput]
             ) -> dict[str, Any]:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        cache = MediaCache(default_root() if params.cache else None)

        def report(done: int, total: int, message: str) -> None:
            ctx.progress(done, total, message)

        shots, problems, backends = gather_shots(sources, cache, backend=params.backend,
                                                 thresholds=params.thresholds, progress=report)
        timings["shots_s"] = round(time.perf_counter() - started, 3)
        segmenter = _segmenter(params, ctx.engine)
        kinds = flavours([params.flavor], segmenter=segmenter)
        described = kinds + [k for k in flavours(["look"]) if params.flavor not in ("look", "all")]
        vectors, more = describe_all(shots, described, cache, report)
        problems.extend(more)
        timings["features_s"] = round(time.perf_counter() - started - timings["shots_s"], 3)

        ranked = time.perf_counter()
        look = next(k for k in described if k.NAME == "look")
        order = list(range(len(shots)))               # inputs in order, shots in time
        representative = duplicate_groups(
            np.stack([look.search_vector(v) for v in vectors["look"]]),
            order, threshold=params.dedupe) if shots else []
        adjacent = {(i, i + 1) for i in range(len(shots) - 1)
                    if shots[i].input == shots[i + 1].input}
        pairs, search = [], {}
        for kind in kinds:
            ctx.check_cancelled()
            found, search[kind.NAME] = rank_pairs(kind, vectors[kind.NAME], representative,
                                                  adjacent, params.top)
            pairs.extend(found)
        pairs.sort(key=lambda p: -p.score)
        by_name = {k.NAME: k for k in kinds}
        words = [(by_name[p.flavour].words(vectors[p.flavour][p.a]),
                  by_name[p.flavour].words(vectors[p.flavour][p.b])) for p in pairs]
        timings["rank_s"] = round(time.perf_counter() - ranked, 3)

        wire_pairs = [{"rank": r, "a": shots[p.a].to_wire(), "b": shots[p.b].to_wire(),
                       "flavor": p.flavour, "score": round(p.score, 4),
                       "note": note(p, shots, w, True)}
                      for r, (p, w) in enumerate(zip(pairs, words), start=1)]
        groups: dict[int, list[int]] = {}
        for i, rep in enumerate(representative):
            if rep != i:
                groups.setdefault(rep, []).append(i)
        result: dict[str, Any] = {
            "pairs": wire_pairs, "otio": [], "review_otio": None, "json": None,
            "shots": len(shots),
            "duplicates": [{"kept": shots[k].to_wire(), "dropped": [shots[i].to_wire() for i in v]}
                           for k, v in groups.items()],
            "backends": {"shots": backends, **{k.NAME: k.BACKEND for k in kinds}},
            "search": search, "problems": problems, "cache": cache.stats()}
        if segmenter is not None:
            result["silhouette_model"] = segmenter.describe()
        if params.out is not None:
            self._write(params, params.out, sources, shots, pairs, words, result, backends)
        timings["job_s"] = round(time.perf_counter() - started, 3)
        result["timings"] = timings
        return result

    @staticmethod
    def _write(params: MatchCutsParams, out: str, sources, shots, pairs, words, result: dict[str, Any],
               backends: dict[str, str]) -> None:
        record = provenance("matchcuts", {"inputs": params.inputs, "flavor": params.flavor,
                                          "top": params.top, "dedupe": params.dedupe},
                            backends=result["backends"])
        base = safe_name(params.name or "matchcuts", "matchcuts")
        sweep_stale(out)   # temp files of killed runs
        marked = marked_timelines(sources, shots, pairs, words, record)
        for source, timeline in zip(sources, marked):
            stem = base if len(sources) == 1 else f"{base}.{safe_name(source.stem, 'input')}"
            result["otio"].append(write_timeline(timeline, resolve_output(out, f"{stem}.otio")))
        review = review_timeline(f"{base} review", shots, pairs, words, params.review_seconds, record)
        result["review_otio"] = write_timeline(review, resolve_output(out, f"{base}.review.otio"))
        json_path = resolve_output(out, f"{base}.json")
        with AtomicPath(json_path) as tmp:
            tmp.write_text(json.dumps({"pairs": result["pairs"], "duplicates": result["duplicates"],
                                       "provenance": record}, indent=1, default=str), encoding="utf-8")
        result["json"] = str(json_path)
