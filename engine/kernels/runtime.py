"""OpenCL through pyopencl: the devices this machine offers, one program per device built
once and kept, and device buffers reused from frame to frame.

pyopencl is an optional extra (``opencl``); without it, or without any OpenCL driver, no
device is listed and every stage runs on the CPU. ``MOVIOLA_FAULT_OPENCL`` simulates the two
failures a machine can have: ``no_device`` (no driver answers) and ``build`` (the compiler
rejects the kernels: a real compile of a broken source).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..media.identity import cache_key

__all__ = ["KernelBuildError", "Runtime", "list_devices", "open_runtime", "SOURCES"]

SOURCES = ("common.cl", "guided.cl", "upsample.cl", "warp.cl", "convert.cl",
           "mask.cl")
_HERE = Path(__file__).parent
FAULT_ENV = "MOVIOLA_FAULT_OPENCL"


class KernelBuildError(RuntimeError):
    """The OpenCL compiler rejected the kernels on a device; the CPU path is used instead."""


def _pyopencl_installed() -> bool:
    try:
        return importlib.util.find_spec("pyopencl") is not None
    except (ImportError, ValueError):
        return False


def _fault() -> str:
    return os.environ.get(FAULT_ENV, "")


def _kind(cl: Any, device: Any) -> str:
    if device.type & cl.device_type.GPU:
        return "gpu"
    if device.type & cl.device_type.CPU:
        return "cpu"
    return "accelerator"


def _all_devices() -> list[tuple[Any, Any]]:
    """(platform, device) pairs, in the driver's order; empty without pyopencl or a driver."""
    if _fault() == "no_device" or not _pyopencl_installed():
        return []
    try:
        import pyopencl as cl
        return [(p, d) for p in cl.get_platforms() for d in p.get_devices()]
    except Exception:  # no ICD loader or no platform: the same as no device
        return []


def list_devices() -> list[dict[str, Any]]:
    """Every OpenCL device as ``engine status`` shows it."""
    out = []
    for index, (platform, device) in enumerate(_all_devices()):
        import pyopencl as cl
        out.append({"type": "opencl", "index": index, "name": device.name.strip(),
                    "platform": platform.name.strip(), "vendor": device.vendor.strip(),
                    "kind": _kind(cl, device), "memory_bytes": int(device.global_mem_size),
                    "version": device.version.strip()})
    return out


def _source() -> str:
    text = "\n".join((_HERE / name).read_text() for name in SOURCES)
    if _fault() == "build":
        text += "\n#error simulated kernel build failure (MOVIOLA_FAULT_OPENCL=build)\n"
    return text


class Runtime:
    """One device's context, queue and built program, and its buffers. Work on a device is
    serialised by ``lock``: one set of buffers per device keeps memory bounded whatever the
    number of threads writing frames."""

    def __init__(self, entry: dict[str, Any], platform: Any, device: Any) -> None:
        import pyopencl as cl
        self.cl = cl
        self.entry = entry
        self.device = device
        self.context = cl.Context([device])
        self.queue = cl.CommandQueue(self.context)
        self.lock = threading.Lock()
        self._buffers: dict[str, Any] = {}
        try:
            self.program = cl.Program(self.context, _source()).build()
        except Exception as exc:  # cl.RuntimeError carries the compiler's log
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise KernelBuildError(f"OpenCL kernels failed to build on {entry['name']}: "
                                   f"{first_line}") from exc
        self.kernels = {name: getattr(self.program, name) for name in (
            "gf_products", "box_rows", "box_cols", "gf_coeffs", "gf_output", "jbu", "warp",
            "temporal_blend", "quantize_u16", "quantize_u8", "mask_smooth")}

    def buffer(self, name: str, nbytes: int) -> Any:
        """The device buffer called ``name``, at least ``nbytes`` long: kept between frames
        and grown (never shrunk) when a frame needs more."""
        held = self._buffers.get(name)
        if held is None or held.size < nbytes:
            if held is not None:
                held.release()
            held = self._buffers[name] = self.cl.Buffer(
                self.context, self.cl.mem_flags.READ_WRITE, max(nbytes, 4))
        return held

    def upload(self, name: str, array: np.ndarray) -> Any:
        """``array`` copied into the buffer ``name`` without waiting: the queue runs it before
        the kernels that follow, while the host goes on preparing the next upload."""
        array = np.ascontiguousarray(array)
        buf = self.buffer(name, array.nbytes)
        self.cl.enqueue_copy(self.queue, buf, array, is_blocking=False)
        return buf

    def download(self, buf: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        out = np.empty(shape, dtype)
        self.cl.enqueue_copy(self.queue, out, buf, is_blocking=True)
        return out

    def run(self, kernel: str, size: tuple[int, ...], *args: Any) -> None:
        self.kernels[kernel](self.queue, size, None, *args)

    @property
    def held_bytes(self) -> int:
        return sum(int(b.size) for b in self._buffers.values())


_RUNTIMES: dict[str, Runtime] = {}
_OPEN_LOCK = threading.Lock()


def open_runtime(entry: dict[str, Any]) -> Runtime:
    """The runtime of the device ``entry`` (from :func:`list_devices`), built on first use and
    kept for the process: the program is compiled once per device.

    Raises:
        KernelBuildError: the device is gone or its compiler rejected the kernels.
    """
    key = cache_key("opencl", entry.get("platform"), entry.get("name"), entry.get("index"),
                    _source())
    with _OPEN_LOCK:
        if key in _RUNTIMES:
            return _RUNTIMES[key]
        pairs = _all_devices()
        index = int(entry.get("index", -1))
        if not 0 <= index < len(pairs) or pairs[index][1].name.strip() != entry.get("name"):
            raise KernelBuildError(f"OpenCL device {entry.get('name')!r} is no longer there")
        runtime = Runtime(entry, *pairs[index])
        _RUNTIMES[key] = runtime
        return runtime
