"""Depth passes: per-frame depth, stable over time, full resolution, normalisation on record.

One job per module (the ``depth`` job in ``engine/jobs/depth.py`` puts them together):

- ``base``: the :class:`DepthBackend` interface and a frame's :class:`Prediction`.
- ``backends``: the depth backends for the engine's backend registry (``engine/backends``):
  which exist here, what ``auto`` means, making one.
- ``parallax``: depth from motion parallax; needs no weights; says when it is not valid.
- ``anything_v2``: Depth Anything V2 through transformers, from the weights store; CUDA and
  the optional TensorRT path shared with mattes (``engine/models/tensorrt``).
- ``links``: two frames' values at the same scene points, as least-squares statistics.
- ``stabilise``: one scale (and shift) per frame for the whole clip, from the links.
- ``temporal``: flow-guided smoothing of the per-pixel flicker left after alignment.
- ``normalise``: what the numbers mean (relative, near-far, metric) and their record.
- ``upsample``: working resolution to the plate's, edge-aware, guided by the plate.
- ``fill``: filling unmeasured pixels from their neighbours.
- ``cache``: predictions on disk between the two passes of a clip.
- ``pipeline``: one clip's two streaming passes.
- ``metrics``: AbsRel, delta<1.25, flicker, scale/shift alignment (tests and benchmarks).

Plates become 8-bit working frames through ``moviola.engine.imaging.display`` and optical
flow comes from ``moviola.engine.imaging.flow``, shared with mattes and match cuts.

Nothing here imports torch until a neural backend is created.
"""
