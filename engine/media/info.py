"""What a piece of media is, in the terms a timeline needs: :class:`MediaInfo`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

__all__ = ["MediaInfo"]


@dataclass(frozen=True)
class MediaInfo:
    """Facts about a video file or an image sequence, in the terms a timeline needs."""

    path: str                 # absolute; for sequences the printf pattern, e.g. /x/shot.%04d.exr
    kind: str                 # "video" | "image_sequence"
    codec: str                # "h264", "prores", "exr", "png"...
    width: int                # display size: after rotation
    height: int
    coded_width: int          # stored size: before rotation
    coded_height: int
    pixel_format: str         # FFmpeg name for video ("yuv420p"); "rgba_half" style for images
    frame_rate: Fraction      # nominal; the average for variable frame rate
    variable_frame_rate: bool
    frame_count: int          # exact: packets for video, files for sequences
    duration_s: float
    start_frame: int          # 0 for video; first number in the names for sequences
    start_timecode: str | None
    rotation: int             # counter-clockwise degrees to turn the stored picture for display
    bit_depth: int
    missing_frames: tuple[int, ...] = field(default=())  # holes inside a sequence's range

    @property
    def last_frame(self) -> int:
        """The last frame number (inclusive): video ``count - 1``, sequences the last name."""
        if self.kind == "video":
            return self.start_frame + self.frame_count - 1
        return self.start_frame + self.frame_count + len(self.missing_frames) - 1

    def to_wire(self) -> dict[str, Any]:
        """A msgpack-friendly dict: the rate as an exact ``"24000/1001"`` string plus a float."""
        body = asdict(self)
        rate = self.frame_rate
        body["frame_rate"] = f"{rate.numerator}/{rate.denominator}"
        body["frame_rate_float"] = float(rate)
        body["missing_frames"] = list(self.missing_frames)
        body["last_frame"] = self.last_frame
        return body
