"""``frame``: one frame of a clip as a small 8-bit RGB PNG, for a viewer that decodes nothing.

A panel or a host bridge must not import PyAV or OpenCV, yet it has to show the plate under
the playhead. This kind decodes the frame through the same open readers the interactive matte
loop keeps (so scrubbing a clip opens it once), turns it display-referred
(:func:`~moviola.engine.imaging.display.display_rgb8`), scales it down to ``max_width`` and
sends it back as PNG bytes: a preview, small enough to travel in a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2

from moviola.plugin.errors import FrameRangeError

from ..engine_view import EngineView
from ..imaging.display import display_rgb8
from ..inputs import CheckedInput, check_input
from ..media.open_readers import OPEN_READERS, media_stamp
from ..media.resize import fit_width
from .base import JobContext, JobKind
from .matte import media_of
from .schema import Bounds, param

PREVIEW_WIDTH = Bounds(1, 16384, zero="full size",
                       why="a preview travels in one message: 16384 px wide is the most a "
                           "viewer is sent")


@dataclass(frozen=True)
class FrameParams:
    input: str = param(help="video file, image sequence or timeline")
    frame: int = param(help="source frame number")
    clip: int | None = param(None, help="for a timeline: index of the clip (among clips with media)")
    max_width: int = param(1280, help="scale down (never up) to at most this width; 0: full size",
                           bounds=PREVIEW_WIDTH)


class FrameJob(JobKind):
    NAME = "frame"
    LANE = "interactive"  # a viewer waits for it: never queued behind batch jobs
    DESCRIPTION = ("One frame as an 8-bit RGB PNG (scaled to max_width) with the source size, "
                   "for viewers that decode no media themselves.")
    Params = FrameParams

    def check(self, params: FrameParams, engine: EngineView) -> CheckedInput:
        return check_input(params.input)

    def run(self, params: FrameParams, ctx: JobContext) -> dict[str, Any]:
        media_path = media_of(ctx.checked(self, params), params.clip)
        reader, lock = OPEN_READERS.get(media_path, media_stamp(media_path))
        if not reader.first_frame <= params.frame <= reader.last_frame:
            raise FrameRangeError(f"frame {params.frame} is outside the media frames "
                                  f"{reader.first_frame}-{reader.last_frame}", path=media_path,
                                  detail={"param": "frame", "frame": params.frame,
                                          "first": reader.first_frame, "last": reader.last_frame})
        with lock:
            plate = reader.read(params.frame)
        source_height, source_width = plate.shape[:2]
        rgb = fit_width(display_rgb8(plate), params.max_width)
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise RuntimeError("cannot encode the frame as PNG")
        info = reader.info
        return {"png": png.tobytes(), "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                "source_width": int(source_width), "source_height": int(source_height),
                "frame": int(params.frame), "media": media_path,
                "first_frame": int(reader.first_frame), "last_frame": int(reader.last_frame),
                "frame_rate": f"{info.frame_rate.numerator}/{info.frame_rate.denominator}"}
