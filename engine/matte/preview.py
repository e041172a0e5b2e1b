"""The interactive loop: prompts on one frame → that frame's mask, fast enough to feel live.

What repeated clicks on one frame share is kept per engine in a small LRU
(:class:`FrameStates`): the decoded plate, its working-resolution image and the backends'
per-frame state (e.g. an image embedding), keyed by (media, modification time, frame,
working size). Open readers are kept too, so a click on a new frame of the same clip does
not probe the media again. The mask comes back as PNG bytes at full resolution.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from moviola.plugin.errors import FrameRangeError, InvalidParamsError

from ..media.open_readers import OPEN_READERS, media_stamp
from .backend import MatteBackend
from .frames import to_working
from .key_masks import fit_keyframe_masks, mask_alpha, mask_keyframe
from .prompts import Keyframe, Prompts
from .refine import refine_alpha

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["FrameState", "FrameStates", "FRAME_STATES", "preview_mask", "decode_mask_png",
           "encode_mask_png"]


@dataclass
class FrameState:
    """One decoded frame and what backends computed from it."""

    plate: np.ndarray
    working: np.ndarray
    backend_states: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return int(self.plate.nbytes + self.working.nbytes)


class FrameStates:
    """A thread-safe LRU of :class:`FrameState`, bounded by count and by bytes."""

    def __init__(self, capacity: int = 8, max_bytes: int = 1 << 30) -> None:
        self.capacity, self.max_bytes = capacity, max_bytes
        self._items: OrderedDict[tuple, FrameState] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, make: Callable[[], FrameState]) -> tuple[FrameState, bool]:
        """The state for ``key`` and whether it was cached; ``make()`` builds a missing one."""
        with self._lock:
            state = self._items.get(key)
            if state is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return state, True
            self.misses += 1
        state = make()  # outside the lock: decoding must not block other frames' clicks
        with self._lock:
            self._items[key] = state
            self._items.move_to_end(key)
            while len(self._items) > self.capacity or (
                    len(self._items) > 1 and sum(s.nbytes for s in self._items.values()) > self.max_bytes):
                self._items.popitem(last=False)
        return state, False

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


FRAME_STATES = FrameStates()


def decode_mask_png(data: bytes, width: int, height: int) -> np.ndarray:
    """A mask sent as PNG (8 or 16-bit, grey or with alpha: the last channel) → HxW float32."""
    a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise InvalidParamsError("previous_mask is not a readable PNG image",
                                 detail={"param": "previous_mask"})
    if a.ndim == 3:
        a = a[..., -1] if a.shape[2] in (2, 4) else a[..., 0]
    scale = 65535.0 if a.dtype == np.uint16 else 255.0
    mask: np.ndarray = a.astype(np.float32) / scale
    if mask.shape != (height, width):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return mask


def encode_mask_png(alpha: np.ndarray) -> bytes:
    """8-bit grey PNG of a soft mask (fast compression: this is a preview)."""
    ok, buf = cv2.imencode(".png", np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8),
                           [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("cannot encode the mask as PNG")
    return buf.tobytes()


def bbox(alpha: np.ndarray, threshold: float = 0.01) -> list[int] | None:
    """[x0, y0, x1, y1] (end exclusive) of the pixels above ``threshold``; None if none."""
    ys = np.flatnonzero((alpha > threshold).any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero((alpha > threshold).any(axis=0))
    return [int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1]


def preview_mask(media_path: str, frame: int, prompts: Prompts, backend: MatteBackend,
                 previous_png: bytes | None = None,
                 states: FrameStates = FRAME_STATES,
                 keyframe: Keyframe | None = None,
                 stages: OpenCLStages | None = None) -> dict[str, Any]:
    """Segment one frame from prompts (full-resolution pixels); PNG mask + box + timings.
    ``keyframe``: the frame given as a mask (read, :mod:`.key_masks`): shown as it is, or
    refined by the prompts. ``stages``: the OpenCL device refining the edge (None: the CPU)."""
    t0 = time.perf_counter()
    stamp = media_stamp(media_path)
    reader, lock = OPEN_READERS.get(media_path, stamp)
    info = reader.info
    # Bad input is refused before any decoding or segmenting.
    if not reader.first_frame <= frame <= reader.last_frame:
        raise FrameRangeError(f"frame {frame} is outside the media frames "
                              f"{reader.first_frame}-{reader.last_frame}", path=media_path,
                              detail={"param": "frame", "frame": frame,
                                      "first": reader.first_frame, "last": reader.last_frame})
    prompts.check_inside(info.width, info.height, "prompts")
    notes: list[str] = []
    if keyframe is not None:
        (keyframe,), notes = fit_keyframe_masks([keyframe], info.width, info.height, "mask")
    key = (media_path, stamp, int(frame), backend.working_size)

    def make() -> FrameState:
        with lock:
            plate = reader.read(frame)
        return FrameState(plate, to_working(plate, backend.working_size))

    state, cached = states.get(key, make)
    t1 = time.perf_counter()
    height, width = state.plate.shape[:2]
    wh, ww = state.working.shape[:2]
    backend_key = backend.config_key()
    if backend_key not in state.backend_states:
        state.backend_states[backend_key] = backend.frame_state(state.working)
    previous = None
    if previous_png is not None:
        previous = decode_mask_png(previous_png, ww, wh)
    if keyframe is not None and keyframe.mask is not None and not prompts.given:
        alpha = mask_alpha(keyframe, "mask")   # the artist's own matte, as the job writes it
        t2 = time.perf_counter()
    else:
        soft = (mask_keyframe(backend, state.working, keyframe, (width, height))
                if keyframe is not None and keyframe.mask is not None else
                backend.segment(state.working, prompts.scaled(ww / width, wh / height), previous,
                                state.backend_states[backend_key]))
        t2 = time.perf_counter()
        alpha = refine_alpha(soft, state.plate, stages=stages)
    t3 = time.perf_counter()
    png = encode_mask_png(alpha)
    t4 = time.perf_counter()
    ms = lambda a, b: round((b - a) * 1000.0, 2)  # noqa: E731
    return {"frame": int(frame), "width": width, "height": height, "mask_png": png,
            "bbox": bbox(alpha), "coverage": round(float(alpha.mean()), 6),
            "cached_frame": cached, "backend": backend.describe(), "problems": notes,
            "timings": {"decode_ms": ms(t0, t1), "segment_ms": ms(t1, t2),
                        "refine_ms": ms(t2, t3), "encode_ms": ms(t3, t4), "total_ms": ms(t0, t4)}}
