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
   or behind the camera, and fills the holes from their neighbours, within the error of any
   measurement there.

It also measures what the motion can show. A pixel is *observable* when its translational
parallax (the flow left once the camera's rotation is removed) is at least
``MIN_PIXEL_PARALLAX_PX``: near the focus of expansion of a forward move, or far away, it is
less, and the depth there comes mostly from the neighbours. A pixel *moves on its own* when its
flow is trustworthy but off the epipolar geometry, in a patch; it is filled from around it.
Each prediction's confidence map is 1 on the observable pixels that do not move on their own
and 0 on the filled ones. The verdict reports these shares, and is ``valid`` only when almost
every frame shows depth and the frames agree on one unit (the stabilisation residual).

Each frame's map is inverse depth with an exact zero shift but its own unit (its pair's
camera travel), so the backend is scale-invariant per frame. The pair also estimates the
partner frame's inverse depth in the same unit: comparing that with the partner's own map is
an exact geometric :class:`~.links.Link`, from which the stabiliser puts every frame in one
unit for the whole clip.

Valid for: a static scene, a camera that translates by a visible amount (half a pixel of
parallax at working resolution within ``MAX_STRIDE`` frames or more), small lens distortion.
Partial: frames where under ``FRAME_OBSERVABLE`` of the pixels are observable (a slow forward
move), much independent motion, frames that disagree on the unit. Not valid: a locked-off
camera, pans/tilts/zooms without translation, a flat scene.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..imaging import flow
from .base import DepthBackend, Prediction, even_shape
from .fill import fill
from .links import Link, measure_link
from .stabilise import Alignment

__all__ = ["ParallaxBackend", "DEFAULT_FOV_DEG", "intrinsics", "triangulate"]

DEFAULT_FOV_DEG = 45.0
DEFAULT_WORKING_SIZE = 360     # shorter side of the working resolution (never above the plate)

STRIDES = (1, 2, 4, 8)         # partner distances tried, in frames
MAX_STRIDE = STRIDES[-1]
MIN_PARALLAX_PX = 0.5          # 90th percentile of the flow left over by the best homography
TARGET_PARALLAX_PX = 1.5       # enough for a good map: the nearest stride reaching it is used
MIN_POINTS = 64                # consistent flow samples a pair needs
MAX_SAMPLES = 4000             # samples for the homography and the essential matrix
EPIPOLAR_PX = 1.0              # a pixel further off its epipolar line is not static scene
FLOW_NOISE_PX = 0.25           # assumed flow noise, for the precision of each estimate
RELATIVE_ERROR = 0.05          # expected error (share of the median) where confidence is 1/2
AMBIGUOUS_FIT = 1.5            # a motion whose misfit is within this factor of the best's ...
AMBIGUOUS_SHAPE = 0.1          # ... but shapes the depth this differently makes a pair ambiguous
FILL_BOUND_SIGMAS = 1.0       # a filled value stays within this many errors of a measurement
MIN_PIXEL_PARALLAX_PX = 2.0    # translational parallax a pixel needs for its depth to count
INDEPENDENT_PX = 2.0           # further off its epipolar line than this: moves on its own
INDEPENDENT_PATCH = 0.02       # ... in a patch at least this share of the frame's short side

# Shares of a clip's frames with a measurement (and with observable depth) for each verdict.
VALID_SHARE = 0.9
PARTIAL_SHARE = 0.5
FRAME_OBSERVABLE = 0.5         # a frame shows depth when half its pixels or more are observable
MIN_OBSERVABLE_SHARE = 0.25    # below this mean share the clip is not valid at all
FRAME_INDEPENDENT = 0.005      # a frame has independent motion above this share of its pixels
CLIP_INDEPENDENT = 0.15        # beyond this mean share the clip is not the static scene assumed
MAX_RESIDUAL = 0.25            # stabilisation residual above which frames disagree on the unit

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

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(q_a, p_a, q_b, p_b)`` of a valid pair (which always has all four)."""
        assert self.q_a is not None and self.p_a is not None
        assert self.q_b is not None and self.p_b is not None
        return self.q_a, self.p_a, self.q_b, self.p_b


def intrinsics(width: int, height: int, fov_deg: float) -> np.ndarray:
    """Pinhole camera matrix for pixel indices (pixel centres at integers)."""
    f = width / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


class ParallaxBackend(DepthBackend):
    NAME = "parallax"
    output = "inverse_depth"
    affine_invariant = False      # zero shift; each frame's unit is tied to the next by links
    metric = False
    min_frames = 2
    measures_confidence = True    # observable pixels not moving on their own count as measured

    def __init__(self, fov_deg: float | None = None, working_size: int = 0) -> None:
        self.fov_deg = float(fov_deg or DEFAULT_FOV_DEG)
        self.working_size = int(working_size or DEFAULT_WORKING_SIZE)
        self._frame_valid: list[bool] = []
        self._reasons: Counter[str] = Counter()
        self._parallax: list[float] = []
        self._observable: list[float] = []     # per frame: share of pixels with observable depth
        self._independent: list[float] = []    # per frame: share of pixels moving on their own
        self._ambiguous: list[bool] = []       # per measured frame: its pair's motion is ambiguous
        self._low_parallax: list[int] = []     # measured frames that show too little depth
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
        frames = len(self._frame_valid)
        valid = sum(self._frame_valid)
        share = valid / frames if frames else 0.0
        parallax = float(np.median(self._parallax)) if self._parallax else 0.0
        observable = float(np.mean(self._observable)) if self._observable else 0.0
        independent = float(np.mean(self._independent)) if self._independent else 0.0
        seen = sum(o >= FRAME_OBSERVABLE for o in self._observable)
        moving = sum(i >= FRAME_INDEPENDENT for i in self._independent)
        residual = alignment.residual if alignment is not None else 0.0
        reasons, notes = [], []
        if share < VALID_SHARE:
            reasons.append(self._reasons.most_common(1)[0][0] if self._reasons
                           else "the clip has fewer than two frames")
        if frames and valid and seen / frames < VALID_SHARE:
            reasons.append(f"too little parallax in {frames - seen} of {frames} frames: under "
                           f"{FRAME_OBSERVABLE:.0%} of their pixels show depth (the focus of a "
                           "forward move, or a scene far away); those pixels are filled from "
                           "their neighbours")
        if independent >= CLIP_INDEPENDENT:
            reasons.append(f"independent motion: {independent:.0%} of the pixels move on their "
                           "own; their depth is filled from around them")
        elif moving:
            notes.append(f"independent motion in {moving} of {frames} frames "
                         f"({independent:.1%} of the pixels), filled from around it")
        # A note, not a reason: the closest fit has resolved every ambiguous scene measured so
        # far (a crane: 9 of 30 frames ambiguous, delta1 0.97), but it is worth knowing.
        ambiguous = sum(self._ambiguous)
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
                "frames_ambiguous": ambiguous, "low_parallax_frames": list(self._low_parallax),
                "stabilisation_residual": round(residual, 3), "notes": notes}

    # ---- per clip -----------------------------------------------------------------------------

    def predict(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[Prediction]:
        self._frame_valid, self._reasons, self._parallax = [], Counter(), []
        self._observable, self._independent, self._ambiguous = [], [], []
        self._low_parallax = []
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
            self._reasons[reason] += 1
            self._frame_valid.append(False)
            self._observable.append(0.0)
            self._independent.append(0.0)
            return Prediction(frame.number, np.zeros(frame.gray.shape, np.float32), frame.image,
                              valid=False, info=info)
        pixels = frame.gray.size
        q, precision, links = _combine(frame.number, estimates, pixels)
        frame.q, frame.precision = q, precision
        if (measured is not None and not forward and partner is not None
                and partner.q is not None and partner.precision is not None):
            # This frame's pair also measured the (earlier) partner, in this frame's unit.
            link = _link(frame.number, partner.number, measured[2], measured[3], partner.q,
                         partner.precision, pixels)
            if link is not None:
                links.append(link)
        observable = _observable(q, precision)
        independent = (pair.independent if measured is not None and pair is not None
                       and pair.independent is not None else np.zeros(q.shape, bool))
        # Unobservable and independently moving pixels are filled from their neighbours.
        # Low-parallax pixels weigh little (their expected error is large) and are filled
        # mostly from their neighbours; independently moving ones are filled entirely.
        confidence = np.where(independent, 0.0, _confidence(q, precision))
        values = _within_measurement(fill(q, confidence), q, np.where(independent, 0, precision))
        self._frame_valid.append(True)
        self._ambiguous.append(bool(measured is not None
                                    and info.get("pose_ambiguity", 0.0) > AMBIGUOUS_SHAPE))
        self._observable.append(float(np.mean(observable)))
        if self._observable[-1] < FRAME_OBSERVABLE:
            self._low_parallax.append(frame.number)
        self._independent.append(float(np.mean(independent)))
        info.update(estimates=len(estimates), unit_of=estimates[0][0],
                    measured=round(float(np.mean(precision > 0)), 4),
                    observable=round(self._observable[-1], 4),
                    independent=round(self._independent[-1], 4))
        measured_here = (observable & ~independent).astype(np.float32)
        return Prediction(frame.number, values, frame.image, links=links, info=info,
                          confidence=measured_here)

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
            pair = self._pair(frame.gray, partner.gray, field_, _carried(self._last_pose, stride))
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
                measured[k] = _parallax_px(fields[k])
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
        self._parallax.append(measured[best])
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
        poses = _pose_hypotheses(pa, pb, K) + ([prior] if prior is not None else [])
        if not poses:
            return _Pair(False, "camera motion could not be estimated", {})
        # A small rotation and a translation can explain a sparse sample almost equally well;
        # the pose closest to the consistent flow wins: the smallest median distance of a
        # sampled pixel from its epipolar line (a point behind the camera is infinitely far).
        # The median ignores a moving object, which a share of inliers would reward explaining.
        misfits = [_epipolar_misfit(pa, pb, K, *pose) for pose in poses]
        best = int(np.argmin(misfits))
        R, t = poses[best]
        ambiguity = _ambiguity(pa, pb, K, poses, misfits, best)
        q_a, p_a, off_line = _triangulate(ab, valid_a, K, R, t)
        q_b, p_b = triangulate(ba, valid_b, K, R.T, -R.T @ t)
        angle = math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(R) - 1) / 2))))
        info: dict[str, Any] = {"translation": [round(float(v), 4) for v in t],
                                "rotation_deg": round(angle, 4),
                                "pose_ambiguity": round(ambiguity, 4)}
        if not np.any(p_a > 0):
            return _Pair(False, "no pixel could be triangulated", info)
        pair = _Pair(True, "", info, q_a, p_a, q_b, p_b, pose=(R, t))
        pair.independent = _independent(off_line, valid_a)
        return pair


def _epipolar_misfit(pa: np.ndarray, pb: np.ndarray, K: np.ndarray, R: np.ndarray,
                     t: np.ndarray) -> float:
    """Median distance (pixels) of matches ``pa`` -> ``pb`` from their epipolar lines under
    the motion ``(R, t)``; a point that triangulates behind the camera is infinitely far."""
    q, off_line, _ = _rays_apart(pa, pb, K, R, t)
    return float(np.median(np.where(q > 0, off_line, np.inf)))


def _ambiguity(pa: np.ndarray, pb: np.ndarray, K: np.ndarray,
               poses: list[tuple[np.ndarray, np.ndarray]], misfits: list[float], best: int) -> float:
    """How differently the motions that fit almost as well as the best one shape the depth:
    the largest median relative difference of their inverse depths from the best's, at the
    sampled matches (each scaled to the best's unit). 0 when no other motion fits as well."""
    q_best, _, _ = _rays_apart(pa, pb, K, *poses[best])
    worst = 0.0
    for pose, misfit in zip(poses, misfits):
        if misfit > AMBIGUOUS_FIT * misfits[best] or pose is poses[best]:
            continue
        q, _, _ = _rays_apart(pa, pb, K, *pose)
        both = (q > 0) & (q_best > 0)
        if np.count_nonzero(both) < MIN_POINTS:
            return 1.0
        ratio = np.log(q[both] / q_best[both])
        worst = max(worst, float(np.median(np.abs(ratio - np.median(ratio)))))
    return worst


def _carried(pose: tuple[int, np.ndarray, np.ndarray] | None, stride: int
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The last pair's motion ``(stride, R, t)`` as it would be over ``stride`` frames at the
    same speed (a candidate only: the dense flow decides): the rotation scaled along its axis,
    the direction of travel kept (reversed for a partner behind)."""
    if pose is None:
        return None
    k, R, t = pose
    rotation, _ = cv2.Rodrigues(R)
    scaled, _ = cv2.Rodrigues(rotation * (stride / k))
    return scaled, t * (1.0 if stride * k > 0 else -1.0)


def _pose_hypotheses(pa: np.ndarray, pb: np.ndarray, K: np.ndarray
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Camera motions ``(R, t)`` (``t`` of unit length) fitted to the sampled matches: on all
    of them and on each half, so an ambiguous fit shows as different answers."""
    poses = []
    for part in (slice(None), slice(0, None, 2), slice(1, None, 2)):
        a, b = pa[part], pb[part]
        if len(a) < MIN_POINTS:
            continue
        E, mask = cv2.findEssentialMat(a, b, K, cv2.USAC_ACCURATE, 0.999, 0.5)
        if E is None or E.shape != (3, 3):
            continue
        _, R, t, _ = cv2.recoverPose(E, a, b, K, mask=mask)
        poses.append((R, t.ravel()))
    return poses


def _independent(off_line: np.ndarray, consistent: np.ndarray) -> np.ndarray:
    """Pixels that move on their own: their flow is trustworthy but off the camera's epipolar
    geometry by ``INDEPENDENT_PX`` or more, in a patch (not a stray flow error)."""
    off = consistent & (off_line >= INDEPENDENT_PX)
    size = max(3, int(round(min(off.shape) * INDEPENDENT_PATCH)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0


def _parallax_px(field_: np.ndarray) -> float:
    """How much of a flow field no single homography explains (90th percentile, pixels):
    zero for rotation-only motion, a zoom, or a flat scene."""
    h, w = field_.shape[:2]
    step = max(1, int(math.sqrt(h * w / MAX_SAMPLES)))
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    pa = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    pb = pa + field_[ys.ravel(), xs.ravel()].astype(np.float64)
    inside = (pb[:, 0] >= 0) & (pb[:, 1] >= 0) & (pb[:, 0] <= w - 1) & (pb[:, 1] <= h - 1)
    pa, pb = pa[inside], pb[inside]
    if len(pa) < MIN_POINTS:
        return 0.0
    H, _ = cv2.findHomography(pa, pb, cv2.RANSAC, 1.0)
    if H is None:
        return 0.0
    proj = cv2.perspectiveTransform(pa[None], H)[0]
    return float(np.percentile(np.linalg.norm(proj - pb, axis=1), 90))


def _trim(window: list[_Frame]) -> list[_Frame]:
    """Drop emitted frames no longer reachable as a partner."""
    first_open = next((i for i, f in enumerate(window) if not f.emitted), len(window))
    return window[max(0, first_open - MAX_STRIDE):]


def _observable(q: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Pixels whose depth the camera's translation shows: measured, with at least
    ``MIN_PIXEL_PARALLAX_PX`` of translational parallax (the expected relative error of q is
    FLOW_NOISE_PX over that parallax). Near the focus of expansion, and far away, it is less."""
    measured = precision > 0
    error = np.where(measured, 1.0 / np.sqrt(np.maximum(precision, 1e-30)), np.inf)
    return measured & (error <= np.maximum(q, 0.0) * (FLOW_NOISE_PX / MIN_PIXEL_PARALLAX_PX))


def _within_measurement(filled: np.ndarray, q: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """A filled map kept within the measurement wherever there is one: a pixel with too little
    parallax to trust still bounds its depth (far points near the focus of expansion are not
    as near as the objects around them)."""
    measured = precision > 0
    sigma = FILL_BOUND_SIGMAS / np.sqrt(np.maximum(precision, 1e-30))
    bounded = np.clip(filled, q - sigma, q + sigma)
    return np.where(measured, bounded, filled).astype(np.float32)


def _confidence(q: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """0..1 from the expected error as a share of the map's median (5 % gives 1/2)."""
    measured = precision > 0
    median = float(np.median(q[measured])) if np.any(measured) else 0.0
    if median <= 0:
        return np.zeros(q.shape, np.float32)
    error = np.minimum(1.0 / np.sqrt(np.maximum(precision, 1e-30)) / median, 1e6)
    return np.where(measured, 1.0 / (1.0 + (error / RELATIVE_ERROR) ** 2), 0.0).astype(np.float32)


def _good_common(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """The better-measured half of the pixels two estimates both measured."""
    both = (px > 0) & (py > 0)
    if np.count_nonzero(both) < 2:
        return np.zeros(px.shape, bool)
    joint = np.where(both, np.minimum(px, py), 0.0)
    return both & (joint >= np.median(joint[both]))


def _link(a: int, b: int, x: np.ndarray, px: np.ndarray, y: np.ndarray, py: np.ndarray,
          pixels: int) -> Link | None:
    """Frame ``b``'s pixels as estimated in ``a``'s unit (``x``) and in ``b``'s own (``y``)."""
    good = _good_common(px, py)
    return measure_link(a, b, x[good], y[good], pixels)


def _combine(number: int, estimates: list[tuple[int, np.ndarray, np.ndarray]],
             pixels: int) -> tuple[np.ndarray, np.ndarray, list[Link]]:
    """One map from several estimates of a frame, in the unit of the first; each estimate's
    unit is linked to the frame's (an exact link: both measure the same pixels)."""
    ref_owner, ref_q, ref_p = estimates[0]
    total_q = ref_q * ref_p
    total_p = ref_p.astype(np.float64).copy()
    links = []
    if ref_owner != number:  # no pair of its own: the frame takes the first estimate's unit
        link = _link(ref_owner, number, ref_q, ref_p, ref_q, ref_p, pixels)
        if link is not None:
            links.append(link)
    for owner, q, p in estimates[1:]:
        good = _good_common(p, ref_p) & (q > 0) & (ref_q > 0)
        if np.count_nonzero(good) < MIN_POINTS:
            continue
        ratio = float(np.median(ref_q[good] / q[good]))
        # q * ratio is in the reference unit; its variance grows by ratio^2.
        total_q = total_q + q * ratio * p / (ratio * ratio)
        total_p += p / (ratio * ratio)
        link = _link(owner, number, q, p, ref_q, ref_p, pixels)
        if link is not None:
            links.append(link)
    q = np.where(total_p > 0, total_q / np.maximum(total_p, 1e-30), 0.0)
    return q.astype(np.float32), total_p.astype(np.float32), links


def triangulate(field: np.ndarray, valid: np.ndarray, K: np.ndarray, R: np.ndarray,
                t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse depth of every pixel of the first frame along its flow ``field`` to the second,
    for a camera motion ``X2 = R X1 + t`` (``t`` of unit length), and its precision
    (1 / variance, 0 where not measured).

    With rays r1 = K^-1 x1 and r2 = K^-1 x2: z (r2 x R r1) + r2 x t = 0, solved for q = 1/z in
    the least-squares sense, which stays well conditioned for far points.
    """
    q, precision, _ = _triangulate(field, valid, K, R, t)
    return q, precision


def _triangulate(field: np.ndarray, valid: np.ndarray, K: np.ndarray, R: np.ndarray,
                 t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`triangulate`, plus each pixel's distance from its epipolar line (pixels)."""
    h, w = field.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    q, off_line, cc = _rays_apart(np.stack([xs, ys], axis=-1),
                                  np.stack([xs + field[..., 0], ys + field[..., 1]], axis=-1),
                                  K, R, t)
    ok = valid & (q > 0) & (off_line < EPIPOLAR_PX) & (cc > 1e-8)
    precision = np.where(ok, cc * (K[0, 0] / FLOW_NOISE_PX) ** 2, 0.0)
    return q.astype(np.float32), precision.astype(np.float32), off_line.astype(np.float32)


def _rays_apart(x1: np.ndarray, x2: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pixels ``x1`` (...x2) matched to ``x2``: inverse depth q, distance from the
    epipolar line (pixels) and ``|r2 x t|^2`` (how much the translation moves the pixel)."""
    f = K[0, 0]

    def rays(x: np.ndarray) -> np.ndarray:
        return np.stack([(x[..., 0] - K[0, 2]) / f, (x[..., 1] - K[1, 2]) / f,
                         np.ones(x.shape[:-1])], axis=-1)

    r1, r2 = rays(x1), rays(x2)
    a = np.cross(r2, r1 @ R.T)
    c = np.cross(r2, np.broadcast_to(t, r2.shape))
    cc = np.einsum("...k,...k->...", c, c)
    q = -np.einsum("...k,...k->...", a, c) / np.maximum(cc, 1e-12)
    off_line = np.linalg.norm(a + q[..., None] * c, axis=-1) * f
    return q, off_line, cc
