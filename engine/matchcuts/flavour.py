"""What every match-cut flavour provides: :class:`Flavour`.

A flavour turns a few small frames of a shot into one vector (``describe``), scores two
vectors exactly (``score``, 0..1, higher matches better) and gives the vector the candidate
search compares by cosine (``search_vector``). Shots with nothing to match on (no
foreground, no camera move) are left out of its candidates (``usable``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

__all__ = ["Flavour", "unit"]


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (zeros stay zeros), as float32."""
    v = np.asarray(v, np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-12 else v


class Flavour(ABC):
    """One kind of match: frame (silhouettes), motion (camera move) or look (appearance)."""

    NAME: ClassVar[str]
    DIM: ClassVar[int]                  # length of its vectors
    VERSION: ClassVar[int] = 1          # bump when vectors change: cache keys include it
    BACKEND: ClassVar[str] = "classical"
    CACHE_TAG: ClassVar[str] = ""       # more of what vectors depend on (model weights), if any

    @abstractmethod
    def sample(self, start: int, end: int) -> list[int]:
        """Frame numbers of shot ``start``..``end`` (exclusive) this flavour looks at."""

    @abstractmethod
    def describe(self, frames: dict[int, np.ndarray], fps: float) -> np.ndarray:
        """One float32 vector from the sampled frames (HxWx3 uint8 RGB, 128x72)."""

    @abstractmethod
    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        """Exact match score of two shots' vectors, 0..1."""

    def search_vector(self, v: np.ndarray) -> np.ndarray:
        """Unit vector whose cosine similarity finds good candidates for :meth:`score`."""
        return unit(v)

    def usable(self, v: np.ndarray) -> bool:
        """Whether the shot has anything to match on in this flavour."""
        return bool(np.any(v))

    def words(self, v: np.ndarray) -> str:
        """A few words an editor can read about the shot in this flavour."""
        return ""
