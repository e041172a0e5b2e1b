"""The segment cache: keyframe masks and walks, on disk, so a re-run redoes only what changed.

A walk is stored under a key made of everything that determines its masks: the media (its
content key, which covers every file of a sequence), the object, the anchor frame, the
keyframe's hash (its prompts and, for a keyframe given as a mask, a hash of the mask's
decoded content: an edited mask file recomputes, an unchanged one is reused), the
direction, and the backend's configuration (model, weights hash, working size, settings);
keys are made by :func:`..media.identity.cache_key`, like every cache's.
Its masks are 8-bit PNGs at the working resolution (``<key>/<offset>.png``, offset 1 is the
frame next to the anchor), and ``<key>/walk.json`` says how far the walk got; it is written
last, so a walk cut short by cancellation is simply not there. A keyframe mask is
``keyframes/<key>.png``. Every file is written atomically, inside the job's output folder.

``walk.json`` also lists the ``devices`` whose pixel stages computed the walk (``cpu``, or
``opencl: <device name>``; a walk extended on another device lists both, in order). The
device is not part of the key: the OpenCL path equals the CPU path within the alpha
tolerance, so a walk computed on one device is reused on another, and reported as computed
where it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..media.outputs import AtomicPath, resolve_output

__all__ = ["MatteCache", "UNRECORDED"]

UNRECORDED = "unrecorded"   # a walk stored before the cache recorded devices


def _encode(mask: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if not ok:
        raise RuntimeError("cannot encode a mask as PNG")
    return buf.tobytes()


def _write(path: Path, data: bytes) -> None:
    with AtomicPath(path) as tmp:
        tmp.write_bytes(data)


def _read(path: Path) -> np.ndarray:
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise FileNotFoundError(path)
    return a.astype(np.float32) * (1.0 / 255.0)


class MatteCache:
    """Keyframe masks and walks under ``<out>/.moviola_cache/matte``.

    With ``reuse=False`` nothing stored is read (everything is recomputed and stored again).
    Masks always go to disk, never pile up in memory, so long clips stay bounded.
    """

    def __init__(self, out_dir: str, reuse: bool = True) -> None:
        self.reuse = reuse
        self.root = resolve_output(out_dir, ".moviola_cache/matte")

    # ---- keyframes ---------------------------------------------------------------------------

    def keyframe(self, key: str) -> np.ndarray | None:
        path = self.root / "keyframes" / f"{key}.png"
        return _read(path) if self.reuse and path.exists() else None

    def store_keyframe(self, key: str, mask: np.ndarray) -> np.ndarray:
        """Store and return the mask as stored (quantised like every cached mask)."""
        _write(resolve_output(self.root, f"keyframes/{key}.png"), _encode(mask))
        return _quantised(mask)

    # ---- walks -------------------------------------------------------------------------------

    def walk_length(self, key: str) -> int:
        """How many frames of this walk are stored (0: none)."""
        if not self.reuse:
            return 0
        try:
            return int(json.loads((self.root / key / "walk.json").read_text())["length"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def walk_record(self, key: str) -> dict[str, Any]:
        """The walk's ``walk.json`` (length, anchor, devices...); empty when none is stored."""
        try:
            record = json.loads((self.root / key / "walk.json").read_text())
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def walk_mask(self, key: str, offset: int) -> np.ndarray:
        """The mask ``offset`` frames from the anchor (1 = next to it)."""
        return _read(self.root / key / f"{offset:06d}.png")

    def walk_writer(self, key: str, start: int = 0) -> WalkWriter:
        """A writer adding masks after the first ``start`` stored ones (0: a fresh walk)."""
        return WalkWriter(self, key, start)


def _quantised(mask: np.ndarray) -> np.ndarray:
    return np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8).astype(np.float32) * (1.0 / 255.0)


class WalkWriter:
    """Stores a walk's masks as they come; :meth:`commit` records its length."""

    def __init__(self, cache: MatteCache, key: str, start: int = 0) -> None:
        self.cache, self.key, self.count = cache, key, start
        # Who computed the stored prefix being extended (walks stored before devices were
        # recorded say so).
        self.devices: list[str] = (list(cache.walk_record(key).get("devices", [UNRECORDED]))
                                   if start else [])
        if start == 0:
            # A stale manifest must not vouch for masks being rewritten. (When extending,
            # the stored prefix stays valid until the new manifest replaces the old one.)
            try:
                (cache.root / key / "walk.json").unlink()
            except FileNotFoundError:
                pass

    def add(self, mask: np.ndarray) -> None:
        self.count += 1
        _write(resolve_output(self.cache.root, f"{self.key}/{self.count:06d}.png"), _encode(mask))

    def commit(self, meta: dict[str, Any], device: str = "cpu") -> None:
        """Record the walk's length, ``meta`` and the devices that computed it, ``device``
        (``cpu`` or ``opencl: <name>``) being this run's."""
        devices = self.devices + [device] if device not in self.devices[-1:] else self.devices
        data = json.dumps({"length": self.count, **meta, "devices": devices},
                          default=str).encode()
        _write(resolve_output(self.cache.root, f"{self.key}/walk.json"), data)
