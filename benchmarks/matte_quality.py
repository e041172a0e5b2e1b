"""Matte quality on clips in DAVIS layout: ``python benchmarks/matte_quality.py DIR...``.

Each DIR holds ``frames/NNNNN.jpg`` or ``clip.mp4`` (the frames, decoded frame i = frame i)
and ``masks/NNNNN.png`` (the object's true mask per frame, 0 or 255). The backend is called
at library level, as the ``matte`` job does: the keyframe on frame 0, then one forward walk
(:func:`moviola.engine.matte.propagate.propagate`) through the rest of the clip. Two
protocols give frame 0's keyframe:

- ``clicks``: 3 include clicks at interior maxima of frame 0's true mask (distance-transform
  maxima, spread apart) and 2 exclude clicks in a ring just outside it, segmented by the
  backend (the keyframe an artist's clicks give);
- ``mask``: frame 0's true mask itself (what propagation alone does from a perfect start).

With ``--synthetic`` it also renders the tests' hard clips (an occluder, an object wholly
hidden for a while, fast motion, a scale change, a small fast object; exact masks) in this
layout and scores them. Per clip and protocol it prints J (IoU), F (boundary F-measure), J&F
over every frame from 0 (the keyframe included, as the tests score the job's output), the
keyframe's own J, and the walk's frames/s; then the means. Figures go to stdout and, with
``--json FILE``, to a file. ``--option memory=false`` gives the classical band cut alone.

Variants of real motion from the same clips: ``--stride N [N...]`` walks every Nth frame (the
object moves N times as far per step, as in fast footage), ``--reverse yes|both`` walks the clip
backwards from its last frame (keyed there), ``--key-frame middle|both`` keys the middle frame
and walks both ways. Each combination is a row (``clip@s2/rev``); the mean is over all rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from matte_clips import HARD_KINDS, render_hard_clip, walk_and_score, write_davis_layout  # noqa: E402
from moviola.engine.matte.backend import MatteBackend, create_backend  # noqa: E402

PROTOCOLS = ("clicks", "mask")


@dataclass(frozen=True)
class Variant:
    """One way to walk a clip: every ``stride``-th frame (faster motion), backwards from its
    last frame, keyed on the first frame of that order or its middle (walked both ways)."""

    stride: int = 1
    reverse: bool = False
    key_frame: str = "first"

    @property
    def name(self) -> str:
        parts = [f"s{self.stride}"] + (["rev"] if self.reverse else []) + (
            ["mid"] if self.key_frame == "middle" else [])
        return "/".join(parts)


def variants(args: argparse.Namespace) -> list[Variant]:
    """Every combination of the strides, directions and key frames asked for."""
    directions = (False, True) if args.reverse == "both" else (args.reverse == "yes",)
    keys = ("first", "middle") if args.key_frame == "both" else (args.key_frame,)
    return [Variant(s, r, k) for s in args.stride for r in directions for k in keys]


def media_of(folder: Path) -> Path:
    """The clip's frames: ``clip.mp4`` when present, else the ``frames/`` sequence."""
    movie = folder / "clip.mp4"
    return movie if movie.is_file() else folder / "frames"


def truth_reader(folder: Path) -> Callable[[int], np.ndarray]:
    def truth(n: int) -> np.ndarray:
        mask = cv2.imread(str(folder / "masks" / f"{n:05d}.png"), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise FileNotFoundError(folder / "masks" / f"{n:05d}.png")
        return mask > 127
    return truth


def run_clip(folder: Path, backend: MatteBackend, protocol: str, max_frames: int | None,
             variant: Variant = Variant()) -> dict:
    walk = walk_and_score(media_of(folder), truth_reader(folder), backend, protocol, max_frames,
                          stride=variant.stride, reverse=variant.reverse, key_frame=variant.key_frame)
    fps = walk.walk_frames_per_s
    return {**walk.score.summary(), "key_J": round(walk.key_j, 4),
            "walk_frames_per_s": round(fps, 2) if fps else None, "working": list(walk.working)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path,
                        help="clips in DAVIS layout, or folders of them (e.g. ../shared/data/davis)")
    parser.add_argument("--protocol", choices=[*PROTOCOLS, "both"], default="both")
    parser.add_argument("--backend", default="classical")
    parser.add_argument("--max-frames", type=int, help="score at most this many frames per clip")
    parser.add_argument("--size", type=int, help="working size (longest side); backend default if unset")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend setting (a number or true/false), e.g. memory=false")
    parser.add_argument("--stride", type=int, nargs="+", default=[1], metavar="N",
                        help="walk every Nth frame (faster motion); several: one variant each")
    parser.add_argument("--reverse", choices=("no", "yes", "both"), default="no",
                        help="walk the clip backwards from its last frame (both: each way)")
    parser.add_argument("--key-frame", choices=("first", "middle", "both"), default="first",
                        help="key the first frame of the walk, or the middle one and walk both ways")
    parser.add_argument("--synthetic", action="store_true",
                        help="also render and score the tests' hard clips (tests/matte_clips.py)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moviola-matte-quality-") as tmp:
        if args.synthetic:
            for kind in HARD_KINDS:
                folder = Path(tmp) / kind
                folder.mkdir()
                write_davis_layout(render_hard_clip(folder / "rendered.mp4", kind), folder)
            args.dirs.append(Path(tmp))
        if not args.dirs:
            parser.error("give clip folders, --synthetic, or both")
        return measure(args)


def measure(args: argparse.Namespace) -> int:

    options = {k: _value(v) for k, _, v in (o.partition("=") for o in args.option)}
    backend = create_backend(args.backend, args.size, **options)
    clips = []
    for d in args.dirs:
        clips += [d] if (d / "masks").is_dir() else sorted(p for p in d.iterdir() if (p / "masks").is_dir())
    protocols = PROTOCOLS if args.protocol == "both" else (args.protocol,)
    figures: dict = {"backend": backend.describe(), "protocols": {}}
    for protocol in protocols:
        rows = {}
        for clip in clips:
            for variant in variants(args):
                row = run_clip(clip, backend, protocol, args.max_frames, variant)
                name = clip.name if variant == Variant() else f"{clip.name}@{variant.name}"
                rows[name] = row
                print(f"{protocol:6s} {name:28s} J {row['J']:.3f}  F {row['F']:.3f}  "
                      f"J&F {row['JF']:.3f}  key J {row['key_J']:.3f}  "
                      f"{row['frames']} frames  {row['walk_frames_per_s']} frames/s", flush=True)
        mean = {k: round(float(np.mean([r[k] for r in rows.values()])), 4)
                for k in ("J", "F", "JF", "key_J")}
        print(f"{protocol:6s} {'MEAN':28s} J {mean['J']:.3f}  F {mean['F']:.3f}  "
              f"J&F {mean['JF']:.3f}  key J {mean['key_J']:.3f}", flush=True)
        figures["protocols"][protocol] = {"clips": rows, "mean": mean}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def _value(text: str) -> object:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


if __name__ == "__main__":
    sys.exit(main())
