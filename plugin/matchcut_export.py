"""The match cuts an editor accepted, as timelines: the ``matchcuts`` job's marked timelines
keeping only the accepted pairs' markers, and its review timeline playing only their A→B cuts.

Reads the job's result (its ``otio`` and ``review_otio`` paths) and the ``metadata["moviola"]``
the engine put on markers and review clips (``rank``, ``side``); writes each timeline beside
the others as ``<name>.accepted.otio``, atomically, through :func:`.results.write_timeline`.
Pure Python 3.9+: the panel calls it, and so can a host script.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Optional, Union

import opentimelineio as otio

from .errors import OutputPathError
from .results import NAMESPACE, write_timeline
from .timeline import read_timeline

__all__ = ["accepted_markers", "accepted_review", "export_accepted"]


def _rank(item: Any) -> Optional[int]:
    meta = item.metadata.get(NAMESPACE) or {}
    rank = meta.get("rank") if hasattr(meta, "get") else None
    return None if rank is None else int(rank)


def _keep_markers(holder: Any, ranks: set[int]) -> None:
    keep = [m for m in holder.markers if _rank(m) is None or _rank(m) in ranks]
    del holder.markers[:]
    for marker in keep:
        holder.markers.append(marker)


def accepted_markers(marked: otio.schema.Timeline, ranks: Iterable[int]) -> otio.schema.Timeline:
    """A copy of a marked timeline without the markers of pairs not in ``ranks`` (markers
    that are not match cuts stay)."""
    keep = {int(r) for r in ranks}
    timeline = marked.deepcopy()
    _keep_markers(timeline.tracks, keep)
    for item in timeline.find_children():
        if hasattr(item, "markers"):
            _keep_markers(item, keep)
    return timeline


def accepted_review(review: otio.schema.Timeline, ranks: Iterable[int]) -> otio.schema.Timeline:
    """The review timeline with only the pairs in ``ranks``: each A tail and B head, the
    review's gap between pairs, and each pair's marker moved to its cut."""
    keep = {int(r) for r in ranks}
    markers = {_rank(m): m for m in review.tracks.markers}
    out = otio.schema.Timeline(name=f"{review.name} (accepted)", metadata=dict(review.metadata))
    track = otio.schema.Track(name="Match cuts", kind=otio.schema.TrackKind.Video)
    out.tracks.append(track)
    cursor: Optional[otio.opentime.RationalTime] = None
    gap: Optional[otio.schema.Gap] = None
    for child in review.tracks[0]:
        if isinstance(child, otio.schema.Gap):
            gap = child
            continue
        rank = _rank(child)
        if rank not in keep:
            continue
        side = (child.metadata.get(NAMESPACE) or {}).get("side")
        if side == "A" and cursor is not None and gap is not None:
            track.append(gap.clone())
            cursor += gap.source_range.duration
        duration = child.source_range.duration
        track.append(child.clone())
        cursor = duration if cursor is None else cursor + duration
        if side == "A" and rank in markers:   # the cut sits right after A's tail
            marker = markers[rank].clone()
            marker.marked_range = otio.opentime.TimeRange(cursor, marker.marked_range.duration)
            out.tracks.markers.append(marker)
    return out


def _accepted_path(out_dir: str, source: str) -> str:
    return os.path.join(out_dir, Path(source).name.replace(".otio", ".accepted.otio"))


def export_accepted(result: Mapping[str, Any], accepted: Iterable[int],
                    out_dir: Union[str, os.PathLike[str]]) -> list[str]:
    """Write the accepted pairs of a ``matchcuts`` result into ``out_dir`` (made if missing):
    one ``.accepted.otio`` per marked timeline, and one for the review. Returns the paths.

    Raises:
        MediaNotFoundError, MediaDecodeError: a result timeline is gone or unreadable.
        OutputPathError: ``out_dir`` cannot be made or written.
    """
    ranks = sorted({int(r) for r in accepted})
    folder = os.path.abspath(os.fspath(out_dir))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot create output folder: {exc.strerror or exc}",
                              path=folder) from exc
    written: list[str] = []
    for path in result.get("otio") or []:
        timeline = accepted_markers(read_timeline(path), ranks)
        written.append(write_timeline(timeline, _accepted_path(folder, path)))
    review_path = result.get("review_otio")
    if review_path:
        review = accepted_review(read_timeline(review_path), ranks)
        written.append(write_timeline(review, _accepted_path(folder, review_path)))
    return written
