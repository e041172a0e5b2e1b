"""What every mode of the panel shares: the clip being worked on, and the mode interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from qtpy import QtWidgets

from .frames import FrameImage, Key

if TYPE_CHECKING:
    from .panel import MoviolaPanel

__all__ = ["MediaClip", "Mode", "LayerNeed"]


@dataclass(frozen=True)
class MediaClip:
    """The clip on screen: what jobs take as input, and the media frames it spans."""

    input: str                 # what the user opened: a movie, a sequence or a timeline
    media_path: str            # the clip's media (the input itself unless it is a timeline)
    first_frame: int           # source frame numbers, inclusive
    last_frame: int
    name: str
    clip: Optional[int] = None  # for a timeline: index among its clips with media

    @property
    def job_input(self) -> dict:
        """``input`` (and ``clip``) as the matte job takes them."""
        body: dict = {"input": self.input}
        if self.clip is not None:
            body["clip"] = self.clip
        return body


# What a mode needs under the plate on a frame: nothing, an image it holds, or one to fetch.
LayerNeed = Optional[tuple[str, Any]]  # ("ready", FrameImage) | ("fetch", (key, loader, engine))


class Mode(QtWidgets.QWidget):
    """A side panel of controls; it may add a layer under the viewer and a central view."""

    title = "mode"
    layer_kind = "mask"
    interactive = False

    def __init__(self, panel: MoviolaPanel) -> None:
        super().__init__()
        self.panel = panel

    def central(self) -> Optional[QtWidgets.QWidget]:
        """A view that replaces the viewer while this mode is active (None: the viewer)."""
        return None

    def layer(self, frame: int) -> LayerNeed:
        return None

    def media_changed(self, media: Optional[MediaClip]) -> None:
        pass

    def frame_changed(self, frame: int) -> None:
        pass

    def activated(self) -> None:
        pass


def fetch_need(key: Key, loader: Callable[[Any, Any], FrameImage], engine: bool = False) -> LayerNeed:
    return ("fetch", (key, loader, engine))
