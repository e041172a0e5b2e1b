"""OpenCL through pyopencl: the devices this machine offers, one program per device built
once and kept, and a fixed number of device buffer sets, each with its own queue, reused
from frame to frame so one frame's transfers overlap another's kernels.

pyopencl is an optional extra (``opencl``); without it, or without any OpenCL driver, no
device is listed and every stage runs on the CPU. ``MOVIOLA_FAULT_OPENCL`` simulates the two
failures a machine can have: ``no_device`` (no driver answers) and ``build`` (the compiler
rejects the kernels: a real compile of a broken source).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..media.identity import cache_key

__all__ = ["BUFFER_SETS", "BufferSet", "KernelBuildError", "Runtime", "list_devices", "open_runtime",
           "SOURCES"]

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


KERNELS = ("gf_products", "box_rows", "box_cols", "gf_coeffs", "gf_output", "jbu", "warp",
           "temporal_blend", "quantize_u16", "quantize_u8", "mask_smooth")

# Sets of device buffers per device, each with its own command queue: two frames' device work
# in flight at once (one frame's upload beside another's kernels or download); a third caller
# waits for a set. Device memory is bounded by this many sets, whatever the number of threads.
BUFFER_SETS = 2


def _build_options(cl: Any, device: Any) -> list[str]:
    """Division and square root correctly rounded where the device offers it (a GPU's default
    may be 2.5 ulp), so kernels that follow the CPU's operations give its exact floats."""
    exact = cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT
    return ["-cl-fp32-correctly-rounded-divide-sqrt"] if device.single_fp_config & exact else []


class BufferSet:
    """One set of device buffers, the in-order queue their work runs on and its own kernel
    objects (a kernel's arguments are state, so two threads never share one). A frame's
    uploads, kernels and download are queued in order here without the host waiting, while
    another set's queue runs beside it."""

    def __init__(self, runtime: Runtime, index: int) -> None:
        cl = self.cl = runtime.cl
        self.index = index
        self.queue = cl.CommandQueue(runtime.context)
        self.kernels = {name: cl.Kernel(runtime.program, name) for name in KERNELS}
        self._buffers: dict[str, Any] = {}
        self._context = runtime.context
        self.busy = False

    def buffer(self, name: str, nbytes: int) -> Any:
        """The device buffer called ``name``, at least ``nbytes`` long: kept between frames
        and grown (never shrunk) when a frame needs more."""
        held = self._buffers.get(name)
        if held is None or held.size < nbytes:
            if held is not None:
                held.release()   # the driver keeps it until queued commands are done with it
            held = self._buffers[name] = self.cl.Buffer(
                self._context, self.cl.mem_flags.READ_WRITE, max(nbytes, 4))
        return held

    def upload(self, name: str, array: np.ndarray) -> Any:
        """``array`` copied into the buffer ``name`` without waiting: the queue runs it before
        the kernels that follow (the returned copy's event keeps ``array`` alive till then)."""
        array = np.ascontiguousarray(array)
        buf = self.buffer(name, array.nbytes)
        self.cl.enqueue_copy(self.queue, buf, array, is_blocking=False)
        return buf

    def download(self, buf: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """The buffer's first values as an array, once the queue's work before it is done.
        Waiting on the event releases the interpreter, so other threads' frames go on."""
        out = np.empty(shape, dtype)
        self.download_into(buf, out).wait()
        return out

    def download_into(self, buf: Any, out: np.ndarray) -> Any:
        """Queue the copy of the buffer into ``out`` (C-contiguous) without waiting; the
        event says when ``out`` holds it."""
        return self.cl.enqueue_copy(self.queue, out, buf, is_blocking=False)

    def run(self, kernel: str, size: tuple[int, ...], *args: Any) -> None:
        self.kernels[kernel](self.queue, size, None, *args)

    @property
    def held_bytes(self) -> int:
        return sum(int(b.size) for b in self._buffers.values())


class Runtime:
    """One device's context and built program, and up to ``sets`` :class:`BufferSet` objects,
    made when first needed and reused from frame to frame. A stage takes a set for its whole
    run (:meth:`buffers`): the lowest free one, so one thread at a time only fills the first."""

    def __init__(self, entry: dict[str, Any], platform: Any, device: Any,
                 sets: int = BUFFER_SETS) -> None:
        import pyopencl as cl
        self.cl = cl
        self.entry = entry
        self.device = device
        self.context = cl.Context([device])
        self.sets = sets
        self._sets: list[BufferSet] = []
        self._free = threading.Condition()
        options = _build_options(cl, device)
        # With it, kernels that keep the CPU's order of operations give its exact floats.
        self.exact_division = bool(options)
        try:
            self.program = cl.Program(self.context, _source()).build(options=options)
        except Exception as exc:  # cl.RuntimeError carries the compiler's log
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise KernelBuildError(f"OpenCL kernels failed to build on {entry['name']}: "
                                   f"{first_line}") from exc

    @contextmanager
    def buffers(self) -> Iterator[BufferSet]:
        """A set of buffers and its queue for one stage's run, waiting while all
        :attr:`sets` are taken. ``sets`` may be lowered at any time (1: no two frames overlap)."""
        with self._free:
            while True:
                held = self._sets[:self.sets]
                chosen = next((s for s in held if not s.busy), None)
                if chosen is None and len(self._sets) < self.sets:
                    chosen = BufferSet(self, len(self._sets))
                    self._sets.append(chosen)
                if chosen is not None:
                    break
                self._free.wait()
            chosen.busy = True
        try:
            yield chosen
        except BaseException:
            chosen.queue.finish()   # nothing of a failed frame runs into the next user's
            raise
        finally:
            with self._free:
                chosen.busy = False
                self._free.notify()

    @property
    def held_bytes(self) -> int:
        return sum(s.held_bytes for s in self._sets)

    @property
    def set_count(self) -> int:
        """Buffer sets made so far (never more than :attr:`sets` was)."""
        return len(self._sets)


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
