"""Which media this is, by content: the key every cache of per-media results uses.

Names and paths change (a copy on another volume, a renamed episode) while the pictures do
not; modification times change on a touch. The key hashes the file size and its first and
last MiB (the first and last file of a sequence), which tells apart real edits and survives
copies, at a cost of two small reads.
"""

from __future__ import annotations

import hashlib
import os

from .info import MediaInfo

__all__ = ["media_key"]

_CHUNK = 1 << 20


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
