"""Which media this is, by content, and the one way every cache makes its keys.

:func:`cache_key` is the only cache-key hash in the engine: every cache (matte keyframes and
walks, shot lists, match-cut vectors) keys its entries by :func:`media_key` (or
:func:`media_identity`) plus the parameters that change the result, through it.

A movie's key hashes its size, its first and last MiB and 16 blocks of 64 KiB spread through
the middle: it tells apart real edits and survives copies and touches, at the cost of a few
small reads. An image sequence's key covers every file of it: each one's size and
modification time (``mtime_ns``), plus the first and last MiB of its first and last files, so
rewriting frames in the middle changes the key (one stat per frame, no reads). A copy of a
sequence that does not keep modification times is computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from .info import MediaInfo

__all__ = ["media_key", "media_identity", "cache_key"]

_CHUNK = 1 << 20


def _hash_ends(h: hashlib._Hash, path: str) -> None:
    size = os.path.getsize(path)
    h.update(f"{size}:".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(_CHUNK))
        if size > _CHUNK:
            fh.seek(max(_CHUNK, size - _CHUNK))
            h.update(fh.read(_CHUNK))


_SAMPLES = 16
_SAMPLE = 1 << 16


def _hash_middle(h: hashlib._Hash, path: str) -> None:
    size = os.path.getsize(path)
    if size <= 2 * _CHUNK:
        return
    with open(path, "rb") as fh:
        for i in range(1, _SAMPLES + 1):
            fh.seek(_CHUNK + (size - 2 * _CHUNK) * i // (_SAMPLES + 1))
            h.update(fh.read(_SAMPLE))


def _hash_files(h: hashlib._Hash, pattern: str, first: int, last: int) -> None:
    for n in range(first, last + 1):
        try:
            st = os.stat(pattern % n)
        except OSError:
            h.update(f"{n}:missing|".encode())
            continue
        h.update(f"{n}:{st.st_size}:{st.st_mtime_ns}|".encode())


def media_key(info: MediaInfo) -> str:
    """A content key of the media (see the module docstring)."""
    h = hashlib.sha256()
    if info.kind == "image_sequence":
        h.update(f"{info.path}|{info.start_frame}|{info.last_frame}".encode())
        for n in (info.start_frame, info.last_frame):
            _hash_ends(h, info.path % n)
        _hash_files(h, info.path, info.start_frame, info.last_frame)
    else:
        _hash_ends(h, info.path)
        _hash_middle(h, info.path)
    return h.hexdigest()[:32]


def media_identity(info: MediaInfo) -> dict[str, Any]:
    """The media's content key with its frame range and size: what a cache of results per
    frame keys on (a trimmed or resized stream of the same file is other media)."""
    return {"media": media_key(info), "frames": [info.start_frame, info.last_frame],
            "size": [info.width, info.height]}


def content_hash(*chunks: bytes) -> str:
    """SHA-256 of content that has no file identity to key on (a mask's decoded pixels, inline
    PNG bytes), fed in ``chunks``; 64 hex digits."""
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def cache_key(*parts: Any) -> str:
    """The key of a cache entry: ``parts`` (a media key or identity, then every parameter that
    changes the result) as canonical JSON (sorted keys, no spaces; anything else as ``str``),
    hashed with SHA-256, 32 hex digits."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
