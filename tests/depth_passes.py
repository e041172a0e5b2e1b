"""A ray-cast scene's ``parallax`` pass as the depth job writes it, for the depth quality tests
and ``benchmarks/depth_quality.py`` (which puts ``tests/`` on its path to import this).

The scene's frames go through the job's own first pass (:func:`~moviola.engine.depth.pipeline.
analyse`: the backend, the clip's stabiliser, the on-disk prediction cache), and each frame's
map and confidence are read back the way the second pass reads them
(:meth:`~moviola.engine.depth.pipeline.Analysis.aligned_map` and ``confidence_of``): a frame
the backend could not measure holds the nearest measured frame's map, with zero confidence.
Only the plate-size upsampling and the temporal smoothing are left out: scores are taken at
working resolution, which is the scene's own.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from moviola.engine.depth.cache import PredictionCache
from moviola.engine.depth.parallax import ParallaxBackend
from moviola.engine.depth.pipeline import Analysis, analyse, stabiliser_for
from moviola.engine.media.frame_source import FrameSource
from moviola.engine.media.info import MediaInfo

__all__ = ["DepthPass", "SceneClip", "ground_truth", "parallax_pass"]


class SceneClip(FrameSource):
    """A ray-cast scene's frames as a clip: frame ``n`` is ``scene.image(n)``."""

    def __init__(self, scene: Any) -> None:
        self.scene = scene
        h, w = scene.image(0).shape[:2]
        self._info = MediaInfo("scene", "video", "raw", w, h, w, h, "rgb24", Fraction(24),
                               False, len(scene), len(scene) / 24, 0, None, 0, 8)

    @property
    def info(self) -> MediaInfo:
        return self._info

    def read(self, n: int) -> np.ndarray:
        return self.scene.image(self._check_frame(n))

    def close(self) -> None:
        pass


@dataclass
class DepthPass:
    maps: list[np.ndarray] | None        # every frame's aligned inverse depth; None: none measured
    confidence: list[np.ndarray]         # every frame's confidence (zero on a held frame)
    verdict: dict[str, Any]
    held_from: dict[int, int]            # frame -> the measured frame whose map it holds


def ground_truth(scene: Any) -> tuple[list[np.ndarray], list]:
    """Every frame's true depth, and each frame's correspondence to the one before."""
    gts = [scene.depth(i) for i in range(len(scene))]
    corr = [None] + [scene.correspondence(i, i - 1) for i in range(1, len(scene))]
    return gts, corr


def parallax_pass(scene: Any, stabilize: bool = True,
                  backend: ParallaxBackend | None = None) -> DepthPass:
    """The scene's pass through the job's first pass, read back as its second pass does."""
    backend = backend or ParallaxBackend()
    clip = SceneClip(scene)
    with tempfile.TemporaryDirectory() as folder, PredictionCache(folder, "scene") as cache:
        analysis: Analysis = analyse(clip, 0, len(scene) - 1, backend,
                                     stabiliser_for(backend, stabilize), cache, lambda _: None)
        frames = analysis.frames
        if not analysis.measured:     # nothing to write: the job fails such a clip
            w, h = analysis.working_shape
            return DepthPass(None, [np.zeros((h, w), np.float32) for _ in frames],
                             analysis.verdict, {})
        maps = [analysis.aligned_map(cache, n) for n in frames]
        confidence = [analysis.confidence_of(cache, n) for n in frames]
        held = {n: analysis.source_of(n) for n in frames if analysis.source_of(n) != n}
    return DepthPass(maps, confidence, analysis.verdict, held)
