"""Shot-detection quality: F1 per video for each detector and for ``auto``, printed, never
asserted: run ``python benchmarks/shots_quality.py``.

Videos: the real ones in ``shared/data/shots`` (truth in ``tests/reels.py``: ``REAL_TRUTH``,
from the data README's "what is in it" column, checked frame by frame) when they are there,
the real-footage reels built from them and the shared DAVIS clips (``real_reel``: cuts,
dissolves and a fade between real shots, with whip pans, shake and flashes made from real
frames inside shots), and synthetic reels with exact truth: ``cuts_reel`` (cuts, a
dissolve, a fade, a flash, a fast pan) and ``motion_reel`` (whip pans, shake, fast objects
and a flash inside shots, beside cuts, dissolves and a fade). A detected cut matches a true
one as :mod:`moviola.engine.shots.metrics` says (a hard cut within a frame, a transition by
overlap).

Each detector that can run here is timed over the whole video, decode included; frames/s
depends on the machine and on what else runs on it. ``auto`` is the detector ``auto`` picks
here, named in the table, not a separate run.

Figures go to stdout and, with ``--json FILE``, to a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from moviola.engine.media.source import open_source  # noqa: E402
from moviola.engine.shots.detect import (  # noqa: E402
    ShotDetector,
    available_backends,
    choose_backend,
    make_detector,
)
from moviola.engine.shots.metrics import score_cuts  # noqa: E402
from moviola.engine.shots.stream import small_frames  # noqa: E402
from reels import REAL_REEL_VARIANTS, REAL_TRUTH, TruthCut, cuts_reel, motion_reel, real_reel  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402

REAL = SHARED_DATA / "shots"

Factory = Callable[..., ShotDetector]   # (rate) -> a fresh detector


def videos(folder: Path) -> list[tuple[str, Path, Sequence[TruthCut]]]:
    """(label, path, truth) of every video scored: the real ones first, then the reels."""
    out: list[tuple[str, Path, Sequence[TruthCut]]] = []
    if REAL.is_dir():
        out += [(name, REAL / name, cuts) for name, cuts in REAL_TRUTH.items()]
        for v in range(REAL_REEL_VARIANTS):
            reel = real_reel(folder / f"real{v}.mp4", variant=v)
            out.append((f"real_reel {v}", reel.path, reel.cuts))
    for v in (0, 1):
        reel = cuts_reel(folder / f"cuts{v}.mp4", variant=v)
        out.append((f"cuts_reel {v}", reel.path, reel.cuts))
    for v in (0, 1, 2, 3):
        reel = motion_reel(folder / f"motion{v}.mp4", variant=v)
        out.append((f"motion_reel {v}", reel.path, reel.cuts))
    return out


def score(path: Path, truth: Sequence[TruthCut], factory: Factory) -> dict:
    """Run a fresh detector over every frame of ``path``; its F1 and speed."""
    t0 = time.perf_counter()
    with open_source(str(path)) as source:
        detector = factory(source.info.frame_rate)
        count = 0
        for n, frame in small_frames(source, detector.WORKING_SIZE):
            detector.push(n, frame)
            count += 1
        cuts = detector.finish()
    spent = time.perf_counter() - t0
    s = score_cuts(cuts, truth)
    return {"f1": round(s.f1, 3), "precision": round(s.precision, 3), "recall": round(s.recall, 3),
            "counts": [s.true_positives, s.false_positives, s.false_negatives],
            "false": [(c.frame, c.kind) for c in cuts
                      if not any(c.start - 1 < t.end and t.start < c.end + 1 for t in truth)],
            "missed": [(t.frame, t.kind) for t in truth
                       if not any(c.start - 1 < t.end and t.start < c.end + 1 for c in cuts)],
            "frames_per_s": round(count / spent, 1)}


def factories() -> dict[str, Factory]:
    """Every detector that can run here, by name."""
    return {name: (lambda rate, _n=name: make_detector(_n, rate))
            for name, why in available_backends().items() if not why}


def run(detectors: dict[str, Factory], folder: Path) -> dict:
    auto, reason = choose_backend("auto")
    table: dict[str, dict] = {}
    for label, path, truth in videos(folder):
        row = {name: score(path, truth, factory) for name, factory in detectors.items()}
        table[label] = row
        print(f"{label:26s} " + "  ".join(f"{n} {r['f1']:.3f} ({r['frames_per_s']:.0f} f/s)"
                                          for n, r in row.items()), flush=True)
    overall = {}
    for name in detectors:
        tp, fp, fn = (sum(row[name]["counts"][i] for row in table.values()) for i in range(3))
        overall[name] = round(2 * tp / (2 * tp + fp + fn), 3) if tp + fp + fn else 1.0
    print(f"overall F1 (all videos pooled): {overall}; auto here: {auto} ({reason})")
    return {"videos": table, "overall_f1": overall, "auto": {"backend": auto, "reason": reason}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--backends", help="comma-separated detectors (default: all that run here)")
    args = parser.parse_args()
    detectors = factories()
    if args.backends:
        detectors = {n: detectors[n] for n in args.backends.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(detectors, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
