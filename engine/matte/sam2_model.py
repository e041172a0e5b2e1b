"""Loading SAM 2.1 from the weights store, and the tensors it eats and gives back.

One code path loads every SAM 2 checkpoint, the official ones and the tiny random model the
tests build: a store folder holding ``config.json`` and ``model.safetensors`` (the layout
``save_pretrained`` writes, and the one the Hugging Face repos ``facebook/sam2.1-hiera-*``
publish), verified against the registry's or the install manifest's SHA-256 first, then
read with safetensors only (never pickle). Loaded models are shared per engine, keyed by
folder, weights hash, device and dtype.

torch and transformers are imported inside functions, so this module (and the backend table)
loads where they are absent. The processor classes of transformers need torchvision for
images; resizing and normalising a frame is simple enough to do here instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from moviola.plugin.errors import InvalidParamsError

__all__ = ["pick_device", "LoadedSam2", "load_sam2", "to_pixels",
           "points_tensor", "mask_tensor", "probabilities"]

_MEAN = np.array([0.485, 0.456, 0.406], np.float32)   # ImageNet, as SAM 2 was trained
_STD = np.array([0.229, 0.224, 0.225], np.float32)
_LOADED: dict[tuple, LoadedSam2] = {}
_LOCK = threading.Lock()




def pick_device(device: str | None = None) -> tuple[str, str]:
    """(device, dtype name): CUDA with bf16 (fp16 where bf16 is not supported), else CPU fp32."""
    import torch
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        return device, "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return device, "float32"


@dataclass
class LoadedSam2:
    """A loaded Sam2VideoModel and what using it needs."""

    model: Any                 # transformers Sam2VideoModel, eval mode
    device: str
    dtype: Any                 # torch dtype
    image_size: int            # square model input, e.g. 1024
    weights_sha256: str | None
    folder: Path


def load_sam2(folder: str | Path, weights_sha256: str | None = None, device: str | None = None,
              dtype: str | None = None) -> LoadedSam2:
    """Load (or reuse) the SAM 2 video model stored in ``folder``.

    Raises:
        InvalidParamsError: the folder lacks config.json or model.safetensors.
    """
    folder = Path(folder)
    for name in ("config.json", "model.safetensors"):
        if not (folder / name).is_file():
            raise InvalidParamsError(f"SAM 2 weights folder {folder} has no {name}",
                                     path=str(folder / name))
    import torch
    from transformers import Sam2VideoModel
    from transformers.utils import logging as hf_logging

    device, default_dtype = pick_device(device)
    dtype = dtype or default_dtype
    key = (str(folder.resolve()), weights_sha256, device, dtype)
    with _LOCK:
        if key not in _LOADED:
            hf_logging.disable_progress_bar()
            torch_dtype = getattr(torch, dtype)
            model = Sam2VideoModel.from_pretrained(str(folder), local_files_only=True,
                                                   use_safetensors=True, dtype=torch_dtype)
            # transformers wraps .to with functools.wraps, which mypy reads as unbound
            model = model.to(device).eval()  # type: ignore[arg-type]
            size = model.config.image_size
            size = int(size if isinstance(size, int) else size[0])
            _LOADED[key] = LoadedSam2(model, device, torch_dtype, size, weights_sha256, folder)
        return _LOADED[key]


def to_pixels(image: np.ndarray, loaded: LoadedSam2) -> Any:
    """8-bit RGB (any size) → the model's normalised square input, 3xSxS on its device."""
    import torch
    s = loaded.image_size
    resized = cv2.resize(image, (s, s), interpolation=cv2.INTER_LINEAR if image.shape[0] < s
                         else cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)
    chw = np.ascontiguousarray(((resized - _MEAN) / _STD).transpose(2, 0, 1))
    return torch.from_numpy(chw).to(loaded.device, loaded.dtype)


def points_tensor(prompts: Any, width: int, height: int, loaded: LoadedSam2) -> dict[str, Any]:
    """Clicks and box (working pixels) → SAM's point inputs: a box is two corner points with
    labels 2 and 3, first; include clicks are 1, exclude clicks 0; in model-input pixels."""
    import torch
    sx, sy = loaded.image_size / width, loaded.image_size / height
    coords, labels = [], []
    if prompts.box is not None:
        x0, y0, x1, y1 = prompts.box
        coords += [[x0 * sx, y0 * sy], [x1 * sx, y1 * sy]]
        labels += [2, 3]
    for label, points in ((1, prompts.include), (0, prompts.exclude)):
        for x, y in points:
            coords.append([x * sx, y * sy])
            labels.append(label)
    return {"point_coords": torch.tensor([[coords]], dtype=torch.float32, device=loaded.device),
            "point_labels": torch.tensor([[labels]], dtype=torch.int32, device=loaded.device)}


def mask_tensor(mask: np.ndarray, loaded: LoadedSam2) -> Any:
    """A soft mask (any size) → SAM's mask input: 1x1xSxS, binarised at 0.5."""
    import torch
    s = loaded.image_size
    resized = cv2.resize(mask.astype(np.float32), (s, s), interpolation=cv2.INTER_LINEAR) >= 0.5
    return torch.from_numpy(resized.astype(np.float32))[None, None].to(loaded.device, loaded.dtype)


def probabilities(pred_masks: Any, width: int, height: int) -> np.ndarray:
    """SAM's low-resolution mask logits → a soft mask (float32 0..1) at width x height."""
    import torch
    import torch.nn.functional as F
    logits = F.interpolate(pred_masks[:1, :1].float(), size=(height, width), mode="bilinear",
                           align_corners=False)
    return torch.sigmoid(logits)[0, 0].cpu().numpy().astype(np.float32)
