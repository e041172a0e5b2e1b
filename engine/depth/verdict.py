"""The ``parallax`` backend's verdict on a clip, from what it measured frame by frame.

``valid`` only when almost every frame is measured and shows depth on at least half of its
pixels, independent motion covers little of the frame, and (given the clip's alignment) the
frames agree on one unit; ``partial`` (written, with the reason) or ``not_valid`` otherwise,
with every reason and the measured shares either way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .stabilise import Alignment

__all__ = ["ClipTally", "parallax_verdict"]

# Shares of a clip's frames with a measurement (and with observable depth) for each verdict.
VALID_SHARE = 0.9
PARTIAL_SHARE = 0.5
FRAME_OBSERVABLE = 0.5         # a frame shows depth when half its pixels or more are observable
MIN_OBSERVABLE_SHARE = 0.25    # below this mean share the clip is not valid at all
FRAME_INDEPENDENT = 0.005      # a frame has independent motion above this share of its pixels
CLIP_INDEPENDENT = 0.15        # beyond this mean share the clip is not the static scene assumed
MAX_RESIDUAL = 0.25            # stabilisation residual above which frames disagree on the unit


@dataclass
class ClipTally:
    """What the backend measured in each frame of the clip it last predicted."""

    frame_valid: list[bool] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)   # why frames were not measured
    parallax: list[float] = field(default_factory=list)      # per pair tried, pixels
    observable: list[float] = field(default_factory=list)    # per frame: share observable
    independent: list[float] = field(default_factory=list)   # per frame: share moving on its own
    ambiguous: list[bool] = field(default_factory=list)      # per measured frame
    low_parallax: list[int] = field(default_factory=list)    # measured frames showing too little

    def unmeasured(self, reason: str) -> None:
        self.reasons[reason] += 1
        self.frame_valid.append(False)
        self.observable.append(0.0)
        self.independent.append(0.0)

    def measured(self, number: int, observable: float, independent: float,
                 ambiguous: bool) -> None:
        self.frame_valid.append(True)
        self.ambiguous.append(ambiguous)
        self.observable.append(observable)
        if observable < FRAME_OBSERVABLE:
            self.low_parallax.append(number)
        self.independent.append(independent)


def parallax_verdict(tally: ClipTally, alignment: Alignment | None = None) -> dict[str, Any]:
    """The verdict on the clip ``tally`` describes (and its ``alignment``, when solved)."""
    frames = len(tally.frame_valid)
    valid = sum(tally.frame_valid)
    share = valid / frames if frames else 0.0
    parallax = float(np.median(tally.parallax)) if tally.parallax else 0.0
    observable = float(np.mean(tally.observable)) if tally.observable else 0.0
    independent = float(np.mean(tally.independent)) if tally.independent else 0.0
    seen = sum(o >= FRAME_OBSERVABLE for o in tally.observable)
    moving = sum(i >= FRAME_INDEPENDENT for i in tally.independent)
    residual = alignment.residual if alignment is not None else 0.0
    reasons, notes = [], []
    if share < VALID_SHARE:
        reasons.append(tally.reasons.most_common(1)[0][0] if tally.reasons
                       else "the clip has fewer than two frames")
    if frames and valid and seen / frames < VALID_SHARE:
        reasons.append(f"too little parallax in {frames - seen} of {frames} frames: under "
                       f"{FRAME_OBSERVABLE:.0%} of their pixels show depth (the focus of a "
                       "forward move, or a scene far away); those pixels are filled from "
                       "the planes around them or their neighbours")
    if independent >= CLIP_INDEPENDENT:
        reasons.append(f"independent motion: {independent:.0%} of the pixels move on their "
                       "own; their depth is filled from around them")
    elif moving:
        notes.append(f"independent motion in {moving} of {frames} frames "
                     f"({independent:.1%} of the pixels), filled from around it")
    # A note, not a reason: the closest fit has resolved every ambiguous scene measured so
    # far (a crane: 9 of 30 frames ambiguous, delta1 0.97), but it is worth knowing.
    ambiguous = sum(tally.ambiguous)
    if ambiguous:
        notes.append(f"the camera motion is ambiguous in {ambiguous} of {frames} frames: "
                     "motions that fit the flow almost as well give depths that differ by "
                     "10 % or more; the closest fit is used")
    if residual > MAX_RESIDUAL:
        reasons.append(f"the frames do not agree on one depth unit (stabilisation residual "
                       f"{residual:.2f})")
    if not reasons:
        status = "valid"
    elif frames and share >= PARTIAL_SHARE and observable >= MIN_OBSERVABLE_SHARE:
        status = "partial"      # written, with the reason: filled where depth is unknown
    else:
        status = "not_valid"
    return {"status": status, "reason": "; ".join(reasons), "frames_measured": valid,
            "frames": frames, "median_parallax_px": round(parallax, 3),
            "observable_share": round(observable, 3), "frames_observable": seen,
            "independent_share": round(independent, 4), "frames_independent": moving,
            "frames_ambiguous": ambiguous, "low_parallax_frames": list(tally.low_parallax),
            "stabilisation_residual": round(residual, 3), "notes": notes}
