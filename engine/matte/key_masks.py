"""Keyframes given as a mask: an existing roto or matte for one frame, read, checked and used.

A mask comes as a file (PNG, EXR, TIFF... anything OpenImageIO reads; it is an input and is
never written) or as inline PNG bytes (``mask_png``, for remote clients). Its alpha is the
image's alpha channel when it has one (2 or 4 channels: the last), else its first channel;
8-bit, 16-bit and float samples become 0..1 (floats clipped, NaN as 0). The soft values are
kept: the keyframe's own output frame is the mask itself, at the plate's full resolution; the
walks start from it at the working resolution, where trackers cut it at 0.5.

Checked before any work: a missing, unreadable or empty mask (no pixel at 0.5 or more) is a
typed error naming the file (:func:`load_keyframe_masks`, run in the job's check too), and so
is a mask whose size does not fit the plate (:func:`fit_keyframe_masks`). A mask of the
plate at another scale (a proxy-resolution roto) is scaled to the plate, and the job's
result says so in its problems. Pixels are not held for the whole job (a job may have many
mask keyframes): they are read again where they are used (:func:`mask_alpha`), and checked
against the hash the cache keys were made from.

Clicks on the same frame refine the mask (:func:`mask_keyframe`): the backend segments the
frame with the mask as its starting guess, and the clicks override the mask only where they
point: the region the refined cut gives around an include click is added, the region of the
mask around an exclude click that the cut drops is removed; the rest of the mask is kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

from moviola.plugin.errors import InvalidParamsError, MediaDecodeError

from ..media.identity import content_hash
from ..media.input_files import require_regular_file
from ..media.sequence import read_image
from .backend import MatteBackend
from .prompts import Keyframe, KeyMask, Prompts

__all__ = ["alpha_of", "read_key_mask", "mask_alpha", "load_keyframe_masks",
           "fit_keyframe_masks", "same_aspect", "mask_keyframe", "override_with_clicks"]


def same_aspect(w: int, h: int, width: int, height: int) -> bool:
    """Whether a ``w`` x ``h`` mask is the ``width`` x ``height`` plate at another scale (a
    960x540 roto of a 1920x1080 plate): scaled to the plate's width, its height is off by at
    most one of its own pixels (the rounding of a proxy's size). 1920x1088 is not 1920x1080."""
    scale = width / w
    return abs(h * scale - height) <= max(1.0, scale)


def alpha_of(image: np.ndarray) -> np.ndarray:
    """HxW float32 0..1: the alpha of an HxWxC image as read (see the module docstring)."""
    a = image if image.ndim == 2 else (image[..., -1] if image.shape[2] in (2, 4) else image[..., 0])
    if a.dtype == np.uint8:
        return a.astype(np.float32) * (1.0 / 255.0)
    if a.dtype == np.uint16:
        return a.astype(np.float32) * (1.0 / 65535.0)
    return np.clip(np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def _describe(kf: Keyframe) -> str:
    return f"keyframe mask of object {kf.object_id} at frame {kf.frame}"


def _decode(kf: Keyframe, param: str) -> np.ndarray:
    """The keyframe's mask as HxW float32 0..1, at its own size, checked not empty."""
    ref = kf.mask
    assert ref is not None
    what = _describe(kf)
    detail = {"param": param, "object": kf.object_id, "frame": kf.frame}
    if ref.png is not None:
        decoded = cv2.imdecode(np.frombuffer(ref.png, np.uint8), cv2.IMREAD_UNCHANGED)
        if decoded is None:
            raise InvalidParamsError(f"{what}: mask_png is not a readable PNG image", detail=detail)
        if decoded.ndim == 3 and decoded.shape[2] == 3:   # OpenCV reads BGR: first is red
            decoded = decoded[..., ::-1]
        alpha = alpha_of(decoded)
    else:
        assert ref.path is not None
        require_regular_file(ref.path, what)
        try:
            alpha = alpha_of(read_image(ref.path))
        except MediaDecodeError as exc:
            raise MediaDecodeError(f"{what}: {exc.message}", path=exc.path,
                                   detail={**exc.detail, **detail}) from None
    if alpha.size == 0 or not (alpha >= 0.5).any():
        raise InvalidParamsError(f"{what} {ref.source} is empty: no pixel is 0.5 or more",
                                 path=ref.path, detail=detail)
    return alpha


def _digest(alpha: np.ndarray) -> str:
    return content_hash(f"{alpha.shape}".encode(), np.ascontiguousarray(alpha).tobytes())[:32]


def read_key_mask(kf: Keyframe, param: str = "keyframes") -> KeyMask:
    """The keyframe's mask checked, with its content hash and size. Its pixels are not kept
    (a job may have many mask keyframes): :func:`mask_alpha` reads them where they are used.

    Raises:
        MediaNotFoundError: the mask file does not exist.
        MediaDecodeError: it is not a regular file, or not a readable image.
        InvalidParamsError: the mask is empty (no pixel at 0.5 or more), or ``mask_png`` is
            not a PNG.
    """
    assert kf.mask is not None
    alpha = _decode(kf, param)
    return dataclasses.replace(kf.mask, sha256=_digest(alpha),
                               size=(alpha.shape[1], alpha.shape[0]))


def mask_alpha(kf: Keyframe, param: str = "keyframes") -> np.ndarray:
    """The pixels of a read keyframe mask (:func:`read_key_mask`), at the plate's size once
    fitted (:func:`fit_keyframe_masks`).

    Raises:
        InvalidParamsError: the file changed since it was read: the cache keys would not
            describe what is used.
    """
    ref = kf.mask
    assert ref is not None and ref.sha256 is not None
    alpha = _decode(kf, param)
    if _digest(alpha) != ref.sha256:
        raise InvalidParamsError(f"{_describe(kf)} {ref.source} changed while the job ran; "
                                 "run it again", path=ref.path, detail={"param": param})
    if ref.plate is not None and (alpha.shape[1], alpha.shape[0]) != ref.plate:
        shrink = alpha.shape[1] > ref.plate[0]
        alpha = cv2.resize(alpha, ref.plate, interpolation=cv2.INTER_AREA if shrink
                           else cv2.INTER_LINEAR)
    return alpha


def load_keyframe_masks(keyframes: Sequence[Keyframe], param: str = "keyframes") -> list[Keyframe]:
    """The keyframes with every mask read (see :func:`read_key_mask`); others as they are."""
    out = []
    for kf in keyframes:
        out.append(kf if kf.mask is None else dataclasses.replace(kf, mask=read_key_mask(kf, param)))
    return out


def fit_keyframe_masks(keyframes: Sequence[Keyframe], width: int, height: int,
                       param: str = "keyframes") -> tuple[list[Keyframe], list[str]]:
    """Every read mask set to the plate's ``width`` x ``height``, and a note for each one
    that will be scaled.

    Raises:
        InvalidParamsError: a mask is not the plate at some scale (naming the file and both
            sizes).
    """
    out, notes = [], []
    for kf in keyframes:
        ref = kf.mask
        if ref is None or ref.size is None:
            out.append(kf)
            continue
        w, h = ref.size
        if (w, h) != (width, height):
            if not same_aspect(w, h, width, height):
                raise InvalidParamsError(
                    f"{_describe(kf)} {ref.source} is {w}x{h}, the plate is {width}x{height}: "
                    "it must have the plate's size (or be the plate at another scale)",
                    path=ref.path, detail={"param": param, "mask_size": [w, h],
                                           "plate_size": [width, height]})
            notes.append(f"{_describe(kf)} {ref.source} is {w}x{h}: scaled to the plate's "
                         f"{width}x{height}")
        out.append(dataclasses.replace(kf, mask=dataclasses.replace(ref, plate=(width, height))))
    return out, notes


def override_with_clicks(mask: np.ndarray, refined: np.ndarray, prompts: Prompts) -> np.ndarray:
    """``mask`` changed only where clicks point (all in the same pixels, 0..1 masks).

    Around an include click, the connected part of ``refined`` holding it is added; around an
    exclude click, the connected part of the mask that ``refined`` drops is removed.
    """
    out = mask.astype(np.float32).copy()
    h, w = out.shape
    cut, kept = refined >= 0.5, mask >= 0.5

    def part(region: np.ndarray, x: float, y: float) -> np.ndarray | None:
        xi, yi = min(max(int(x), 0), w - 1), min(max(int(y), 0), h - 1)
        if not region[yi, xi]:
            return None
        _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
        return labels == labels[yi, xi]

    for x, y in prompts.include:
        added = part(cut, x, y)
        if added is not None:
            out[added] = np.maximum(out[added], refined[added])
    for x, y in prompts.exclude:
        dropped = part(kept & ~cut, x, y)
        if dropped is not None:
            out[dropped] = np.minimum(out[dropped], refined[dropped])
    if prompts.box is not None:   # a box bounds the object: nothing of the mask outside it
        x0, y0, x1, y1 = (int(round(v)) for v in prompts.box)
        inside = np.zeros_like(kept)
        inside[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
        out[~inside] = 0.0
    return out


def mask_keyframe(backend: MatteBackend, image: np.ndarray, kf: Keyframe,
                  full_size: tuple[int, int], alpha: np.ndarray | None = None) -> np.ndarray:
    """The working-resolution mask of a keyframe given as a mask (read and fitted), refined
    by its clicks when it has any. ``alpha``: its pixels when already at hand."""
    h, w = image.shape[:2]
    mask = mask_alpha(kf) if alpha is None else alpha
    if mask.shape != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA)
    if not kf.prompts.given:
        return mask
    prompts = kf.prompts.scaled(w / full_size[0], h / full_size[1])
    refined = backend.segment(image, prompts, previous=mask).astype(np.float32)
    return override_with_clicks(mask, refined, prompts)
