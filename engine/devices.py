"""What this machine offers the engine: CPU, CUDA GPUs, and which compute backends import.

Optional stacks (torch, TensorRT, pyopencl) are looked up without importing them. Torch is
imported to list CUDA devices with their memory only when it is installed and this machine
has an NVIDIA driver to ask (its library loads): a machine without one pays no torch import.
The engine lists devices once, before it announces itself (``Engine.prepare``).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import sys
from functools import cache, lru_cache
from typing import Any


@cache
def _installed(module: str) -> bool:
    """Whether ``module`` can be imported; asked once per process (packages installed while
    the engine runs are seen after a restart, as torch itself would be)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


# The CUDA driver library by platform; loading it runs no CUDA code (no cuInit).
_CUDA_DRIVER = {"win32": "nvcuda.dll", "darwin": ""}


def has_cuda_driver() -> bool:
    """Whether an NVIDIA CUDA driver is installed here: its library loads."""
    name = _CUDA_DRIVER.get(sys.platform, "libcuda.so.1")
    if not name:
        return False
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _cuda_devices() -> list[dict[str, Any]]:
    if not _installed("torch") or not has_cuda_driver():
        return []
    try:
        import torch
        if not torch.cuda.is_available():
            return []
        out = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            out.append({"type": "cuda", "index": index, "name": props.name,
                        "memory_bytes": int(props.total_memory),
                        "capability": f"{props.major}.{props.minor}"})
        return out
    except Exception as exc:  # a broken driver must not stop the engine
        return [{"type": "cuda", "error": f"{type(exc).__name__}: {exc}"}]


# What every neural backend (SAM 2, Depth Anything, segmentation) needs installed.
NEURAL_STACK = ("torch", "transformers", "safetensors")


def missing_packages(modules: tuple[str, ...] = NEURAL_STACK) -> list[str]:
    """The modules of ``modules`` that are not installed, found without importing them."""
    return [m for m in modules if not _installed(m)]


@lru_cache(maxsize=1)
def devices() -> list[dict[str, Any]]:
    cpu = {"type": "cpu", "name": platform.processor() or platform.machine(),
           "cores": os.cpu_count() or 1, "memory_bytes": _memory_bytes()}
    return [cpu, *_cuda_devices(), *_opencl_devices()]


def _opencl_devices() -> list[dict[str, Any]]:
    # Every OpenCL device, GPUs and CPU drivers alike (``kind`` says which); none without
    # pyopencl. Listing them loads the drivers, which runs no kernel.
    from .kernels.runtime import list_devices
    return list_devices()


@lru_cache(maxsize=1)
def backends() -> dict[str, bool]:
    """Compute backends and whether they can be used here."""
    return {
        "classical": True,  # numpy / FFmpeg code paths that need no weights
        "torch": _installed("torch"),
        "cuda": any(d.get("type") == "cuda" and "error" not in d for d in devices()),
        "tensorrt": _installed("tensorrt"),
        "opencl": any(d.get("type") == "opencl" for d in devices()),
    }
