"""A matte's mask keyframes on the farm: the masks travel like the media, and a task's key
holds their content.

- A mask file (a keyframe's ``mask``) is stored in the plan relative to the input root, like
  every media path, so the farm's mapping of ``InputRoot`` moves it with the media. A mask
  outside the input root is refused at export, naming the clip and the keyframe.
- Inline bytes (``mask_png``; in a prompts file ``{"$bin": "<base64>"}``, as the WebSocket
  gateway writes bytes) go into the bundle as ``masks/<sha256>.png``, and the plan names that
  file. The bundle's ``MaskRoot`` parameter (a directory, data flow IN, present only when a
  plan has such masks) is that folder as the farm maps it; a worker checks each file against
  the hash in its name.
- A task's key holds each mask's SHA-256 (of the file's bytes), not its path: an edited roto
  re-runs its task, a moved or renamed one does not.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import os
import posixpath
from collections.abc import Iterator
from typing import Any

from moviola.engine.matte.prompts import parse_mask
from moviola.plugin.errors import InvalidParamsError, MediaNotFoundError

__all__ = ["MASKS_FOLDER", "from_prompts_file", "mask_paths", "portable_masks", "inline_masks",
           "local_masks", "mask_key_params"]

#: The bundle's folder of inline masks (and the default value of ``MaskRoot``).
MASKS_FOLDER = "masks"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BIN = "$bin"


def _keyframes(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The keyframe maps of one clip's parameters (anything else is left to the job's check)."""
    raw = params.get("keyframes")
    return [kf for kf in raw if isinstance(kf, dict)] if isinstance(raw, list) else []


def _where(clip: str, index: int) -> str:
    return f"clip {clip!r}: keyframes[{index}]"


def _each(per_clip: dict[str, dict[str, Any]]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(clip, index, keyframe map) for every keyframe of every clip."""
    for clip, params in per_clip.items():
        for index, kf in enumerate(_keyframes(params)):
            yield clip, index, kf


def from_prompts_file(per_clip: dict[str, dict[str, Any]], base_dir: str
                      ) -> dict[str, dict[str, Any]]:
    """A prompts file's clips as the job takes them: a relative ``mask`` is relative to the
    file's folder, made absolute; ``mask_png`` written ``{"$bin": "<base64>"}`` becomes bytes,
    checked (PNG, within the engine's size limit)."""
    out = copy.deepcopy(per_clip)
    for clip, index, kf in _each(out):
        if isinstance(kf.get("mask"), str) and kf["mask"]:
            kf["mask"] = os.path.normpath(os.path.join(base_dir, os.path.expanduser(kf["mask"])))
        if "mask_png" in kf:
            kf["mask_png"] = _decode_bin(kf["mask_png"], f"{_where(clip, index)}.mask_png")
        parse_mask(kf, _where(clip, index))   # both given, empty, too large: refused now
        if isinstance(kf.get("mask_png"), bytes) and not kf["mask_png"].startswith(_PNG_SIGNATURE):
            raise InvalidParamsError(f"{_where(clip, index)}.mask_png is not a PNG image",
                                     detail={"param": "prompts", "clip": clip})
    return out


def _decode_bin(value: Any, where: str) -> bytes:
    if isinstance(value, dict) and set(value) == {_BIN} and isinstance(value[_BIN], str):
        try:
            return base64.b64decode(value[_BIN], validate=True)
        except (binascii.Error, ValueError):
            pass
    raise InvalidParamsError(f"{where} in a prompts file is written {{\"$bin\": \"<base64 of the "
                             f"PNG>\"}}", detail={"param": "prompts"})


def mask_paths(per_clip: dict[str, dict[str, Any]]) -> list[str]:
    """The absolute paths of every mask file the clips name (for the default input root)."""
    return [os.path.abspath(kf["mask"]) for _, _, kf in _each(per_clip)
            if isinstance(kf.get("mask"), str) and kf["mask"]]


def portable_masks(per_clip: dict[str, dict[str, Any]], input_root: str
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
    """The clips as the plan stores them: each mask file relative to ``input_root`` (POSIX
    separators), each inline mask the name of the bundle file that will hold it; and those
    files' bytes by name.

    Raises:
        InvalidParamsError: a mask file outside the input root (the farm maps nothing else).
    """
    root = os.path.abspath(input_root)
    out, files = copy.deepcopy(per_clip), {}
    for clip, index, kf in _each(out):
        if isinstance(kf.get("mask"), str) and kf["mask"]:
            path = os.path.abspath(kf["mask"])
            rel = os.path.relpath(path, root)
            if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
                raise InvalidParamsError(
                    f"{_where(clip, index)}: the mask {path} is outside the input root {root}, "
                    f"the only folder the farm maps for the workers: give --input-root a folder "
                    f"that holds the media and the masks, or pass the mask inline (mask_png)",
                    path=path, detail={"param": "prompts", "clip": clip, "input_root": root})
            kf["mask"] = rel.replace(os.sep, "/")
        elif isinstance(kf.get("mask_png"), (bytes, bytearray)):
            name = f"{hashlib.sha256(kf['mask_png']).hexdigest()}.png"
            files[name] = bytes(kf["mask_png"])
            kf["mask_png"] = name
    return out, files


def inline_masks(per_clip: dict[str, dict[str, Any]]) -> list[str]:
    """The bundle files a plan's inline masks are in, by name (none: no ``MaskRoot``)."""
    return sorted({kf["mask_png"] for _, _, kf in _each(per_clip) if isinstance(kf.get("mask_png"), str)})


def local_masks(params: dict[str, Any], clip: str, input_root: str,
                mask_root: str | None) -> dict[str, Any]:
    """One clip's stored parameters as this machine's job takes them: each mask file joined
    onto the input root, each inline mask read back from the mask root as bytes.

    Raises:
        InvalidParamsError: the plan has inline masks and no mask root was given, or a file
            there is not the one the plan names (its content's hash is not its name).
        MediaNotFoundError: an inline mask's file is missing.
    """
    out = copy.deepcopy(params)
    root = os.path.abspath(input_root)
    for index, kf in enumerate(_keyframes(out)):
        mask = kf.get("mask")
        if isinstance(mask, str) and mask and not posixpath.isabs(mask) and not os.path.isabs(mask):
            kf["mask"] = os.path.join(root, *mask.split("/"))
        name = kf.get("mask_png")
        if isinstance(name, str):
            kf["mask_png"] = _read_inline(name, f"{_where(clip, index)}.mask_png", mask_root, clip)
    return out


def _read_inline(name: str, where: str, mask_root: str | None, clip: str) -> bytes:
    if mask_root is None:
        raise InvalidParamsError(f"{where}: the plan carries inline masks in the bundle's "
                                 f"{MASKS_FOLDER} folder: give --mask-root (the MaskRoot "
                                 f"parameter)", detail={"param": "mask_root", "clip": clip})
    if os.path.basename(name) != name or not name.endswith(".png"):
        raise InvalidParamsError(f"{where}: {name!r} is not a mask file name of a plan",
                                 detail={"param": "plan", "clip": clip})
    path = os.path.join(os.path.abspath(mask_root), name)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise MediaNotFoundError(f"{where}: {name} is not in the mask root", path=path,
                                 detail={"clip": clip}) from None
    except OSError as exc:
        raise MediaNotFoundError(f"{where}: cannot read {name}: {exc.strerror}", path=path,
                                 detail={"clip": clip}) from None
    if f"{hashlib.sha256(data).hexdigest()}.png" != name:
        raise InvalidParamsError(f"{where}: {path} is not the mask the plan names (its content "
                                 f"changed)", path=path, detail={"param": "mask_root", "clip": clip})
    return data


def _file_sha256(path: str, where: str, clip: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise MediaNotFoundError(f"{where}: cannot read the mask: {exc.strerror}", path=path,
                                 detail={"clip": clip}) from None
    return digest.hexdigest()


def mask_key_params(params: dict[str, Any], clip: str) -> dict[str, Any]:
    """``params`` (this machine's, see :func:`local_masks`) for a task's key: each mask, file
    or bytes, replaced by the SHA-256 of its content, so the key follows the content only.

    Raises:
        MediaNotFoundError: a mask file is missing or unreadable (naming the clip).
    """
    out = copy.deepcopy(params)
    for index, kf in enumerate(_keyframes(out)):
        if isinstance(kf.get("mask"), str) and kf["mask"]:
            kf["mask_sha256"] = _file_sha256(kf.pop("mask"), _where(clip, index), clip)
        elif isinstance(kf.get("mask_png"), (bytes, bytearray)):
            kf["mask_sha256"] = hashlib.sha256(kf.pop("mask_png")).hexdigest()
    return out
