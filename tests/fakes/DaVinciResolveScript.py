"""Stands in for Blackmagic's ``DaVinciResolveScript`` module (``scriptapp("Resolve")``).
Tests set ``RUNNING`` to a :class:`resolve_api.Resolve`; the free edition, like a Resolve with
external scripting off, answers an outside process with None."""

from __future__ import annotations

from typing import Any

RUNNING: Any = None


def scriptapp(name: str) -> Any:
    if name != "Resolve" or RUNNING is None or not RUNNING.studio:
        return None
    return RUNNING
