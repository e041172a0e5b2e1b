"""SAM 2.1 (Apache-2.0) for clicks and propagation, through transformers' ``Sam2VideoModel``.

- Clicks/box on a frame → one conditioning frame in a fresh inference session; the frame's
  image features are computed once and kept in :meth:`Sam2Backend.frame_state`, so repeated
  clicks on that frame only run the prompt encoder and mask decoder.
- A walk (:class:`Sam2Tracker`) streams frames into a session that starts from the
  keyframe's mask. transformers' session keeps every frame and every frame's memory it has
  seen; the tracker drops what SAM 2 can no longer use (frames before the current one,
  memories older than the memory bank and the object-pointer window), so memory stays
  bounded however long the clip. A backward walk feeds frames in walking order, which is
  what SAM 2's reverse tracking does too.
- A keyframe given as a mask (:mod:`.key_masks`) is SAM 2's mask prompt: the walk's session
  starts from it (``add_mask_inputs``), as from any keyframe mask. transformers' video model
  takes clicks or a mask on a frame, never both (the mask is then its output as it is), so
  clicks refining a mask are segmented with the mask's extent as their box
  (:meth:`Sam2Backend.segment` with ``previous``), and only the parts they point at change.
- The heavy image encoder can run as a TensorRT engine (:mod:`.tensorrt`) where TensorRT
  and CUDA are present.

Weights come from the store (``<weights_dir>/<model>/``), verified before loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..devices import missing_packages
from ..models.registry import ModelRegistry
from ..models.store import WeightsError, WeightsStore, install_command
from .backend import MatteBackend, Tracker
from .prompts import Prompts
from .sam2_model import LoadedSam2, load_sam2, mask_tensor, points_tensor, probabilities, to_pixels

__all__ = ["Sam2Backend", "Sam2Tracker", "DEFAULT_MODEL"]

DEFAULT_MODEL = "sam2.1-hiera-tiny"
OBJECT = 1  # every session here tracks one object; objects are separate walks


def _new_session(loaded: LoadedSam2) -> Any:
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession
    return Sam2VideoInferenceSession(inference_device=loaded.device,
                                     inference_state_device=loaded.device,
                                     video_storage_device=loaded.device, dtype=loaded.dtype)


class Sam2Tracker(Tracker):
    """Streams frames through one SAM 2 session started from a keyframe mask."""

    def __init__(self, loaded: LoadedSam2, image: np.ndarray, mask: np.ndarray) -> None:
        import torch
        self.loaded = loaded
        self.session = _new_session(loaded)
        obj = self.session.obj_id_to_idx(OBJECT)
        self.session.add_mask_inputs(obj, 0, mask_tensor(mask, loaded))
        self.session.obj_with_new_inputs = [OBJECT]
        with torch.inference_mode():
            loaded.model(inference_session=self.session, frame=to_pixels(image, loaded))
        cfg = loaded.model.config
        # Past frames SAM 2 still reads: the memory bank and the object-pointer window.
        self.keep = max(int(cfg.num_maskmem), int(cfg.max_object_pointers_in_encoder))

    def step(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray) -> np.ndarray:
        import torch
        with torch.inference_mode():
            out = self.loaded.model(inference_session=self.session,
                                    frame=to_pixels(image, self.loaded))
        self._forget(int(out.frame_idx))
        h, w = image.shape[:2]
        return probabilities(out.pred_masks, w, h)

    def _forget(self, current: int) -> None:
        """Drop frames and memories SAM 2 will not read again (bounded memory)."""
        s = self.session
        for n in [n for n in s.processed_frames if n != current]:
            del s.processed_frames[n]
        oldest = current - self.keep
        for obj in s.output_dict_per_obj.values():
            old = [n for n in obj["non_cond_frame_outputs"] if n < oldest]
            for n in old:
                del obj["non_cond_frame_outputs"][n]
        for tracked in s.frames_tracked_per_obj.values():
            for n in [n for n in tracked if n < oldest]:
                del tracked[n]

    def frames_held(self) -> int:
        """Frames and memories the session holds (tests check it stays bounded)."""
        s = self.session
        return len(s.processed_frames) + sum(len(o["non_cond_frame_outputs"])
                                             for o in s.output_dict_per_obj.values())

    def close(self) -> None:
        self.session.reset_inference_session()
        self.session.processed_frames = None


def _extent(mask: np.ndarray, prompts: Prompts) -> tuple[float, float, float, float] | None:
    """A box around the mask and the include clicks, with a margin of 2 % of the diagonal."""
    h, w = mask.shape[:2]
    ys, xs = np.nonzero(mask >= 0.5)
    px = [float(x) for x, _ in prompts.include] + ([float(xs.min()), float(xs.max() + 1)] if xs.size else [])
    py = [float(y) for _, y in prompts.include] + ([float(ys.min()), float(ys.max() + 1)] if ys.size else [])
    if not px:
        return None
    pad = 0.02 * float(np.hypot(h, w))
    return (max(0.0, min(px) - pad), max(0.0, min(py) - pad), min(float(w), max(px) + pad),
            min(float(h), max(py) + pad))


class Sam2Backend(MatteBackend):
    """SAM 2.1 clicks and propagation; model weights from the weights store."""

    NAME = "sam2"
    USES_MODEL = True
    TEMPORAL_BLEND = 0.8   # SAM 2 is steadier than graph cuts: lean on its own estimate

    DEFAULT_WORKING_SIZE = 1024

    def __init__(self, working_size: int | None = None, model: str = DEFAULT_MODEL,
                 store: WeightsStore | None = None, registry: ModelRegistry | None = None,
                 device: str | None = None, accelerator: Any = "auto") -> None:
        if store is None or registry is None:
            raise WeightsError(f"the {self.NAME} backend needs the engine's weights store and "
                               f"model registry")
        self.spec = registry.get(model)
        self.store = store
        hashes = self.store.verify(self.spec)   # WeightsError when missing or tampered
        self.loaded = load_sam2(self.store.folder(self.spec), hashes.get("model.safetensors"),
                                device)
        # Frames reach the model at its own input size: a smaller working size only blurs.
        super().__init__(self.loaded.image_size if working_size is None else working_size)
        self.accelerator = None
        if accelerator == "auto":
            from .tensorrt import TensorRTAccelerator
            accelerator = TensorRTAccelerator.default() if TensorRTAccelerator.usable() else None
        if accelerator is not None:
            accelerator.accelerate_vision_encoder(self.loaded)
            self.accelerator = accelerator

    @classmethod
    def unavailable_reason(cls, model: str | None = None, store: WeightsStore | None = None,
                           registry: ModelRegistry | None = None) -> str | None:
        missing = missing_packages()
        if missing:
            return f"needs {', '.join(missing)} (pip install 'moviola[ml]')"
        model = model or DEFAULT_MODEL
        if store is None or registry is None:
            return "no weights store given"
        try:
            spec = registry.get(model)
        except Exception as exc:  # noqa: BLE001 - a broken config must not hide the reason
            return f"cannot use model {model!r}: {exc}"
        if spec.task != "matte":
            return f"model {model!r} is a {spec.task} model, not a matte model"
        if not store.installed(spec):
            return f"weights of {model} are not installed: {install_command(spec)}"
        return None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": self.spec.name, "license": self.spec.license,
                "weights_sha256": self.loaded.weights_sha256, "device": self.loaded.device,
                "dtype": str(self.loaded.dtype).replace("torch.", ""),
                "image_size": self.loaded.image_size,
                "accelerator": None if self.accelerator is None else self.accelerator.describe(),
                "temporal_blend": self.TEMPORAL_BLEND}

    def frame_state(self, image: np.ndarray) -> Any:
        """A session holding this frame; its image features are computed on the first
        prompt and reused by every later one."""
        session = _new_session(self.loaded)
        session.add_new_frame(to_pixels(image, self.loaded), 0)
        return session

    def segment(self, image: np.ndarray, prompts: Prompts, previous: np.ndarray | None = None,
                state: Any = None) -> np.ndarray:
        # SAM 2 takes clicks or a mask on a frame, not both, and the client sends every click
        # of the frame each time: ``previous`` only bounds the clicks, as a box around it.
        import torch
        if previous is not None and prompts.box is None:
            prompts = Prompts(prompts.include, prompts.exclude, _extent(previous, prompts))
        session = state if state is not None else self.frame_state(image)
        session.reset_tracking_data()   # keeps the cached image features
        h, w = image.shape[:2]
        obj = session.obj_id_to_idx(OBJECT)
        session.add_point_inputs(obj, 0, points_tensor(prompts, w, h, self.loaded))
        session.obj_with_new_inputs = [OBJECT]
        with torch.inference_mode():
            out = self.loaded.model(inference_session=session, frame_idx=0)
        return probabilities(out.pred_masks, w, h)

    def tracker(self, image: np.ndarray, mask: np.ndarray,
                keyframe: tuple[np.ndarray, np.ndarray] | None = None) -> Tracker:
        return Sam2Tracker(self.loaded, image, mask)
