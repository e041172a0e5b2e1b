"""Mattes: clicks on a frame → a soft alpha per object for every frame of a clip.

- ``prompts``: clicks, boxes and keyframes, validated; ``plan``: walks between keyframes;
  ``cache``: the segment cache; ``object_matte``: one object's matte through the cache.
- ``backend``: the backend interface and table; ``classical`` (GrabCut + DIS flow, no
  weights: ``graphcut``, ``flow``); ``sam2`` (transformers, ``sam2_model``) with
  ``tensorrt`` for its image encoder (through the shared ``engine/models/tensorrt``).
- ``propagate``: walks with temporal smoothing; ``refine``: full-resolution edges;
  ``frames``: working-resolution plates; ``render`` and ``outputs``: files and the result OTIO.
- ``preview``: the interactive loop and its per-frame LRU; ``metrics``: DAVIS J&F.

See docs/mattes.md.
"""
