"""Frame numbers between a Nuke Read node and the engine. Pure Python, no ``nuke`` import.

Nuke shows a Read's file at *Nuke frames*; the engine addresses *media frames*:

- a movie's frames count from 1 in Nuke (``first`` = 1, ``last`` = its duration) whatever
  its timecode, and from 0 in Moviola;
- an image sequence's frames are its file numbers in both (frame 1001 reads ``.1001.``).

Between the file and the script sits the Read's ``frame_mode``: ``start at`` shows the
Read's ``first`` frame at script frame ``frame``; ``offset`` adds ``frame`` to every frame
number; ``expression`` with an empty value (the default) or ``frame`` maps one to one, and
``frame+N``/``frame-N`` shift. Any other expression cannot be inverted and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moviola.plugin.errors import InvalidParamsError

__all__ = ["ReadTiming", "parse_frame_mode"]

_SHIFT = re.compile(r"^\s*frame\s*(?:([+-])\s*(\d+))?\s*$")


def parse_frame_mode(mode: str, value: str, first: int) -> int:
    """The shift ``script frame - file frame`` a Read's ``frame_mode``/``frame`` knobs make."""
    mode = (mode or "expression").strip().lower().replace("_", " ")
    value = (value or "").strip()
    if mode == "start at":
        return (int(float(value)) - first) if value else 0
    if mode == "offset":
        return int(float(value)) if value else 0
    if mode == "expression":
        if not value:
            return 0
        match = _SHIFT.match(value)
        if match:
            sign, amount = match.groups()
            if amount is None:
                return 0
            # file frame = script frame + N  ⇒  script frame = file frame - N
            return -int(amount) if sign == "+" else int(amount)
    raise InvalidParamsError(
        f"the Read's frame knob ({mode!r}: {value!r}) is not a plain shift; Moviola maps "
        "'start at', 'offset' and expressions of the form frame+N", detail={"param": "frame"})


@dataclass(frozen=True)
class ReadTiming:
    """What decides a Read's frame numbers: movie or sequence, its range, its frame mode."""

    is_movie: bool
    first: int             # the Read's first/last knobs, in file frames (a movie's from 1)
    last: int
    shift: int = 0         # script frame - file frame (see parse_frame_mode)

    @classmethod
    def from_knobs(cls, is_movie: bool, first: int, last: int, frame_mode: str = "expression",
                   frame: str = "") -> ReadTiming:
        return cls(is_movie, int(first), int(last), parse_frame_mode(frame_mode, frame, int(first)))

    def media_frame(self, script_frame: int) -> int:
        """The engine's frame number for what the Read shows at ``script_frame``."""
        file_frame = int(script_frame) - self.shift
        return file_frame - 1 if self.is_movie else file_frame

    def script_frame(self, media_frame: int) -> int:
        """Where the Read shows the engine's ``media_frame`` in the script."""
        file_frame = int(media_frame) + 1 if self.is_movie else int(media_frame)
        return file_frame + self.shift

    @property
    def media_range(self) -> tuple[int, int]:
        """The Read's range as the engine's first and last media frames."""
        return (self.first - 1, self.last - 1) if self.is_movie else (self.first, self.last)

    @property
    def script_range(self) -> tuple[int, int]:
        return self.first + self.shift, self.last + self.shift
