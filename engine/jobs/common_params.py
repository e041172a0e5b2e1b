"""Parameters several job kinds share, declared once with their bounds and the reasons for
them, and the one check of a ``range`` parameter.

A kind uses the same declaration (``writers``, ``range``) or, where the meaning differs,
its own with the difference stated (a matte's working size is its longest side, depth's its
shorter side).
"""

from __future__ import annotations

from typing import Any, Literal

from moviola.plugin.errors import FrameRangeError, InvalidParamsError
from moviola.plugin.timeline import WorkUnit, parse_rate

from ..kernels.choice import DEVICES, DeviceChoice, choose
from .schema import Bounds, param

# The largest plates handled are 8K (8192 x 4320): a working size past that only upscales.
# Below 32 px a working frame holds too little of the picture for clicks or depth to mean
# anything.
MATTE_WORKING_SIZE = Bounds(32, 8192, zero="full size",
                            why="longest side of the working frame: 32 px at least, at most "
                                "the longest side of an 8K plate (8192)")
DEPTH_WORKING_SIZE = Bounds(32, 4320, zero="the backend's own",
                            why="shorter side of the working frame: 32 px at least, at most "
                                "the shorter side of an 8K plate (4320)")
WRITERS = Bounds(1, 16, why="threads writing frames: past 16 the disk, not the CPU, is the "
                            "limit, and each thread holds frames in memory")
RANGE_HELP = "[first, last] source frames (plain media only)"
RATE_HELP = ("frame rate of an EDL input (a CMX list does not say it); default: the rate of "
             "the first movie it names, else 24. Other timelines carry their own rates")


Device = Literal["auto", "cpu", "opencl", "cuda"]
DEVICE_HELP = ("where the job runs: cpu; opencl (full-resolution pixel stages on an OpenCL "
               "device); cuda (neural models on the CUDA GPU, pixel stages on its OpenCL "
               "device); auto (an OpenCL GPU when found, models where their backend "
               "prefers). Default: the device setting. A missing device or a kernel that "
               "fails to build means the CPU path and a problem line")


def device_param() -> Any:
    """The ``device`` parameter of every kind that has full-resolution pixel stages."""
    return param(None, help=DEVICE_HELP)


def resolve_device(asked: str | None, settings: Any, devices: list[dict[str, Any]]
                   ) -> DeviceChoice:
    """``asked``, or the ``device`` setting when the job names none, resolved against the
    devices the engine found at start (kernels built here, once per device)."""
    name = asked or getattr(settings, "device", "auto") or "auto"
    if name not in DEVICES:
        raise InvalidParamsError(f"setting 'device' must be one of {', '.join(DEVICES)}, got "
                                 f"{name!r}", detail={"setting": "device"})
    return choose(name, devices)


def check_rate(rate: float | None) -> float | None:
    """A typed error for a ``rate`` that is not a positive frame rate; 23.976 and friends
    become their exact NTSC values."""
    if rate is None:
        return None
    try:
        return parse_rate(rate)
    except InvalidParamsError as exc:
        raise InvalidParamsError(str(exc), detail={"param": "rate"}) from None


def check_range(frame_range: list[int] | None, *, timeline: bool,
                timeline_allowed: bool = False) -> None:
    """Typed errors for a ``range`` parameter, before the job is queued: two frames, in
    order; and, unless the kind picks one clip of a timeline, plain media only."""
    if frame_range is None:
        return
    if len(frame_range) != 2 or frame_range[1] < frame_range[0]:
        raise InvalidParamsError("range must be [first, last] with first <= last",
                                 detail={"param": "range"})
    if timeline and not timeline_allowed:
        raise InvalidParamsError("range applies to a single movie or sequence; a timeline's "
                                 "clips already say which frames to use", detail={"param": "range"})


def clamp_range(unit: WorkUnit, frame_range: list[int] | None) -> tuple[int, int]:
    """The clip's frames to do: all of them, or those ``range`` keeps.

    Raises:
        FrameRangeError: ``range`` lies outside the clip's frames.
    """
    first, last = unit.first_frame, unit.last_frame
    if frame_range is None:
        return first, last
    first, last = max(first, frame_range[0]), min(last, frame_range[1])
    if last < first:
        raise FrameRangeError(f"range {frame_range} lies outside the clip's frames "
                              f"{unit.first_frame}-{unit.last_frame}", path=unit.media_path,
                              detail={"param": "range"})
    return first, last


def clamp_to_media(unit: WorkUnit, last: int, media_last: int, problems: list[str]) -> int:
    """``last``, or the media's last frame when the clip asks for frames the media lacks
    (noted in ``problems``). A retimed clip's numbers count record frames: the media frames
    it shows were checked against the media when the timeline was read."""
    if last > media_last and not unit.retimed:
        problems.append(f"{unit.clip_name}: clip uses frames up to {last} but the media ends "
                        f"at {media_last}")
        return media_last
    return last
