"""The classical backend's keyframe: clicks on one frame -> the object's mask.

Clicks follow the protocol of the quality benchmark (``benchmarks/matte_quality.py``): 3
include clicks at interior maxima of the true mask and 2 exclude clicks just outside it.
Synthetic stills (tests/keyframe_scenes.py) have exact masks; every 5th frame of the real
DAVIS clips in ../shared/data/davis has its published mask (skipped when the folder is absent).
"""

from __future__ import annotations

import heapq

import cv2
import numpy as np
import pytest

from keyframe_scenes import all_scenes, davis_keyframes, large_at_border, multi_part, with_hole
from matte_clips import prompts_from_mask
from moviola.engine.matte.classical import ClassicalBackend
from moviola.engine.matte.frames import to_working
from moviola.engine.matte.graphcut import click_radius, segment_from_prompts
from moviola.engine.matte.keyframe import clicks_region, geodesic_distance, ignored_clicks, segment_keyframe
from moviola.engine.matte.metrics import region_j
from moviola.engine.matte.prompts import Prompts, parse_prompts
from shared_data import MISSING_REASON, SHARED_DATA

DAVIS = SHARED_DATA / "davis"
CLIPS = ("blackswan", "car-roundabout", "dog")


def clicks(mask: np.ndarray) -> Prompts:
    return parse_prompts(**prompts_from_mask(mask, include=3, exclude=2))


@pytest.fixture(scope="module")
def scenes():
    """Each synthetic scene with its clicks and the keyframe's mask."""
    out = []
    for scene in all_scenes():
        prompts = clicks(scene.mask)
        out.append((scene, prompts, segment_keyframe(scene.image, prompts)))
    return out


def dijkstra(seeds: np.ndarray, step_x: np.ndarray, step_y: np.ndarray) -> np.ndarray:
    """Textbook 4-connected shortest paths, the reference for the sweeps."""
    h, w = seeds.shape
    dist = np.full((h, w), np.inf)
    heap = [(float(seeds[y, x]), y, x) for y, x in zip(*np.nonzero(np.isfinite(seeds)))]
    heapq.heapify(heap)
    while heap:
        d, y, x = heapq.heappop(heap)
        if d >= dist[y, x]:
            continue
        dist[y, x] = d
        for ny, nx, cost in ((y, x + 1, step_x[y, x] if x + 1 < w else 0),
                             (y, x - 1, step_x[y, x - 1] if x > 0 else 0),
                             (y + 1, x, step_y[y, x] if y + 1 < h else 0),
                             (y - 1, x, step_y[y - 1, x] if y > 0 else 0)):
            if 0 <= ny < h and 0 <= nx < w and d + cost < dist[ny, nx]:
                heapq.heappush(heap, (d + cost, ny, nx))
    return dist


def test_geodesic_sweeps_match_shortest_paths():
    rng = np.random.default_rng(0)
    h, w = 23, 31
    seeds = np.full((h, w), np.inf)
    seeds[3, 4], seeds[18, 25] = 0.0, 2.5
    for walls in (0.0, 0.2):
        # Noisy ground; with walls of expensive steps the shortest paths must wind round them.
        step_x = 1.0 + rng.random((h, w - 1)) + 50.0 * (rng.random((h, w - 1)) < walls)
        step_y = 1.0 + rng.random((h - 1, w)) + 50.0 * (rng.random((h - 1, w)) < walls)
        exact = dijkstra(seeds, step_x, step_y)
        swept = geodesic_distance(seeds, step_x, step_y, rounds=3)
        assert np.all(swept >= exact - 1e-3)                   # never shorter than a real path
        if not walls:                                          # open ground: 3 rounds are enough
            excess = swept[exact > 0] / exact[exact > 0] - 1
            assert excess.mean() < 0.02 and excess.max() < 0.15
        converged = geodesic_distance(seeds, step_x, step_y, rounds=h + w)
        np.testing.assert_allclose(converged, exact, rtol=1e-5)


def test_clicks_are_honoured_on_every_scene(scenes):
    for scene, prompts, mask in scenes:
        for x, y in prompts.include:
            assert mask[int(y), int(x)], f"{scene.name}: include click ({x}, {y}) is outside"
        for x, y in prompts.exclude:
            assert not mask[int(y), int(x)], f"{scene.name}: exclude click ({x}, {y}) is inside"


def test_an_exclude_click_on_the_object_takes_that_part_out():
    scene = multi_part()
    prompts = clicks(scene.mask)
    # The artist does not want the head: one exclude click in its middle.
    head = (int(0.48 * 480 + 110), int(0.5 * 270 - 30))
    assert scene.mask[head[1], head[0]]
    mask = segment_keyframe(scene.image, Prompts(prompts.include, (*prompts.exclude, head)))
    assert not mask[head[1], head[0]]


def test_keyframe_j_on_synthetic_scenes(scenes):
    js = {scene.name: float(region_j(mask, scene.mask)) for scene, _, mask in scenes}
    print("keyframe J:", {k: round(v, 3) for k, v in js.items()},
          f"mean {np.mean(list(js.values())):.3f}")
    # Measured: mean 0.927, the lowest 0.757 (multi_part, whose pale legs and tail look like
    # the ground); these thresholds leave room for codec and platform differences.
    assert np.mean(list(js.values())) >= 0.90
    assert min(js.values()) >= 0.70


def test_parts_of_another_colour_join_the_clicked_part():
    # Clicks all land on the body; the head is another colour. Disc-seeded GrabCut alone
    # measured J 0.62 (body only); with the clicks' region 0.76 (body and head).
    scene = multi_part()
    prompts = clicks(scene.mask)
    old = region_j(segment_from_prompts(scene.image, prompts), scene.mask)
    new = region_j(segment_keyframe(scene.image, prompts), scene.mask)
    print(f"multi_part J: disc seeds {old:.3f}, clicks' region {new:.3f}")
    assert new >= old + 0.08


def test_a_click_the_cut_ignores_falls_back_to_disc_seeds():
    # The clicks' region covers the head but not the coat touching the border: seeded with
    # it, the cut drops the coat to the disc under its click. The fallback keeps the coat.
    scene = large_at_border()
    prompts = clicks(scene.mask)
    mask = segment_keyframe(scene.image, prompts)
    assert ignored_clicks(mask, prompts, click_radius(*mask.shape)) == 0
    assert region_j(mask, scene.mask) >= 0.9


@pytest.mark.skipif(not DAVIS.is_dir(), reason=MISSING_REASON)
def test_keyframe_j_on_every_fifth_davis_frame():
    # Every 5th frame of each clip as a keyframe (37 frames), not frame 0 alone: one frame's J
    # moves by several hundredths when a click moves by a pixel.
    backend = ClassicalBackend()
    js: dict[str, list[float]] = {clip: [] for clip in CLIPS}
    for key in davis_keyframes([DAVIS / clip for clip in CLIPS], step=5):
        image = to_working(key.image, backend.working_size)
        h, w = image.shape[:2]
        prompts = clicks(key.mask).scaled(w / key.mask.shape[1], h / key.mask.shape[0])
        mask = backend.segment(image, prompts)
        full = cv2.resize(mask, key.mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
        js[key.name.split("/")[0]].append(float(region_j(full, key.mask)))
    every = [j for clip_js in js.values() for j in clip_js]
    print("DAVIS keyframe J, mean per clip:", {k: round(float(np.mean(v)), 3) for k, v in js.items()},
          f"all: mean {np.mean(every):.3f} median {np.median(every):.3f} worst {min(every):.3f}")
    # Measured: blackswan 0.893, car-roundabout 0.699, dog 0.840; all 37 frames mean 0.797,
    # median 0.832, worst 0.590 (GrabCut on RGB, before Lab: 0.867, 0.663, 0.770; 0.753,
    # 0.700, 0.505).
    assert len(every) == 37
    assert np.mean(every) >= 0.77 and np.median(every) >= 0.79
    assert min(every) >= 0.50
    for clip, floor in (("blackswan", 0.86), ("car-roundabout", 0.66), ("dog", 0.80)):
        assert np.mean(js[clip]) >= floor, clip


def test_the_clicks_region_does_not_depend_on_the_working_size():
    # At 1080p a path is four times as long as at 480x270 but an edge costs the same: computed
    # as it comes, the region spread further (J 0.80 against the small one's). It is computed
    # at one size instead.
    scene = with_hole()
    prompts = clicks(scene.mask)
    h, w = scene.mask.shape
    region = clicks_region(scene.image, prompts)
    big = cv2.resize(scene.image, (4 * w, 4 * h), interpolation=cv2.INTER_CUBIC)
    big_region = clicks_region(big, prompts.scaled(4.0, 4.0))
    back = cv2.resize(big_region.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0
    assert region_j(back, region) >= 0.95


@pytest.mark.skipif(not DAVIS.is_dir(), reason=MISSING_REASON)
def test_one_click_on_the_dog_gives_the_dog():
    # One include click, nothing excluded: the disc-seeded cut alone measured J 0.01 here (it
    # kept little more than the click's disc); with the clicks' region 0.68.
    frame = cv2.imread(str(DAVIS / "dog" / "frames" / "00000.jpg"))[..., ::-1]
    truth = cv2.imread(str(DAVIS / "dog" / "masks" / "00000.png"), cv2.IMREAD_GRAYSCALE) > 127
    image = to_working(np.ascontiguousarray(frame), 480)
    h, w = image.shape[:2]
    prompts = parse_prompts(**prompts_from_mask(truth, include=1, exclude=0))
    mask = segment_keyframe(image, prompts.scaled(w / truth.shape[1], h / truth.shape[0]))
    full = cv2.resize(mask.astype(np.float32), truth.shape[::-1], interpolation=cv2.INTER_LINEAR)
    assert region_j(full, truth) >= 0.55
