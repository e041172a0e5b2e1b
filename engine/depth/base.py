"""What a depth backend is: a :class:`DepthBackend` turns a clip's working-resolution frames
into per-frame :class:`Prediction` maps, and says what its numbers mean.

A backend declares its output (``"inverse_depth"`` or ``"depth"``), whether each frame's
values carry an unknown scale and shift of their own (``affine_invariant``: true of relative
models, whose frames the stabiliser then aligns), whether they are in scene units
(``metric``), and its working resolution for a plate size. A backend that knows which pixels it
measured and which it filled (``measures_confidence``) gives each prediction a confidence map.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .links import Link

if TYPE_CHECKING:
    from .stabilise import Alignment

__all__ = ["DepthBackend", "Prediction", "even_shape"]


@dataclass
class Prediction:
    """One frame's depth at working resolution."""

    frame: int                       # source frame number
    values: np.ndarray               # HxW float32, in the backend's ``output`` convention
    image: np.ndarray                # the HxWx3 uint8 working frame it was computed from
    valid: bool = True               # False: the backend could not measure this frame
    links: list[Link] = field(default_factory=list)   # geometric links to other frames
    info: dict[str, Any] = field(default_factory=dict)
    # HxW float32 0..1, for a backend that ``measures_confidence``: how far the pixel's depth
    # can be trusted (parallax: 0.5 and above where measured, below where filled; None: no
    # such measure).
    confidence: np.ndarray | None = None


def even_shape(width: int, height: int, short_side: int, multiple: int = 2,
               upscale: bool = False) -> tuple[int, int]:
    """(width, height) with the shorter side scaled to ``short_side`` (never above the plate
    unless ``upscale``), both rounded to a ``multiple``."""
    short = min(width, height)
    target = short_side if upscale else min(short_side, short)
    scale = target / short
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    return w, h


class DepthBackend(ABC):
    """One way of predicting depth; register it in :mod:`.backends`."""

    NAME: ClassVar[str]
    output: str = "inverse_depth"    # "inverse_depth" (near is large) or "depth"
    affine_invariant: bool = True    # each frame has its own unknown scale and shift
    metric: bool = False             # values in scene units (metres)
    min_frames: int = 1              # frames a clip needs
    measures_confidence: bool = False  # its predictions say which pixels were measured

    @abstractmethod
    def working_shape(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) frames are predicted at, for a plate of this size."""

    @abstractmethod
    def predict(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[Prediction]:
        """Predictions for ``(frame number, HxWx3 uint8 working frame)`` in clip order, one per
        frame and in the same order (a backend may look a few frames ahead)."""

    def describe(self) -> dict[str, Any]:
        """What ran, for provenance: backend, model, weights hash, licence, device."""
        return {"backend": self.NAME}

    def verdict(self, alignment: Alignment | None = None) -> dict[str, Any]:
        """Whether the clip last predicted is valid for this backend (and why not);
        ``alignment``: the clip's stabilisation, for a backend that judges it too."""
        return {"status": "valid", "reason": ""}

    def close(self) -> None:  # noqa: B027 -- a deliberate no-op default: backends holding nothing skip it
        """Release models and devices."""
