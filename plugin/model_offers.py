"""How a client words one of ``hello``'s ``offers`` (a neural model it could install): shared by
the command line and the panel, so both say the same size the same way."""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["size_text", "offer_size"]


def size_text(size: Optional[int], exact: bool = True) -> str:
    """``size`` bytes in MB; not ``exact``: the sum of the sizes listed, some files unlisted."""
    if not size:
        return "size not published"
    text = f"{size / 1e6:.0f} MB" if size >= 10e6 else f"{size / 1e6:.1f} MB"
    return text if exact else f"at least {text}"


def offer_size(offer: dict[str, Any]) -> str:
    """The download size of one of ``hello``'s ``offers``."""
    return size_text(offer.get("size"), bool(offer.get("size_exact", True)))
