"""Moved to :mod:`moviola.engine.media.cache` (shots use it too); kept so existing imports
work."""

from __future__ import annotations

from ..media.cache import MediaCache, default_root

__all__ = ["MediaCache", "default_root"]
