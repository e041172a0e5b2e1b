"""Per-media cache of arrays: shot lists (:mod:`..shots.cached`) and match-cut shot vectors
(:mod:`..matchcuts.collect`), so a re-run (or one more episode) only computes what is new.

It lives here, beside the media key, because both capability packages use it and neither
may import the other's modules for it (shots must not depend on match cuts).

Entries live under ``<moviola home>/cache/matchcuts/<media key>/`` (``$MOVIOLA_HOME``,
default ``~/.moviola``; the folder name predates the move), outside any job's output folder,
so every job and every output folder shares them. The media key is
:func:`moviola.engine.media.identity.media_key`, by content, so a copied or touched file keeps
its entries and an edited one gets new ones. Each entry's file name adds the key of the
settings that made it (backend, thresholds, flavour version), made by
:func:`~moviola.engine.media.identity.cache_key` like every cache key. Files are .npz without
pickles, written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from moviola.plugin.discovery import moviola_home

from .identity import cache_key
from .outputs import AtomicPath

__all__ = ["MediaCache", "default_root"]


def default_root() -> Path:
    # $MOVIOLA_MATCHCUTS_CACHE: farm tasks share one cache under their output root (docs/farm.md).
    shared = os.environ.get("MOVIOLA_MATCHCUTS_CACHE")
    return Path(shared) if shared else moviola_home() / "cache" / "matchcuts"


class MediaCache:
    """Named entries of arrays per media key; ``root=None`` turns caching off."""

    def __init__(self, root: str | os.PathLike[str] | None) -> None:
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0

    def _path(self, key: str, name: str, settings: dict[str, Any]) -> Path | None:
        if self.root is None:
            return None
        return self.root / key / f"{name}-{cache_key(settings)}.npz"

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
                np.savez(fh, allow_pickle=False, **arrays)   # load refuses pickles too

    def load_json(self, key: str, name: str, settings: dict[str, Any]) -> Any:
        arrays = self.load(key, name, settings)
        return json.loads(str(arrays["json"])) if "json" in arrays else None

    def save_json(self, key: str, name: str, settings: dict[str, Any], value: Any) -> None:
        self.save(key, name, settings, {"json": np.array(json.dumps(value))})

    def stats(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses,
                "folder": str(self.root) if self.root is not None else None}
