"""What the artist gave: include/exclude clicks and a box on a frame, per object.

Coordinates are pixels of the full-resolution source image, origin top-left, x to the right
and y down; a click at (x, y) must satisfy 0 <= x < width and 0 <= y < height.

On the wire a keyframe is a map::

    {"frame": 1012, "object": 1, "include": [[x, y], ...], "exclude": [[x, y], ...],
     "box": [x0, y0, x1, y1], "mask": "/path/to/roto.1012.exr"}

``object`` defaults to 1; a keyframe needs at least one include click, a box, or a mask. A
mask is an existing matte of that frame: ``mask`` names an image file (read, never written),
or ``mask_png`` carries PNG bytes (remote clients; at most :data:`MAX_MASK_PNG_BYTES`); clicks
on the same keyframe refine it (:mod:`.key_masks`). Structure is checked as soon as the
parameters arrive (:func:`parse_keyframes`, which reads no file); what needs the media
(image size, frame range) is checked before any work starts (:func:`check_keyframes`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from moviola.plugin.errors import FrameRangeError, InvalidParamsError

from ..media.identity import cache_key, content_hash

__all__ = ["Prompts", "KeyMask", "Keyframe", "parse_prompts", "parse_keyframes",
           "parse_mask", "check_keyframes", "by_object", "MAX_MASK_PNG_BYTES"]

Point = tuple[float, float]
_KEYS = {"frame", "object", "include", "exclude", "box", "mask", "mask_png"}
#: Largest inline mask: a 16-bit 4K PNG matte is a few MB; the whole request is bounded by
#: the protocol's message limit anyway.
MAX_MASK_PNG_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Prompts:
    """Clicks and an optional box on one frame, in full-resolution pixels."""

    include: tuple[Point, ...] = ()
    exclude: tuple[Point, ...] = ()
    box: tuple[float, float, float, float] | None = None

    @property
    def empty(self) -> bool:
        """No include click and no box: not enough to find an object from."""
        return not self.include and self.box is None

    @property
    def given(self) -> bool:
        """Any click or box at all (exclude clicks alone can still refine a mask)."""
        return bool(self.include or self.exclude) or self.box is not None

    def scaled(self, sx: float, sy: float) -> Prompts:
        """The same prompts in an image scaled by (sx, sy), e.g. the working resolution."""
        box = None if self.box is None else (self.box[0] * sx, self.box[1] * sy,
                                             self.box[2] * sx, self.box[3] * sy)
        return Prompts(tuple((x * sx, y * sy) for x, y in self.include),
                       tuple((x * sx, y * sy) for x, y in self.exclude), box)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"include": [list(p) for p in self.include],
                               "exclude": [list(p) for p in self.exclude]}
        if self.box is not None:
            out["box"] = list(self.box)
        return out

    def digest(self) -> str:
        """A stable hash of the prompts (cache keys, provenance)."""
        return cache_key(self.to_wire())

    def check_inside(self, width: int, height: int, where: str) -> None:
        """Raise InvalidParamsError naming the first click or box outside the image."""
        for kind, points in (("include", self.include), ("exclude", self.exclude)):
            for i, (x, y) in enumerate(points):
                if not (0 <= x < width and 0 <= y < height):
                    raise InvalidParamsError(
                        f"{where}: {kind} click {i} at ({x:g}, {y:g}) lies outside the "
                        f"{width}x{height} image", detail={"param": where, "point": [x, y],
                                                            "width": width, "height": height})
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
                raise InvalidParamsError(
                    f"{where}: box {list(self.box)} is not inside the {width}x{height} image "
                    "(x0 < x1, y0 < y1)", detail={"param": where, "box": list(self.box)})


@dataclass(frozen=True)
class KeyMask:
    """A keyframe's mask: a file (``path``) or inline PNG bytes (``png``).

    :func:`.key_masks.read_key_mask` fills ``sha256`` (a hash of the decoded alpha: what cache
    keys use, so an edited mask recomputes and an unchanged one is reused) and ``size`` (its
    width and height); :func:`.key_masks.fit_keyframe_masks` sets ``plate``, the size it is
    used at."""

    path: str | None = None
    png: bytes | None = field(default=None, repr=False)
    sha256: str | None = None
    size: tuple[int, int] | None = None
    plate: tuple[int, int] | None = None

    @property
    def source(self) -> str:
        """How messages name it."""
        if self.path is not None:
            return self.path
        return f"(inline PNG, {len(self.png or b'')} bytes)"

    def to_wire(self) -> dict[str, Any]:
        """Provenance: the file, or the inline PNG's own hash (never its bytes)."""
        out: dict[str, Any] = ({"mask": self.path} if self.path is not None else
                               {"mask_png_sha256": content_hash(self.png or b"")})
        if self.sha256 is not None:
            out["mask_sha256"] = self.sha256
        return out


@dataclass(frozen=True)
class Keyframe:
    """Prompts for one object on one frame (a source media frame number), and/or its mask."""

    frame: int
    object_id: int
    prompts: Prompts
    mask: KeyMask | None = None

    def to_wire(self) -> dict[str, Any]:
        out = {"frame": self.frame, "object": self.object_id, **self.prompts.to_wire()}
        if self.mask is not None:
            out.update(self.mask.to_wire())
        return out

    def digest(self) -> str:
        """A stable hash of what the keyframe's mask depends on: the prompts, and the mask's
        content once read (cache keys)."""
        if self.mask is None:
            return self.prompts.digest()
        if self.mask.sha256 is None:
            raise ValueError("a keyframe mask's content must be read before it is hashed")
        return cache_key(self.prompts.to_wire(), {"mask_sha256": self.mask.sha256})


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidParamsError(f"{where} must be a finite number, got {value!r}",
                                 detail={"param": where})
    return float(value)


def _points(raw: Any, where: str) -> tuple[Point, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        raise InvalidParamsError(f"{where} must be a list of [x, y] pairs", detail={"param": where})
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise InvalidParamsError(f"{where}[{i}] must be [x, y], got {p!r}",
                                     detail={"param": where})
        out.append((_number(p[0], f"{where}[{i}]"), _number(p[1], f"{where}[{i}]")))
    return tuple(out)


def parse_prompts(include: Any = None, exclude: Any = None, box: Any = None,
                  where: str = "prompts", allow_empty: bool = False) -> Prompts:
    """Prompts from wire values; InvalidParamsError names what is malformed."""
    parsed_box = None
    if box is not None:
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise InvalidParamsError(f"{where}.box must be [x0, y0, x1, y1]",
                                     detail={"param": f"{where}.box"})
        parsed_box = tuple(_number(v, f"{where}.box") for v in box)
        if not (parsed_box[0] < parsed_box[2] and parsed_box[1] < parsed_box[3]):
            raise InvalidParamsError(f"{where}.box {list(box)} must have x0 < x1 and y0 < y1",
                                     detail={"param": f"{where}.box"})
    prompts = Prompts(_points(include, f"{where}.include"), _points(exclude, f"{where}.exclude"),
                      parsed_box)  # type: ignore[arg-type]
    if prompts.empty and not allow_empty:
        raise InvalidParamsError(f"{where} needs at least one include click or a box",
                                 detail={"param": where})
    return prompts


def parse_mask(item: dict[str, Any], where: str) -> KeyMask | None:
    """A keyframe's ``mask`` (a path) or ``mask_png`` (bytes); None when it has neither."""
    path, png = item.get("mask"), item.get("mask_png")
    if path is not None and png is not None:
        raise InvalidParamsError(f"{where}: give mask or mask_png, not both",
                                 detail={"param": where})
    if path is not None:
        if not isinstance(path, str) or not path.strip():
            raise InvalidParamsError(f"{where}.mask must be the path of an image file, got "
                                     f"{path!r}", detail={"param": f"{where}.mask"})
        return KeyMask(path=path)
    if png is not None:
        if not isinstance(png, (bytes, bytearray)) or not png:
            raise InvalidParamsError(f"{where}.mask_png must be PNG bytes",
                                     detail={"param": f"{where}.mask_png"})
        if len(png) > MAX_MASK_PNG_BYTES:
            raise InvalidParamsError(f"{where}.mask_png is {len(png)} bytes; the limit is "
                                     f"{MAX_MASK_PNG_BYTES}: pass the file's path as mask "
                                     "instead", detail={"param": f"{where}.mask_png",
                                                        "limit": MAX_MASK_PNG_BYTES})
        return KeyMask(png=bytes(png))
    return None


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParamsError(f"{where} must be an integer, got {value!r}", detail={"param": where})
    return value


def parse_keyframes(raw: Sequence[Any], param: str = "keyframes") -> list[Keyframe]:
    """Keyframes from wire maps, sorted by object then frame; one per (object, frame)."""
    if not raw:
        raise InvalidParamsError(f"{param} must list at least one keyframe", detail={"param": param})
    out: dict[tuple[int, int], Keyframe] = {}
    for i, item in enumerate(raw):
        where = f"{param}[{i}]"
        if not isinstance(item, dict):
            raise InvalidParamsError(f"{where} must be a map", detail={"param": where})
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise InvalidParamsError(f"{where}: unknown field {unknown[0]!r}; known: {sorted(_KEYS)}",
                                     detail={"param": where})
        if "frame" not in item:
            raise InvalidParamsError(f"{where} needs a frame", detail={"param": where})
        frame = _int(item["frame"], f"{where}.frame")
        obj = _int(item.get("object", 1), f"{where}.object")
        if obj < 0:
            raise InvalidParamsError(f"{where}.object must be 0 or more", detail={"param": where})
        mask = parse_mask(item, where)
        prompts = parse_prompts(item.get("include"), item.get("exclude"), item.get("box"), where,
                                allow_empty=mask is not None)
        if (obj, frame) in out:
            raise InvalidParamsError(f"{where}: object {obj} already has a keyframe at frame "
                                     f"{frame}; put all its clicks (and its mask) in one keyframe",
                                     detail={"param": where})
        out[(obj, frame)] = Keyframe(frame, obj, prompts, mask)
    return [out[k] for k in sorted(out)]


def check_keyframes(keyframes: Sequence[Keyframe], width: int, height: int, first: int,
                    last: int, path: str | None = None, param: str = "keyframes") -> None:
    """Before any work: every keyframe inside the media's frames, every click inside the image."""
    for kf in keyframes:
        if not first <= kf.frame <= last:
            raise FrameRangeError(f"keyframe of object {kf.object_id} at frame {kf.frame} is "
                                  f"outside the media frames {first}-{last}", path=path,
                                  detail={"param": param, "frame": kf.frame, "first": first,
                                          "last": last})
        kf.prompts.check_inside(width, height, f"{param} (object {kf.object_id}, frame {kf.frame})")


def by_object(keyframes: Sequence[Keyframe]) -> dict[int, list[Keyframe]]:
    """Keyframes grouped per object id, each list sorted by frame."""
    out: dict[int, list[Keyframe]] = {}
    for kf in sorted(keyframes, key=lambda k: (k.object_id, k.frame)):
        out.setdefault(kf.object_id, []).append(kf)
    return out
