"""Where a job's full-resolution pixel stages run: the ``device`` parameter resolved against
the devices the engine found at start.

- ``cpu``: the CPU path (numpy and OpenCV).
- ``opencl``: the first OpenCL GPU, else any OpenCL device (a CPU driver such as PoCL counts).
- ``cuda``: neural models on the CUDA GPU; the pixel stages on that GPU's OpenCL device
  (NVIDIA's platform) where one is listed, else the CPU path.
- ``auto``: an OpenCL GPU when there is one; an OpenCL driver on the CPU only adds
  transfers to the same cores, so then the CPU path.

No device, or kernels that fail to build, give the CPU path and a problem line: never a failed
job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .runtime import KernelBuildError, open_runtime
from .stages import OpenCLStages

__all__ = ["DEVICES", "DeviceChoice", "choose"]

DEVICES = ("auto", "cpu", "opencl", "cuda")


@dataclass
class DeviceChoice:
    asked: str
    stages: OpenCLStages | None       # None: the CPU path
    model_device: str                 # what neural backends are given: auto, cpu or cuda
    reason: str
    problems: list[str] = field(default_factory=list)

    @property
    def pixels(self) -> str:
        return "opencl" if self.stages is not None else "cpu"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"asked": self.asked, "pixels": self.pixels,
                               "model": self.model_device, "reason": self.reason}
        if self.stages is not None:
            out["opencl_device"] = self.stages.name
        return out


def _opencl(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in found if d.get("type") == "opencl" and "error" not in d]


def _label(entry: dict[str, Any]) -> str:
    return f"{entry['name']} ({entry.get('platform', 'OpenCL')}, {entry.get('kind', '?')})"


def choose(asked: str, found: list[dict[str, Any]]) -> DeviceChoice:
    """The stages for ``asked`` among ``found`` (``EngineView.devices``); the kernels are built
    here, once per device and process, so a build failure is known before any frame."""
    if asked not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}")
    opencl = _opencl(found)
    gpus = [d for d in opencl if d.get("kind") == "gpu"]
    model = {"cpu": "cpu", "cuda": "cuda"}.get(asked, "auto")
    if asked == "cpu":
        return DeviceChoice(asked, None, model, "asked for the CPU")
    if asked == "auto":
        if not gpus:
            why = ("no OpenCL GPU found (only " + ", ".join(_label(d) for d in opencl) +
                   "): the CPU path is faster than OpenCL on the same cores") if opencl else \
                "no OpenCL device found"
            return DeviceChoice(asked, None, model, why)
        entry, why = gpus[0], f"OpenCL GPU {_label(gpus[0])} found at start"
    elif asked == "cuda":
        nvidia = [d for d in gpus if "nvidia" in f"{d.get('platform')} {d.get('vendor')}".lower()]
        if not nvidia:
            return DeviceChoice(asked, None, model, "models on CUDA; the pixel stages on the CPU",
                                ["device cuda: no OpenCL device on NVIDIA's platform, so the "
                                 "full-resolution pixel stages ran on the CPU"])
        entry, why = nvidia[0], f"models on CUDA; pixel stages on {_label(nvidia[0])}"
    else:
        if not opencl:
            return DeviceChoice(asked, None, model, "no OpenCL device found",
                                ["device opencl: no OpenCL device found (install the "
                                 "'opencl' extra and a driver); the CPU path ran instead"])
        entry = (gpus or opencl)[0]
        why = f"asked for OpenCL: {_label(entry)}"
    try:
        stages = OpenCLStages(open_runtime(entry))
    except KernelBuildError as exc:
        return DeviceChoice(asked, None, model, "OpenCL kernels failed to build",
                            [f"device {asked}: {exc}; the CPU path ran instead"])
    return DeviceChoice(asked, stages, model, why)
