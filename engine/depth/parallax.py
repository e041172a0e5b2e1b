"""``parallax``: depth from motion parallax, a backend that needs no downloaded weights.

When the camera translates through a static scene, near points move across the image more
than far ones. For each frame this backend

1. picks a partner frame up to ``MAX_STRIDE`` frames away (ahead if it can, else behind),
   the nearest whose motion holds enough parallax: a slow dolly gets a wider baseline;
2. measures dense optical flow both ways and keeps the pixels whose flow is consistent;
3. checks that the motion holds parallax at all: if one homography explains the flow (a pan,
   a tilt, a zoom, a locked-off camera, or a flat scene), there is no depth to measure and the
   frame is marked invalid ("the camera does not translate");
4. estimates the camera motion (essential matrix, RANSAC) with a pinhole camera of the given
   horizontal field of view (45 degrees unless told): fits on all samples, on each half, and
   the last pair's motion compete on how much of the dense flow they explain, because a small
   rotation and a translation can fit a sparse sample almost equally well;
5. triangulates every consistent pixel's inverse depth along its flow, in units of the
   pair's camera travel, rejects pixels off their epipolar line (moving objects, flow errors)
   or behind the camera;
6. fills the holes, within the error of any measurement there: from one of the frame's
   dominant planes (the ground, a wall: inverse depth is affine in image coordinates on a
   plane) where the measured pixels around a hole lie on it, else from the neighbours.

It also measures what the motion can show. A pixel is *observable* when its translational
parallax (the flow left once the camera's rotation is removed) is at least
``MIN_PIXEL_PARALLAX_PX``: near the focus of expansion of a forward move, or far away, it is
less, and the depth there is filled. A pixel *moves on its own* when its flow is trustworthy
but off the epipolar geometry, in a patch; it is filled from around it. Each prediction's
confidence map is graded (:mod:`.measured`): 0.5 to 1 on the observable pixels that do not
move on their own, by their parallax margin, epipolar residual and the agreement of the
frame's estimates; under 0.5 on the filled ones, by what filled them (a plane, by how well
it fits and how much of the neighbourhood lies on it; the neighbours, less, and less the
further away); 0 on what moves on its own. The verdict reports these shares, and is
``valid`` only when almost every frame shows depth and the frames agree on one unit (the
stabilisation residual).

Each frame's map is inverse depth with an exact zero shift but its own unit (its pair's
camera travel), so the backend is scale-invariant per frame. The pair also estimates the
partner frame's inverse depth in the same unit: comparing that with the partner's own map is
an exact geometric :class:`~.links.Link`, from which the stabiliser puts every frame in one
unit for the whole clip.

The steps live in modules of their own: :mod:`.epipolar` (camera motion, triangulation,
independent motion), :mod:`.estimates` (several estimates of a frame into one map, and their
unit links), :mod:`.measured` (what is observable, the fill and the confidence), :mod:`.plane` (the
dominant planes) and :mod:`.verdict`.

Valid for: a static scene, a camera that translates by a visible amount (half a pixel of
parallax at working resolution within ``MAX_STRIDE`` frames or more), small lens distortion.
Partial: frames where under ``FRAME_OBSERVABLE`` of the pixels are observable (a slow forward
move), much independent motion, frames that disagree on the unit. Not valid: a locked-off
camera, pans/tilts/zooms without translation, a flat scene.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..imaging import flow
from .base import DepthBackend, Prediction, even_shape
from .epipolar import (
    MAX_SAMPLES,
    MIN_POINTS,
    ambiguity,
    carried_pose,
    epipolar_misfit,
    homography_residual_px,
    independent_motion,
    intrinsics,
    pose_hypotheses,
    triangulate,
    triangulate_with_residual,
)
from .estimates import combine, unit_link
from .measured import fill_and_grade, measurement_quality, observable
from .stabilise import Alignment
from .verdict import ClipTally, parallax_verdict

__all__ = ["ParallaxBackend", "DEFAULT_FOV_DEG", "intrinsics", "triangulate"]

DEFAULT_FOV_DEG = 45.0
DEFAULT_WORKING_SIZE = 360     # shorter side of the working resolution (never above the plate)

STRIDES = (1, 2, 4, 8)         # partner distances tried, in frames
MAX_STRIDE = STRIDES[-1]
MIN_PARALLAX_PX = 0.5          # 90th percentile of the flow left over by the best homography
TARGET_PARALLAX_PX = 1.5       # enough for a good map: the nearest stride reaching it is used
AMBIGUOUS_SHAPE = 0.1          # a pair whose close fits shape the depth this differently

NO_TRANSLATION = ("the camera does not translate (or the scene is flat): the motion has no "
                  "parallax")


@dataclass
class _Frame:
    number: int
    image: np.ndarray
    gray: np.ndarray
    q: np.ndarray | None = None              # own raw map (measured pixels), own unit
    precision: np.ndarray | None = None
    pending: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    emitted: bool = False


@dataclass
class _Pair:
    valid: bool
    reason: str
    info: dict[str, Any]
    q_a: np.ndarray | None = None
    p_a: np.ndarray | None = None
    q_b: np.ndarray | None = None
    p_b: np.ndarray | None = None
    pose: tuple[np.ndarray, np.ndarray] | None = None   # (R, t) from a to b
    independent: np.ndarray | None = None    # pixels of a that move on their own
    off_line: np.ndarray | None = None       # each pixel of a's distance from its epipolar line

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(q_a, p_a, q_b, p_b)`` of a valid pair (which always has all four)."""
        assert self.q_a is not None and self.p_a is not None
        assert self.q_b is not None and self.p_b is not None
        return self.q_a, self.p_a, self.q_b, self.p_b


class ParallaxBackend(DepthBackend):
    NAME = "parallax"
    output = "inverse_depth"
    affine_invariant = False      # zero shift; each frame's unit is tied to the next by links
    metric = False
    min_frames = 2
    measures_confidence = True    # graded: how well each pixel was measured, or what filled it

    def __init__(self, fov_deg: float | None = None, working_size: int = 0,
                 fill_planes: bool = True) -> None:
        """``fill_planes``: fill what parallax cannot show from the planes around it where its
        measured neighbours lie on one (off: from the neighbours alone, for comparison)."""
        self.fov_deg = float(fov_deg or DEFAULT_FOV_DEG)
        self.working_size = int(working_size or DEFAULT_WORKING_SIZE)
        self.fill_planes = fill_planes
        self._tally = ClipTally()
        self._stride = 1
        self._last_pose: tuple[int, np.ndarray, np.ndarray] | None = None   # stride, R, t

    def working_shape(self, width: int, height: int) -> tuple[int, int]:
        return even_shape(width, height, self.working_size)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.NAME, "model": None, "license": "Apache-2.0 (Moviola)",
                "method": "dense DIS flow, essential matrix, per-pixel triangulation",
                "fov_deg": self.fov_deg, "working_size": self.working_size}

    def verdict(self, alignment: Alignment | None = None) -> dict[str, Any]:
        """``valid`` only when the motion shows depth almost everywhere, in almost every frame,
        and (given the clip's ``alignment``) the frames agree on one unit; otherwise
        ``partial`` or ``not_valid`` with every reason, and the measured shares either way."""
        return parallax_verdict(self._tally, alignment)

    # ---- per clip -----------------------------------------------------------------------------

    def predict(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[Prediction]:
        self._tally = ClipTally()
        self._stride = 1
        self._last_pose = None
        window: list[_Frame] = []     # frames MAX_STRIDE behind to MAX_STRIDE ahead
        for number, image in frames:
            window.append(_Frame(number, image, flow.gray(image)))
            ready = [f for f in window if not f.emitted]
            if len(ready) > MAX_STRIDE:
                yield self._emit(ready[0], window)
                window = _trim(window)
        for frame in [f for f in window if not f.emitted]:
            yield self._emit(frame, window)

    def _emit(self, frame: _Frame, window: list[_Frame]) -> Prediction:
        frame.emitted = True
        index = window.index(frame)
        # Estimates of this frame: from earlier frames' pairs (in their units), then its own.
        estimates = [(owner, q, p) for owner, q, p in frame.pending]
        frame.pending = []
        pair, partner, forward = self._own_pair(frame, window, index, needed=not estimates)
        info: dict[str, Any] = dict(pair.info) if pair is not None else {}
        measured = pair.maps() if pair is not None and pair.valid else None
        if measured is not None:
            assert partner is not None   # a valid pair comes with its partner
            q_a, p_a, q_b, p_b = measured
            estimates.insert(0, (frame.number, q_a, p_a))
            if forward:
                partner.pending.append((frame.number, q_b, p_b))
        if not estimates:
            reason = pair.reason if pair is not None else "the clip has fewer than two frames"
            self._tally.unmeasured(reason)
            return Prediction(frame.number, np.zeros(frame.gray.shape, np.float32), frame.image,
                              valid=False, info=info)
        pixels = frame.gray.size
        q, precision, spread, links = combine(frame.number, estimates, pixels)
        frame.q, frame.precision = q, precision
        if (measured is not None and not forward and partner is not None
                and partner.q is not None and partner.precision is not None):
            # This frame's pair also measured the (earlier) partner, in this frame's unit.
            link = unit_link(frame.number, partner.number, measured[2], measured[3], partner.q,
                             partner.precision, pixels)
            if link is not None:
                links.append(link)
        shows_depth = observable(q, precision)
        own = pair if measured is not None and pair is not None else None
        independent = (own.independent if own is not None and own.independent is not None
                       else np.zeros(q.shape, bool))
        # Unobservable and independently moving pixels are filled (from a plane or their
        # neighbours); every pixel's confidence says how well it was measured, or from what
        # it was filled.
        sure = shows_depth & ~independent
        quality = measurement_quality(q, precision, own.off_line if own is not None else None,
                                      spread)
        result = fill_and_grade(q, precision, sure, independent, quality, self.fill_planes)
        observable_share = float(np.mean(shows_depth))
        independent_share = float(np.mean(independent))
        self._tally.measured(frame.number, observable_share, independent_share,
                             ambiguous=bool(measured is not None and info.get("pose_ambiguity", 0.0)
                                            > AMBIGUOUS_SHAPE))
        info.update(estimates=len(estimates), unit_of=estimates[0][0],
                    measured=round(float(np.mean(precision > 0)), 4),
                    observable=round(observable_share, 4),
                    independent=round(independent_share, 4),
                    plane_filled=round(float(np.mean(result.from_plane)), 4))
        return Prediction(frame.number, result.values, frame.image, links=links, info=info,
                          confidence=result.confidence)

    # ---- steps --------------------------------------------------------------------------------

    def _own_pair(self, frame: _Frame, window: list[_Frame], index: int,
                  needed: bool) -> tuple[_Pair | None, _Frame | None, bool]:
        """This frame's own pair: a partner ahead with enough parallax at the smallest stride,
        else one behind; when the frame has no other estimate, one with less parallax."""
        ahead = [k for k in STRIDES if index + k < len(window)]
        # Behind too, when ahead falls short: the last frames of a clip get a wide baseline.
        behind = [k for k in STRIDES if index - k >= 0]
        if not ahead and not behind:
            return (None, None, True) if needed else (_Pair(False, "", {}), None, True)
        failed = _Pair(False, NO_TRANSLATION, {})
        for forward, strides in ((True, ahead), (False, behind)):
            if not strides:
                continue
            k, parallax, field_ = self._choose_stride(frame, window, index, strides, forward)
            partner = window[index + k if forward else index - k]
            enough = TARGET_PARALLAX_PX if not needed else MIN_PARALLAX_PX
            if parallax < enough:
                failed = _Pair(False, NO_TRANSLATION, {"parallax_px": round(parallax, 3)})
                continue
            stride = k if forward else -k
            pair = self._pair(frame.gray, partner.gray, field_, carried_pose(self._last_pose, stride))
            pair.info.update(stride=stride, parallax_px=round(parallax, 3))
            if pair.valid:
                if pair.pose is not None:
                    self._last_pose = (stride, *pair.pose)
                return pair, partner, forward
            failed = pair
        return failed, None, True

    def _choose_stride(self, frame: _Frame, window: list[_Frame], index: int,
                       strides: list[int], forward: bool) -> tuple[int, float, np.ndarray]:
        """Try the last stride first, then smaller (while enough) or larger (until enough).
        Returns the stride, its parallax and its flow (reused by the pair)."""
        measured: dict[int, float] = {}
        fields: dict[int, np.ndarray] = {}

        def parallax(k: int) -> float:
            if k not in measured:
                other = window[index + k if forward else index - k]
                fields[k] = flow.flow(frame.gray, other.gray)
                measured[k] = homography_residual_px(fields[k])
            return measured[k]

        start = min(strides, key=lambda k: abs(k - self._stride))
        pos = strides.index(start)
        if parallax(start) >= TARGET_PARALLAX_PX:
            while pos > 0 and parallax(strides[pos - 1]) >= TARGET_PARALLAX_PX:
                pos -= 1
        else:
            while pos + 1 < len(strides) and parallax(strides[pos]) < TARGET_PARALLAX_PX:
                pos += 1
        best = strides[pos] if parallax(strides[pos]) >= TARGET_PARALLAX_PX else max(
            measured, key=lambda k: measured[k])
        if forward:
            self._stride = best
        self._tally.parallax.append(measured[best])
        return best, measured[best], fields[best]

    def _pair(self, a: np.ndarray, b: np.ndarray, ab: np.ndarray | None = None,
              prior: tuple[np.ndarray, np.ndarray] | None = None) -> _Pair:
        """Depth of ``a`` (and ``b``) from the flow between them; ``prior``: the camera motion
        of the last pair carried to this stride, a candidate where the fit is ambiguous."""
        h, w = a.shape
        K = intrinsics(w, h, self.fov_deg)
        ab, valid_a, ba, valid_b = flow.consistent_flow(a, b, ab)
        ys, xs = np.nonzero(valid_a)
        if len(xs) < MIN_POINTS:
            return _Pair(False, "too little consistent motion to measure (no texture, or a cut)",
                         {})
        if len(xs) > MAX_SAMPLES:
            keep = np.random.default_rng(0).choice(len(xs), MAX_SAMPLES, replace=False)
            xs, ys = xs[keep], ys[keep]
        pa = np.stack([xs, ys], axis=1).astype(np.float64)
        pb = pa + ab[ys, xs].astype(np.float64)
        poses = pose_hypotheses(pa, pb, K) + ([prior] if prior is not None else [])
        if not poses:
            return _Pair(False, "camera motion could not be estimated", {})
        # A small rotation and a translation can explain a sparse sample almost equally well;
        # the pose closest to the consistent flow wins: the smallest median distance of a
        # sampled pixel from its epipolar line (a point behind the camera is infinitely far).
        # The median ignores a moving object, which a share of inliers would reward explaining.
        misfits = [epipolar_misfit(pa, pb, K, *pose) for pose in poses]
        best = int(np.argmin(misfits))
        R, t = poses[best]
        spread = ambiguity(pa, pb, K, poses, misfits, best)
        q_a, p_a, off_line = triangulate_with_residual(ab, valid_a, K, R, t)
        q_b, p_b = triangulate(ba, valid_b, K, R.T, -R.T @ t)
        angle = math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(R) - 1) / 2))))
        info: dict[str, Any] = {"translation": [round(float(v), 4) for v in t],
                                "rotation_deg": round(angle, 4),
                                "pose_ambiguity": round(spread, 4)}
        if not np.any(p_a > 0):
            return _Pair(False, "no pixel could be triangulated", info)
        pair = _Pair(True, "", info, q_a, p_a, q_b, p_b, pose=(R, t))
        pair.independent = independent_motion(off_line, valid_a)
        pair.off_line = off_line
        return pair


def _trim(window: list[_Frame]) -> list[_Frame]:
    """Drop emitted frames no longer reachable as a partner."""
    first_open = next((i for i, f in enumerate(window) if not f.emitted), len(window))
    return window[max(0, first_open - MAX_STRIDE):]

