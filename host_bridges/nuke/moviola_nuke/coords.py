"""Points between Nuke and the engine. Pure Python, no ``nuke`` import.

Nuke's pixel space has its origin at the bottom-left, y up; the engine's prompts are pixels of
the full-resolution plate with the origin at the top-left, y down. Both treat pixel ``i`` as
the square ``[i, i+1)``, so the flip is ``y' = height - y``.

A point is always mapped through the Read's *full-resolution* format, never the proxy's:

- proxy mode scales images, but Nuke keeps XY knobs in full-resolution units, so a knob's
  value needs no change; a point measured on the proxy image itself (``proxy_scale`` < 1)
  is divided by the scale;
- a Reformat between the Read and the node the artist clicked on moves the point; each is
  undone in turn (:class:`Reformat` follows the node's ``resize`` types and ``center``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from moviola.plugin.errors import InvalidParamsError

__all__ = ["Reformat", "engine_to_nuke", "nuke_to_engine"]

Size = tuple[int, int]
Point = tuple[float, float]

RESIZE_TYPES = ("none", "width", "height", "fit", "fill", "distort")


@dataclass(frozen=True)
class Reformat:
    """A Reformat node: its output format and how it fits its input there."""

    width: int
    height: int
    resize: str = "width"      # Nuke's default
    center: bool = True

    def scales(self, source: Size) -> tuple[float, float]:
        sx, sy = self.width / source[0], self.height / source[1]
        if self.resize not in RESIZE_TYPES:
            raise InvalidParamsError(f"unknown Reformat resize type {self.resize!r}; "
                                     f"expected one of {', '.join(RESIZE_TYPES)}")
        uniform = {"none": 1.0, "width": sx, "height": sy, "fit": min(sx, sy), "fill": max(sx, sy)}
        if self.resize == "distort":
            return sx, sy
        return uniform[self.resize], uniform[self.resize]

    def forward(self, point: Point, source: Size) -> Point:
        """Where a point of the input lands in this Reformat's output (Nuke space)."""
        sx, sy = self.scales(source)
        if not self.center:
            return point[0] * sx, point[1] * sy
        return ((point[0] - source[0] / 2) * sx + self.width / 2,
                (point[1] - source[1] / 2) * sy + self.height / 2)

    def backward(self, point: Point, source: Size) -> Point:
        """The input point a point of this Reformat's output came from (Nuke space)."""
        sx, sy = self.scales(source)
        if not self.center:
            return point[0] / sx, point[1] / sy
        return ((point[0] - self.width / 2) / sx + source[0] / 2,
                (point[1] - self.height / 2) / sy + source[1] / 2)


def _sizes(source: Size, reformats: Sequence[Reformat]) -> list[Size]:
    """The format entering each Reformat, the Read's first."""
    sizes = [source]
    for reformat in reformats[:-1]:
        sizes.append((reformat.width, reformat.height))
    return sizes


def nuke_to_engine(point: Point, source: Size, reformats: Sequence[Reformat] = (),
                   proxy_scale: float = 1.0) -> Point:
    """A point in Nuke space below ``reformats`` (Read first) → engine pixels of the plate.

    ``source`` is the Read's full-resolution format. ``proxy_scale`` is the proxy factor when
    the point was measured on the proxy image (1.0 for knob values, which stay full-res).
    Raises InvalidParamsError for a point that falls outside the plate.
    """
    if proxy_scale <= 0:
        raise InvalidParamsError(f"proxy scale must be positive, not {proxy_scale}")
    x, y = point[0] / proxy_scale, point[1] / proxy_scale
    for reformat, size in reversed(list(zip(reformats, _sizes(source, reformats)))):
        x, y = reformat.backward((x, y), size)
    width, height = source
    if not (0 <= x <= width and 0 <= y <= height):
        raise InvalidParamsError(
            f"point ({point[0]:g}, {point[1]:g}) falls outside the {width}x{height} plate "
            f"(at {x:.1f}, {y:.1f} in the Read's format)", detail={"param": "keyframes"})
    return x, height - y


def engine_to_nuke(point: Point, source: Size, reformats: Sequence[Reformat] = ()) -> Point:
    """Engine pixels of the plate → Nuke space below ``reformats`` (full-resolution units)."""
    x, y = point[0], source[1] - point[1]
    for reformat, size in zip(reformats, _sizes(source, reformats)):
        x, y = reformat.forward((x, y), size)
    return x, y
