"""What the classical walk remembers: the keyframe's colours, the object's whole shape, and how
a lost object is looked for (engine/matte/appearance.py, shape_memory.py, track_cut.py)."""

from __future__ import annotations

import cv2
import numpy as np

from moviola.engine.matte.appearance import ColourMemory
from moviola.engine.matte.classical import ClassicalBackend
from moviola.engine.matte.shape_memory import ShapeMemory
from moviola.engine.matte.track_cut import reacquire_labels, within

H, W = 120, 160


def scene(cx: float, cy: float, r: float = 18.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy orange disc on a noisy green ground; the image and the disc's mask."""
    rng = np.random.default_rng(seed)
    image = np.empty((H, W, 3), np.float32)
    image[:] = (90, 140, 80)
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, (int(cx), int(cy)), int(r), 1, -1)
    image[mask.astype(bool)] = (230, 130, 60)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask.astype(bool)


def still_flow() -> np.ndarray:
    return np.zeros((H, W, 2), np.float32)


def test_colours_tell_the_object_from_its_surroundings_and_keep_the_keyframes_say():
    image, mask = scene(60, 60)
    colours = ColourMemory(image, mask)
    odds = colours.log_odds(image)
    assert np.median(odds[mask]) > 2 and np.median(odds[~within(mask, 4)]) < -2
    # Many frames where the "object" is mislabelled as the ground cannot make the ground the
    # object: the keyframe keeps most of the say.
    for _ in range(30):
        colours.update(image, ~mask)
    odds = colours.log_odds(image)
    assert np.median(odds[mask]) > 0


def test_the_shape_moves_with_the_object_and_keeps_moving_while_hidden():
    _, mask = scene(40, 60)
    shape = ShapeMemory(mask)
    flow = still_flow()
    flow[...] = (-3.0, 0.0)          # backward flow: each pixel came from 3 px to the left
    for _ in range(5):
        remembered = shape.carry(flow, shape.soft > 0.5)
        shape.remember(remembered)
    ys, xs = np.nonzero(shape.soft > 0.5)
    assert abs(xs.mean() - 55) < 1.5 and abs(ys.mean() - 60) < 1.5
    # Hidden (nothing visible, the flow says nothing): it goes on at its last shift and fades.
    for frame in range(1, 40):
        remembered = shape.carry(still_flow(), np.zeros((H, W), bool))
        if frame == 5:
            assert abs(np.nonzero(remembered)[1].mean() - 70) < 2
        if remembered.sum() == 0:
            break
    assert 12 <= frame <= 20          # forgotten after about 17 frames (DECAY 0.96)
    assert shape.trace.any()          # ... yet still a place to look


def test_a_lost_object_is_looked_for_near_where_it_was():
    image, mask = scene(100, 60)
    colours = ColourMemory(image, mask)
    # The same colours twice: a big patch far away, and the object near the remembered place.
    later, here = scene(70, 60)
    cv2.circle(later, (20, 20), 8, (230, 130, 60), -1)
    remembered = scene(80, 60)[1]
    labels = reacquire_labels(remembered, remembered.astype(np.float32), colours.log_odds(later),
                              reach=30, min_area=50)
    assert labels is not None
    picked = (labels == cv2.GC_PR_FGD)
    assert (picked & here).sum() >= 0.8 * here.sum() and not picked[:35, :35].any()


def test_the_walk_survives_an_empty_keyframe_and_an_object_gone_from_view():
    image, mask = scene(60, 60)
    backend = ClassicalBackend()
    empty = backend.tracker(image, np.zeros((H, W), np.float32))
    assert not empty.step(image, still_flow(), np.zeros((H, W), np.float32)).any()
    # The object leaves: a plain ground, nothing carried; the walk gives an empty matte.
    tracker = backend.tracker(image, mask.astype(np.float32))
    ground, _ = scene(-100, -100)
    for _ in range(3):
        out = tracker.step(ground, still_flow(), np.zeros((H, W), np.float32))
    assert out.dtype == np.float32 and not out.any()
