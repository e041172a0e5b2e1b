"""From inputs to shots to vectors: what the match-cut search works on.

A video or an image sequence is cut into shots by the shot detector; a timeline's clips
are its shots already (an editor's cut). Every shot is described by every flavour asked
for, plus the look (near-duplicates are found by look), media file by media file, with the
per-media cache: only shots it has not seen with these settings are decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import opentimelineio as otio

from moviola.plugin.errors import JobCancelledError, MoviolaError
from moviola.plugin.timeline import WorkUnit

from ..inputs import ResolvedInput, media_file
from ..media.identity import media_key
from ..media.source import open_source
from ..shots.cached import detect_cached
from ..shots.detect import Shot
from ..shots.timeline_out import clip_of
from .cache import MediaCache
from .features import WORKING_SIZE, describe_shots
from .flavour import Flavour

__all__ = ["ShotRef", "gather_shots", "describe_all"]


@dataclass(frozen=True)
class ShotRef:
    """One shot taking part: where it comes from and how to put it on a timeline."""

    input: int                       # index of its input
    stem: str                        # the input's name, for notes
    unit: WorkUnit                   # the clip it lies in
    reference: otio.core.MediaReference
    start: int                       # media frames, end exclusive
    end: int
    position: int                    # 1-based order within its input
    whole_clip: bool                 # a timeline clip (vs a detected shot inside media)

    @property
    def label(self) -> str:
        return f"shot {self.position} of {self.stem}"

    def to_wire(self) -> dict[str, Any]:
        return {"media": self.unit.media_path, "start": self.start, "end": self.end,
                "shot": self.position, "input": self.input, "clip": self.unit.clip_name}


def gather_shots(inputs: Sequence[ResolvedInput], cache: MediaCache, *, backend: str,
                 thresholds: dict[str, Any], progress: Callable[[int, int, str], None]
                 ) -> tuple[list[ShotRef], list[str], dict[str, str]]:
    """``(shots, problems, {shot backend: why})`` for every input, in input order."""
    shots: list[ShotRef] = []
    problems: list[str] = []
    backends: dict[str, str] = {}
    for index, source in enumerate(inputs):
        units = [u for u in source.units if u.media_kind in ("video", "image_sequence")]
        problems.extend(f"{source.stem}: {u.clip_name}: {p}" for u in source.units for p in u.problems)
        position = 0
        for unit in units:
            ref = clip_of(source.timeline, unit).media_reference
            if source.is_timeline:
                position += 1
                first, last = unit.media_span   # a retimed clip's frames, not its record count
                shots.append(ShotRef(index, source.stem, unit, ref, first, last + 1, position, True))
                continue
            def report(d: int, t: int, label: str = f"shots of {source.stem}") -> None:
                progress(d, t, label)

            try:
                media = source.open(media_file(unit))   # the input's reader: probed once
                detection, _ = detect_cached(media, cache, backend, settings=thresholds,
                                             progress=report)
            except JobCancelledError:
                raise
            except MoviolaError as exc:
                problems.append(f"{source.stem}: {exc}")
                continue
            backends[detection.backend] = detection.reason
            for shot in detection.shots:
                position += 1
                shots.append(ShotRef(index, source.stem, unit, ref, shot.start, shot.end,
                                     position, False))
    return shots, problems, backends


def _counter(progress: Callable[[int, int, str], None], start: int, total: int
             ) -> Callable[[int], None]:
    """An ``on_shot`` callback reporting shots described so far, from ``start``."""
    done = [start]

    def step(_: int) -> None:
        done[0] += 1
        progress(done[0], total, "describing shots")
    return step


def _cache_entry(kind: Flavour) -> dict[str, Any]:
    entry = {"flavour": kind.NAME, "version": kind.VERSION, "backend": kind.BACKEND,
             "size": list(WORKING_SIZE)}
    if kind.CACHE_TAG:                  # only flavours with one: classical keys stay as they were
        entry["tag"] = kind.CACHE_TAG
    return entry


def describe_all(shots: Sequence[ShotRef], kinds: Sequence[Flavour], cache: MediaCache,
                 progress: Callable[[int, int, str], None]) -> tuple[dict[str, np.ndarray], list[str]]:
    """``({flavour: vectors, one row per shot}, problems)``, cached per media file."""
    rows: dict[str, list[np.ndarray | None]] = {k.NAME: [None] * len(shots) for k in kinds}
    by_media: dict[str, list[int]] = {}
    for i, shot in enumerate(shots):
        by_media.setdefault(shot.unit.media_path or "", []).append(i)
    problems: list[str] = []
    done = 0
    for path, members in by_media.items():
        try:
            with open_source(path) as media:
                key = media_key(media.info)
                stored = {k.NAME: cache.load(key, "features", _cache_entry(k)) for k in kinds}
                todo = [i for i in members
                        if any(f"{shots[i].start}-{shots[i].end}" not in stored[k.NAME] for k in kinds)]
                cache.hits += len(members) - len(todo)
                cache.misses += len(todo)
                for i in members:
                    if i not in todo:
                        for k in kinds:
                            rows[k.NAME][i] = stored[k.NAME][f"{shots[i].start}-{shots[i].end}"]

                vectors = describe_shots(media, [Shot(shots[i].start, shots[i].end) for i in todo],
                                         kinds, float(media.info.frame_rate),
                                         on_shot=_counter(progress, done + len(members) - len(todo),
                                                          len(shots)))
                for i, found in zip(todo, vectors):
                    for k in kinds:
                        rows[k.NAME][i] = found[k.NAME]
                        stored[k.NAME][f"{shots[i].start}-{shots[i].end}"] = found[k.NAME]
                if todo:
                    for k in kinds:
                        cache.save(key, "features", _cache_entry(k), stored[k.NAME])
        except JobCancelledError:
            raise
        except MoviolaError as exc:
            problems.append(f"{path}: {exc}")
        done += len(members)
        progress(done, len(shots), "describing shots")
    out = {}
    for k in kinds:
        out[k.NAME] = np.stack([r if r is not None else np.zeros(k.DIM, np.float32) for r in rows[k.NAME]]) \
            if shots else np.zeros((0, k.DIM), np.float32)
    return out, problems
