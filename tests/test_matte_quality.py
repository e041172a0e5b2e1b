"""Matte quality, measured: DAVIS J&F of the no-weights backend through the real ``matte`` job.

Synthetic clips (tests/matte_clips.py) have exact mattes; the real DAVIS clips in
../shared/data/davis have published masks (skipped when the folder is absent).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matte_clips import (
    HARD_KINDS,
    prompts_from_mask,
    render_hard_clip,
    render_matte_clip,
    score_result,
    walk_and_score,
)
from moviola.engine.matte.backend import create_backend
from shared_data import MISSING_REASON, SHARED_DATA

DAVIS = SHARED_DATA / "davis"


def matte(client, media, out, keyframes, **params) -> dict:
    return client.submit("matte", {"input": str(media), "out": str(out), "keyframes": keyframes,
                                   "backend": "classical", **params}).wait()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """32 frames, 320x240, H.264: textured object moving/scaling/turning over a textured
    background during a pan, crossing a similar-coloured distractor."""
    return render_matte_clip(tmp_path_factory.mktemp("matte") / "scene.mp4")


def key(clip, frame, include=2, exclude=1, box=False):
    prompts = prompts_from_mask(clip.mask(frame) > 0.5, include, exclude,
                                avoid=clip.distractor[frame] > 0.5, box=box)
    return {"frame": frame, "object": 1, **prompts}


def test_one_keyframe_three_clicks(client, scene, tmp_path):
    k = key(scene, 0)
    assert len(k["include"]) + len(k["exclude"]) <= 3
    result = matte(client, scene.path, tmp_path, [k])
    s = score_result(result, scene.mask)
    print("synthetic, 1 keyframe:", s.summary())
    assert s.jf >= 0.85


def test_second_keyframe_reaches_point_nine(client, scene, tmp_path):
    last = scene.frame_count - 1
    result = matte(client, scene.path, tmp_path, [key(scene, 0), key(scene, last)])
    s = score_result(result, scene.mask)
    print("synthetic, 2 keyframes:", s.summary())
    assert s.jf >= 0.9


def test_correction_keyframe_improves_the_frames_after_it(client, scene, tmp_path):
    base = score_result(matte(client, scene.path, tmp_path, [key(scene, 0)]), scene.mask)
    # The artist scrubs to the first frame that went visibly wrong, and fixes it there
    # with a box and clicks (the object overlaps its look-alike there).
    per_frame = [(j + f) / 2 for j, f in zip(base.j, base.f)]
    fix = next(n for n, jf in zip(base.frames, per_frame) if n > 0 and jf < 0.95)
    after = range(fix + 1, scene.frame_count)
    fixed = score_result(matte(client, scene.path, tmp_path, [key(scene, 0), key(scene, fix, box=True)]),
                  scene.mask)
    print(f"correction at {fix}; frames after it: {base.jf_of(after):.4f} -> {fixed.jf_of(after):.4f}")
    assert fixed.jf_of(after) >= base.jf_of(after) + 0.01
    assert fixed.jf_of(range(fix, scene.frame_count)) >= 0.95


DAVIS_FRAMES = 25      # a subset keeps the test quick; docs/mattes.md reports whole clips
# About 0.1 under what the no-weights backend measures on these frames (0.90, 0.56, 0.71):
# room for codec and platform differences, while a broken walk (mask lost or swallowing the
# background) scores under 0.3. Car and dog are hard for colour models: a dark roof on dark
# shadows, fast non-rigid motion with motion blur. See docs/mattes.md.
DAVIS_MIN_JF = {"blackswan": 0.8, "car-roundabout": 0.5, "dog": 0.6}


@pytest.mark.skipif(not DAVIS.is_dir(), reason=MISSING_REASON)
@pytest.mark.parametrize("name", sorted(DAVIS_MIN_JF))
def test_davis_clip_from_first_frame_clicks(client, tmp_path, name):
    folder = DAVIS / name
    truth = lambda n: cv2.imread(str(folder / "masks" / f"{n:05d}.png"), 0) > 127  # noqa: E731
    prompts = prompts_from_mask(truth(0), include=3, exclude=2)
    result = matte(client, folder / "clip.mp4", tmp_path, [{"frame": 0, **prompts}],
                   range=[0, DAVIS_FRAMES - 1])
    s = score_result(result, truth)
    print(f"DAVIS {name}, frames 0-{DAVIS_FRAMES - 1}:", s.summary())
    assert s.jf >= DAVIS_MIN_JF[name]


# ---- the walk holds the object ---------------------------------------------------------------

@pytest.fixture(scope="module")
def hard_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hard")
    return {kind: render_hard_clip(folder / f"{kind}.mp4", kind) for kind in HARD_KINDS}


# About 0.05 under what the walk measures from frame 0's clicks through the job (occluder
# 0.96, behind 0.83, fast 0.90, scale 0.97); the band cut alone, without the remembered colours
# and shape, loses the occluded object (occluder 0.58, behind 0.50).
HARD_MIN_JF = {"occluder": 0.9, "behind": 0.7, "fast": 0.84, "scale": 0.93}


@pytest.mark.parametrize("kind", sorted(HARD_MIN_JF))
def test_hard_clip_holds_the_object(client, hard_clips, tmp_path, kind):
    clip = hard_clips[kind]
    prompts = prompts_from_mask(clip.mask(0) > 0.5, include=3, exclude=2)
    s = score_result(matte(client, clip.path, tmp_path, [{"frame": 0, **prompts}]), clip.mask)
    print(f"hard clip {kind}:", s.summary(), "worst frame J", round(min(s.j), 3))
    assert s.jf >= HARD_MIN_JF[kind]
    if kind != "behind":
        # Never lost: no frame's mask collapses while some of the object shows.
        assert min(s.j) >= 0.5


def walk_from_true_mask(clip):
    return walk_and_score(clip.path, lambda n: clip.mask(n) > 0.5, create_backend("classical"), "mask")


def test_occluded_part_comes_back(hard_clips):
    """Once the post has passed, the part it hid is in the mask again."""
    clip = hard_clips["occluder"]
    walk = walk_from_true_mask(clip)
    hidden = [n for n in range(clip.frame_count) if (clip.distractor[n] * (clip.mask(0) > 0.5)).sum() > 0]
    after = list(range(max(hidden) + 3, clip.frame_count))
    j_after = [walk.score.j[n] for n in after]
    print(f"occluder: hidden over frames {min(hidden)}-{max(hidden)}, J after: {min(j_after):.3f} min")
    assert after and min(j_after) >= 0.85


def test_hidden_object_is_found_again(hard_clips):
    """The object goes wholly behind a post: the matte is empty while it is hidden, and holds
    the object again once it is out."""
    clip = hard_clips["behind"]
    walk = walk_from_true_mask(clip)
    areas = [float((m > 0.5).sum()) for m in clip.masks]
    hidden = [n for n, a in enumerate(areas) if a == 0]
    out = [n for n in range(max(hidden), clip.frame_count) if areas[n] >= 0.9 * areas[0]]
    j_hidden = [round(walk.score.j[n], 3) for n in hidden]
    j_out = [round(walk.score.j[n], 3) for n in out]
    print(f"behind: hidden over frames {min(hidden)}-{max(hidden)}; J while hidden {j_hidden}, "
          f"once out {j_out}")
    # Measured: 1.0 on every hidden frame (empty); once out 0.83 to 0.95, mean 0.91. Before the
    # walk ignored the motion evidence where the flow explains nothing (the trailing half,
    # uncovered beside the still post, took the post's flow and was called background) and
    # before a cut that lost part of the object stopped teaching the background model that
    # part's colours, it measured 0.41 to 0.51 (mean 0.46). The band cut alone never finds the
    # object again (J 0).
    assert np.mean(j_hidden) >= 0.8
    assert out and min(j_out) >= 0.75 and np.mean(j_out) >= 0.83


def test_fast_small_object_is_found_again(hard_clips):
    """A small object moving 1.5 of its sizes a frame: the flow loses it; the walk finds it
    again from the keyframe's colours around where it was, again and again."""
    clip = hard_clips["small"]
    walk = walk_from_true_mask(clip)
    found = [n for n, j in enumerate(walk.score.j) if j >= 0.5]
    print(f"small: J&F {walk.score.jf:.3f}, frames with J >= 0.5: {len(found)} of {clip.frame_count}")
    # Measured 0.57 J&F; the band cut alone keeps it only on the keyframe (0.03).
    assert walk.score.jf >= 0.4
    assert max(found) >= clip.frame_count // 2      # still found in the clip's second half


# About 0.05 under the mean J&F the walk measures over the three whole clips (from the mask
# 0.77, from clicks 0.70; the band cut alone: 0.70 and 0.68).
DAVIS_MEAN_MIN_JF = {"mask": 0.71, "clicks": 0.66}


@pytest.mark.skipif(not DAVIS.is_dir(), reason=MISSING_REASON)
@pytest.mark.parametrize("protocol", sorted(DAVIS_MEAN_MIN_JF))
def test_davis_whole_clips_mean(protocol):
    backend = create_backend("classical")
    scores = {}
    for name in sorted(DAVIS_MIN_JF):
        folder = DAVIS / name
        truth = lambda n, f=folder: cv2.imread(str(f / "masks" / f"{n:05d}.png"), 0) > 127  # noqa: E731
        scores[name] = walk_and_score(folder / "clip.mp4", truth, backend, protocol).score.jf
    mean = float(np.mean(list(scores.values())))
    print(f"DAVIS from the {protocol}:", {k: round(v, 3) for k, v in scores.items()}, f"mean {mean:.3f}")
    assert mean >= DAVIS_MEAN_MIN_JF[protocol]
