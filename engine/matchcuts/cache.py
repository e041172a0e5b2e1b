"""Per-media cache of shot lists and shot vectors, so a re-run (or one more episode) only
computes what is new.

Entries live under ``<moviola home>/cache/matchcuts/<media key>/`` (``$MOVIOLA_HOME``,
default ``~/.moviola``), outside any job's output folder, so every job and every output
folder shares them. The media key hashes the file's size and its first and last MiB
(for an image sequence: the pattern, frame range and its first and last files), so a copied
or touched file keeps its entries and an edited one gets new ones. Each entry's file name
adds a hash of the settings that made it (backend, thresholds, flavour version). Files are
.npz without pickles, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from moviola.plugin.discovery import moviola_home

from ..media.info import MediaInfo
from ..media.outputs import AtomicPath

__all__ = ["media_key", "settings_key", "MediaCache", "default_root"]

_CHUNK = 1 << 20


def default_root() -> Path:
    return moviola_home() / "cache" / "matchcuts"


def _hash_ends(h: "hashlib._Hash", path: str) -> None:
    size = os.path.getsize(path)
    h.update(f"{size}:".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(_CHUNK))
        if size > _CHUNK:
            fh.seek(max(_CHUNK, size - _CHUNK))
            h.update(fh.read(_CHUNK))


def media_key(info: MediaInfo) -> str:
    """A content key of the media: size plus first and last MiB (first and last file for a
    sequence)."""
    h = hashlib.sha256()
    if info.kind == "image_sequence":
        h.update(f"{info.path}|{info.start_frame}|{info.last_frame}".encode())
        for n in (info.start_frame, info.last_frame):
            _hash_ends(h, info.path % n)
    else:
        _hash_ends(h, info.path)
    return h.hexdigest()[:32]


def settings_key(settings: dict[str, Any]) -> str:
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class MediaCache:
    """Named entries of arrays per media key; ``root=None`` turns caching off."""

    def __init__(self, root: str | os.PathLike[str] | None) -> None:
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0

    def _path(self, key: str, name: str, settings: dict[str, Any]) -> Path | None:
        if self.root is None:
            return None
        return self.root / key / f"{name}-{settings_key(settings)}.npz"

    def load(self, key: str, name: str, settings: dict[str, Any]) -> dict[str, np.ndarray]:
        """The stored arrays (empty when nothing is stored or the file is unreadable)."""
        path = self._path(key, name, settings)
        if path is None or not path.is_file():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError):
            return {}  # a damaged entry is recomputed and rewritten

    def save(self, key: str, name: str, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        path = self._path(key, name, settings)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with AtomicPath(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

    def load_json(self, key: str, name: str, settings: dict[str, Any]) -> Any:
        arrays = self.load(key, name, settings)
        return json.loads(str(arrays["json"])) if "json" in arrays else None

    def save_json(self, key: str, name: str, settings: dict[str, Any], value: Any) -> None:
        self.save(key, name, settings, {"json": np.array(json.dumps(value))})

    def stats(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses,
                "folder": str(self.root) if self.root is not None else None}
