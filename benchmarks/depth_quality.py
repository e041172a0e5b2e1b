"""Depth quality of the ``parallax`` backend on ray-cast camera moves, with its verdict beside
each: ``python benchmarks/depth_quality.py [--frames 20] [--json FILE]``.

Every scene of ``tests/depth_scenes.py`` (160x120 unless ``--size``, exact z-depth) goes through the backend
and the clip's stabiliser, as the depth job runs them; frames the backend could not measure
take the nearest measured frame's map, as the job writes them. Scores:

- ``delta1`` and ``abs_rel``: after the best affine fit in inverse depth, **one fit for the
  whole clip** (so a unit that drifts from frame to frame counts as error), then in depth;
- ``flicker``: the mean change of depth of static scene points between consecutive frames
  beyond the true change, relative to the true depth;
- ``filled``: the share of pixels filled rather than measured (confidence under 0.5, held
  frames included), ``delta1_filled`` the delta1 on those pixels alone (same clip-wide fit),
  and ``delta1_filled_neighbours`` the same with the plane fill off (the neighbours alone);
- ``error_by_confidence``: the mean relative error in each quarter of the clip's pixels
  ranked by confidence, lowest first (a confidence that ranks error falls along it);
- ``ramp``: the same scores for a plain vertical ramp (near at the bottom), a baseline any
  pass must beat by a wide margin to be worth writing.

Quality figures, not speed: nothing here is timed. Printed as a table, and as JSON with
``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from depth_passes import ground_truth, parallax_pass  # noqa: E402
from depth_scenes import MOTIONS, make_scene  # noqa: E402
from moviola.engine.depth import metrics  # noqa: E402
from moviola.engine.depth.measured import MEASURED_FLOOR  # noqa: E402
from moviola.engine.depth.parallax import ParallaxBackend  # noqa: E402


def ramp(scene) -> list[np.ndarray]:
    h, w = scene.depth(0).shape
    return [np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)] * len(scene)



def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def measure(frames: int, scenes: tuple[str, ...] = MOTIONS,
            size: tuple[int, int] = (160, 120)) -> list[dict[str, Any]]:
    rows = []
    for motion in scenes:
        scene = make_scene(motion, frames, size)
        gts, corr = ground_truth(scene)
        run = parallax_pass(scene)
        values, verdict = run.maps, run.verdict
        base = metrics.evaluate_clip(ramp(scene), gts, corr)
        row: dict[str, Any] = {"scene": motion, "verdict": verdict,
                               "ramp": {"delta1": round(base.delta1, 3),
                                        "abs_rel": round(base.abs_rel, 3)}}
        if values is not None:
            s = metrics.evaluate_clip(values, gts, corr)
            filled = [c < MEASURED_FLOOR for c in run.confidence]
            alone = parallax_pass(scene, backend=ParallaxBackend(fill_planes=False))
            assert alone.maps is not None    # the plane fill does not decide what is measured
            row.update(delta1=round(s.delta1, 3), abs_rel=round(s.abs_rel, 3),
                       flicker=round(s.flicker, 4),
                       filled=round(float(np.mean(filled)), 3),
                       delta1_filled=rounded(metrics.delta1_where(values, gts, filled)),
                       delta1_neighbours=round(metrics.evaluate_clip(alone.maps, gts, corr).delta1, 3),
                       delta1_filled_neighbours=rounded(metrics.delta1_where(alone.maps, gts, filled)),
                       error_by_confidence=[round(e, 3) for e in metrics.error_by_confidence(
                           values, gts, run.confidence)])
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| scene | δ1 | AbsRel | flicker | filled | δ1 filled | neighbours only: δ1, δ1 filled | "
             "error by confidence quartile | ramp δ1 | ramp AbsRel | verdict | reason |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        v = r["verdict"]
        extra = ", ".join(f"{k} {v[k]}" for k in ("frames_measured", "frames_observable",
                                                  "observable_share", "independent_share",
                                                  "frames_ambiguous", "stabilisation_residual")
                          if k in v)
        quartiles = " / ".join(str(e) for e in r.get("error_by_confidence", [])) or "—"
        lines.append(f"| {r['scene']} | {r.get('delta1', '—')} | {r.get('abs_rel', '—')} | "
                     f"{r.get('flicker', '—')} | {r.get('filled', '—')} | {r.get('delta1_filled', '—')} | "
                     f"{r.get('delta1_neighbours', '—')}, {r.get('delta1_filled_neighbours', '—')} | "
                     f"{quartiles} | {r['ramp']['delta1']} | {r['ramp']['abs_rel']} | "
                     f"{v['status']} ({extra}) | {v.get('reason') or ''} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scenes", nargs="+", choices=MOTIONS, default=list(MOTIONS))
    parser.add_argument("--size", type=int, nargs=2, default=(160, 120), metavar=("W", "H"))
    args = parser.parse_args()
    rows = measure(args.frames, tuple(args.scenes), tuple(args.size))
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
