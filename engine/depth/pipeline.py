"""One clip's depth pass in two streaming passes, in bounded memory.

1. :func:`analyse`: decode, reduce to working resolution, predict, cache each prediction on
   disk, and feed the stabiliser (links and per-frame statistics only). Then solve the
   clip's per-frame scale/shift once.
2. :func:`render`: decode again; for each frame load its prediction, align it, smooth the
   per-pixel flicker left along the optical flow (:mod:`.temporal`), normalise it, upsample
   it to the plate's resolution guided by the plate (for a 16-bit PNG, quantised there too),
   and write it, a few frames in flight.

Neither pass holds more than a few frames: the parallax backend's window of
``2 * MAX_STRIDE + 1`` working frames is the largest. Frames a backend could not measure
(parallax without translation) take the nearest measured frame's map, and say so.

A backend that measures confidence (parallax) has it cached next to each map and, when asked,
written as a second EXR channel: upsampled bilinearly on the CPU (also when the depth runs on
the OpenCL device), and zero on every pixel of a frame that holds another frame's map.
"""

from __future__ import annotations

import bisect
import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..imaging.display import at_size, display_rgb8
from ..media.frame_source import FrameSource
from ..media.pipeline import FramePipeline
from ..media.writers import ImageSequenceWriter
from .base import DepthBackend
from .cache import PredictionCache
from .normalise import Normalisation
from .stabilise import Alignment, Stabiliser
from .temporal import TemporalFilter
from .upsample import upsample, upsample_confidence

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["Analysis", "analyse", "render", "stabiliser_for", "MAX_IN_FLIGHT"]

# Frames being upsampled and written at once: keeps the writers busy, bounds memory.
MAX_IN_FLIGHT = 4

Progress = Callable[[str], None]   # called once per frame done, with a message


@dataclass
class Analysis:
    frames: list[int]                  # every frame of the clip, in order
    measured: list[int]                # frames with a prediction of their own
    alignment: Alignment
    verdict: dict[str, Any]
    working_shape: tuple[int, int]
    plate_shape: tuple[int, int]
    timings: dict[str, float] = field(default_factory=dict)

    def source_of(self, frame: int) -> int:
        """The measured frame whose map ``frame`` uses: itself, or the nearest measured."""
        if frame in self.alignment.scale:
            return frame
        i = bisect.bisect_left(self.measured, frame)
        near = self.measured[max(0, i - 1):i + 1]
        return min(near, key=lambda m: (abs(m - frame), m))

    def aligned_map(self, cache: PredictionCache, frame: int) -> np.ndarray:
        """The map written for ``frame`` (before smoothing): its source's, aligned."""
        origin = self.source_of(frame)
        return self.alignment.apply(origin, cache.load(origin))

    def confidence_of(self, cache: PredictionCache, frame: int) -> np.ndarray:
        """Frame ``frame``'s confidence at working resolution: its own map's, or zero
        everywhere when it holds another frame's map (nothing of it was measured)."""
        own = cache.load_confidence(frame) if self.source_of(frame) == frame else None
        if own is None:
            return np.zeros((self.working_shape[1], self.working_shape[0]), np.float32)
        return own


def stabiliser_for(backend: DepthBackend, enabled: bool) -> Stabiliser:
    """Affine alignment through flow for relative models; scale only where the shift is
    known to be zero (parallax, metric), parallax leaning on its exact geometric links."""
    if not enabled:
        return Stabiliser("none")
    if backend.affine_invariant:
        return Stabiliser("affine", flow_weight=1.0, flow_offsets=(1, 2))
    if backend.metric:
        return Stabiliser("scale", flow_weight=1.0, flow_offsets=(1, 2))
    return Stabiliser("scale", flow_weight=0.25, flow_offsets=(1,))


def analyse(source: FrameSource, first: int, last: int, backend: DepthBackend,
            stabiliser: Stabiliser, cache: PredictionCache, progress: Progress) -> Analysis:
    """Pass 1 over frames ``first..last`` (inclusive) of ``source``."""
    started = time.perf_counter()
    shapes: dict[str, tuple[int, int]] = {}

    def working_frames():
        for number, plate in source.frames(first, last + 1):
            rgb = display_rgb8(plate)
            if "working" not in shapes:
                shapes["plate"] = (rgb.shape[1], rgb.shape[0])
                shapes["working"] = backend.working_shape(rgb.shape[1], rgb.shape[0])
            yield number, at_size(rgb, shapes["working"])

    frames, measured = [], []
    for prediction in backend.predict(working_frames()):
        frames.append(prediction.frame)
        if prediction.valid:
            cache.save(prediction.frame, prediction.values, prediction.confidence)
            measured.append(prediction.frame)
        stabiliser.add(prediction)
        progress(f"predicting frame {prediction.frame}")
    predicted = time.perf_counter()
    alignment = stabiliser.solve()
    return Analysis(frames, measured, alignment, backend.verdict(alignment), shapes.get("working", (0, 0)),
                    shapes.get("plate", (0, 0)),
                    {"predict_s": round(predicted - started, 3),
                     "solve_s": round(time.perf_counter() - predicted, 3)})


def render(source: FrameSource, analysis: Analysis, normalisation: Normalisation,
           cache: PredictionCache, writer: ImageSequenceWriter, pool: ThreadPoolExecutor,
           progress: Progress, *, preview: bool = False, smoothing: float = 0.0,
           attributes: dict[str, Any] | None = None,
           stages: OpenCLStages | None = None, confidence: bool = False) -> list[int]:
    """Pass 2: write every frame of the analysis; return the frame numbers written.
    ``smoothing``: strength of the temporal filter (0: off); ``stages``: the OpenCL device
    for the temporal blend and the upsampling (None: the CPU); ``confidence``: write each
    frame's confidence as the last channel (an EXR writer with a channel for it)."""
    header = {**(attributes or {}), **normalisation.header(),
              "moviola/depth/temporal_smoothing": smoothing}
    temporal = TemporalFilter(smoothing, stages)
    written: list[int] = []
    first, last = analysis.frames[0], analysis.frames[-1]
    with FramePipeline(pool, MAX_IN_FLIGHT) as frames:
        for number, plate in source.frames(first, last + 1):
            origin = analysis.source_of(number)
            aligned = analysis.aligned_map(cache, number)
            rgb = display_rgb8(plate)
            if smoothing > 0:
                aligned = temporal(aligned, at_size(rgb, analysis.working_shape))
            frame_header = {**header, "moviola/depth/scale": analysis.alignment.scale[origin],
                            "moviola/depth/shift": analysis.alignment.shift[origin]}
            if origin != number:
                frame_header["moviola/depth/held_from_frame"] = origin
            measured = analysis.confidence_of(cache, number) if confidence else None
            def announce(_: Any, n: int = number) -> None:   # runs later: n bound now
                progress(f"writing frame {n}")

            frames.submit(_write_frame, writer, frame_header, number,
                          normalisation.output(aligned), rgb, normalisation, preview, stages,
                          measured, then=announce)
            written.append(number)
    return written


def _write_frame(writer: ImageSequenceWriter, header: dict[str, Any], number: int,
                 values: np.ndarray, guide: np.ndarray, normalisation: Normalisation,
                 preview: bool, stages: OpenCLStages | None = None,
                 confidence: np.ndarray | None = None) -> None:
    if writer.ext == "png":
        # 16-bit PNG: quantised where the upsampling ran (round half to even), so the writer
        # stores the integers as given and the device and the CPU write the same files.
        image = upsample(values, guide, stages=stages, dtype=np.uint16)[..., None]
    else:
        full = upsample(values, guide, stages=stages)
        image = full[..., None]
        if preview:
            shown = normalisation.preview(full)
            image = np.concatenate([np.repeat(shown[..., None], 3, axis=2), image], axis=2)
        if confidence is not None:
            at_plate = upsample_confidence(confidence, (guide.shape[1], guide.shape[0]))
            image = np.concatenate([image, at_plate[..., None]], axis=2)
        image = image.astype(np.float32)
    # A shallow copy shares the writer's folder, path list and lock, with this frame's header.
    frame_writer = copy.copy(writer)
    frame_writer.attributes = header
    frame_writer.write(image, number)

