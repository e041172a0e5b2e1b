"""Ray-cast synthetic scenes with exact depth, for measuring depth passes.

A scene is a textured ground plane, a back wall, a side wall and three spheres, seen by a
pinhole camera that moves along a path: a dolly in, a truck (sideways), a crane (up), an orbit
around a point in the scene, a pan, or nothing. ``dolly_drift`` is a faster dolly in that
drifts sideways. ``dolly_slow`` creeps straight in, looking almost level: most of the frame
sits near the focus of expansion, where motion parallax carries little depth. ``pass`` is
the truck with a near ball that enters the frame half-way: the depth range of the frame
changes, which is what makes per-frame normalisation pump.
``late_truck`` holds still for the first half, then trucks. ``mover`` is the truck with a
ball that rolls across the ground on its own (independent motion: its flow disagrees with
the camera's epipolar geometry).
Every frame comes with its exact z-depth (distance along the camera's optical axis, in scene
units, at each pixel centre), and :meth:`Scene.correspondence` says where each pixel's scene
point lands in another frame, so temporal flicker can be measured on static scene points.

Images are supersampled (2x2 rays per pixel) so edges are anti-aliased like a real plate.
Textures are 3D value noise fixed to the world and the shading is view-independent, so the
brightness of a scene point does not change as the camera moves (what optical flow assumes).

:func:`tiny_depth_anything` saves a tiny randomly initialised Depth Anything checkpoint
(``config.json`` + ``model.safetensors``), so the neural path runs end to end without
downloading weights.

Import from tests as ``from depth_scenes import make_scene`` (pytest puts ``tests/`` on
sys.path). Nothing here uses the engine's own code. Scenes are cached per process, so test
modules share their renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

MOTIONS = ("dolly", "truck", "crane", "orbit", "dolly_drift", "mover", "pass", "late_truck",
           "dolly_slow", "pan", "static")


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    hfov_deg: float = 50.0

    @property
    def focal(self) -> float:
        return self.width / (2.0 * math.tan(math.radians(self.hfov_deg) / 2.0))

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.focal, 0.0, self.width / 2.0],
                         [0.0, self.focal, self.height / 2.0],
                         [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Pose:
    R: np.ndarray   # camera -> world rotation (camera axes: x right, y down, z forward)
    C: np.ndarray   # camera centre in the world (y up)


@dataclass(frozen=True)
class Plane:
    point: tuple[float, float, float]
    normal: tuple[float, float, float]
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class Sphere:
    centre: tuple[float, float, float]
    radius: float
    colour: tuple[float, float, float]


DEFAULT_OBJECTS = (
    Plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.55, 0.50, 0.40)),     # ground
    Plane((0.0, 0.0, 12.0), (0.0, 0.0, -1.0), (0.45, 0.55, 0.65)),   # back wall
    Plane((-4.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.65, 0.45, 0.45)),    # left wall
    Sphere((-1.0, 0.7, 5.0), 0.7, (0.85, 0.30, 0.25)),
    Sphere((1.5, 1.0, 7.5), 1.0, (0.30, 0.70, 0.35)),
    Sphere((0.4, 0.4, 3.6), 0.4, (0.90, 0.85, 0.30)),
)

NEAR_BALL = Sphere((1.1, 1.2, 1.3), 0.3, (0.35, 0.45, 0.9))   # in view from ~frame 8 of a pass


@dataclass(frozen=True)
class MovingSphere:
    """A sphere that moves on its own: at frame i its centre is ``start + i * velocity``. Its
    texture moves with it (fixed to the sphere, not to the world)."""

    start: tuple[float, float, float]
    velocity: tuple[float, float, float]
    radius: float
    colour: tuple[float, float, float]

    def offset(self, i: int) -> np.ndarray:
        return i * np.asarray(self.velocity, dtype=np.float64)

    def at(self, i: int) -> Sphere:
        return Sphere(tuple(np.asarray(self.start) + self.offset(i)), self.radius, self.colour)


# Rolls towards the camera's left and away from it, rising a little: its flow crosses the
# truck's (horizontal) epipolar lines.
ROLLING_BALL = MovingSphere((1.6, 0.55, 4.0), (-0.05, 0.025, 0.08), 0.55, (0.35, 0.45, 0.9))
ORBIT_TARGET = (0.3, 0.8, 5.5)

_LIGHT = np.array([0.4, 0.8, -0.45]) / np.linalg.norm([0.4, 0.8, -0.45])


def _rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


_CAM_TO_WORLD = np.diag([1.0, -1.0, 1.0])  # camera y points down, world y up


def look_pose(position: tuple[float, float, float], yaw_deg: float = 0.0,
              pitch_deg: float = -8.0) -> Pose:
    """A camera at ``position`` looking along +z, turned by ``yaw`` (right is positive) and
    tilted by ``pitch`` (negative looks down)."""
    R = _rot_y(yaw_deg) @ _rot_x(-pitch_deg) @ _CAM_TO_WORLD
    return Pose(R, np.asarray(position, dtype=np.float64))


def orbit_pose(target: tuple[float, float, float], radius: float, angle_deg: float,
               height: float) -> Pose:
    """A camera on a circle of ``radius`` around ``target`` (at ``height``), looking at it."""
    a = math.radians(angle_deg)
    position = (target[0] - radius * math.sin(a), height, target[2] - radius * math.cos(a))
    dx, dy, dz = (target[0] - position[0], target[1] - position[1], target[2] - position[2])
    yaw = math.degrees(math.atan2(dx, dz))
    pitch = math.degrees(math.atan2(dy, math.hypot(dx, dz)))
    return look_pose(position, yaw_deg=yaw, pitch_deg=pitch)


def camera_path(motion: str, frames: int) -> list[Pose]:
    """Poses of a camera move: ``dolly`` (in, drifting a little sideways), ``dolly_drift``
    (in, faster, drifting more), ``dolly_slow`` (creeping in, level), ``truck``, ``pass`` and
    ``mover`` (sideways), ``crane`` (up, tilting down a little), ``orbit`` (around a point 6.5
    units ahead), ``late_truck`` (still, then sideways from half-way), ``pan`` (rotation only)
    or ``static``."""
    if motion not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}, not {motion!r}")
    poses = []
    for i in range(frames):
        if motion == "dolly":
            poses.append(look_pose((0.3 + 0.015 * i, 1.5, -1.0 + 0.09 * i)))
        elif motion == "dolly_drift":
            poses.append(look_pose((-0.4 + 0.03 * i, 1.4, -1.0 + 0.16 * i), yaw_deg=2.0))
        elif motion == "dolly_slow":
            poses.append(look_pose((0.3 + 0.006 * i, 1.5, -1.0 + 0.04 * i), pitch_deg=-2.0))
        elif motion == "crane":
            poses.append(look_pose((0.2, 0.9 + 0.07 * i, -1.0), pitch_deg=-4.0 - 0.4 * i))
        elif motion == "orbit":
            poses.append(orbit_pose(ORBIT_TARGET, 6.5, -8.0 + 1.0 * i, 1.7))
        elif motion in ("truck", "pass", "mover"):
            poses.append(look_pose((-0.9 + 0.07 * i, 1.5, -1.0), yaw_deg=3.0))
        elif motion == "late_truck":
            moved = max(0, i - frames // 2)
            poses.append(look_pose((-0.9 + 0.07 * moved, 1.5, -1.0), yaw_deg=3.0))
        elif motion == "pan":
            poses.append(look_pose((0.2, 1.5, -1.0), yaw_deg=-6.0 + 0.5 * i))
        else:
            poses.append(look_pose((0.2, 1.5, -1.0)))
    return poses


# ---- texture: 3D value noise fixed to the world ---------------------------------------------

_LATTICE = np.random.default_rng(12345).random((64, 64, 64))   # value noise lattice, tiled


def value_noise(points: np.ndarray, frequency: float) -> np.ndarray:
    p = points * frequency
    base = np.floor(p).astype(np.int64)
    f = p - base
    f = f * f * (3.0 - 2.0 * f)
    i, j, k = (base[..., 0] & 63), (base[..., 1] & 63), (base[..., 2] & 63)
    i1, j1, k1 = (i + 1) & 63, (j + 1) & 63, (k + 1) & 63
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    lat = _LATTICE
    x00 = lat[i, j, k] + fx * (lat[i1, j, k] - lat[i, j, k])
    x10 = lat[i, j1, k] + fx * (lat[i1, j1, k] - lat[i, j1, k])
    x01 = lat[i, j, k1] + fx * (lat[i1, j, k1] - lat[i, j, k1])
    x11 = lat[i, j1, k1] + fx * (lat[i1, j1, k1] - lat[i, j1, k1])
    y0 = x00 + fy * (x10 - x00)
    y1 = x01 + fy * (x11 - x01)
    return y0 + fz * (y1 - y0)


def texture(points: np.ndarray) -> np.ndarray:
    return (0.45 * value_noise(points, 1.7) + 0.35 * value_noise(points, 4.3)
            + 0.20 * value_noise(points, 9.1))


# ---- ray casting ----------------------------------------------------------------------------

def _cast(objects, origin: np.ndarray, dirs: np.ndarray):
    """Nearest hit along ``origin + t * dirs`` (t is the camera z-depth); returns t, the
    object index and the surface normal at the hit."""
    n_rays = dirs.shape[0]
    best = np.full(n_rays, np.inf)
    index = np.full(n_rays, -1)
    normals = np.zeros((n_rays, 3))
    for k, obj in enumerate(objects):
        if isinstance(obj, Plane):
            n = np.asarray(obj.normal, dtype=np.float64)
            denom = dirs @ n
            with np.errstate(divide="ignore", invalid="ignore"):
                t = ((np.asarray(obj.point) - origin) @ n) / denom
            hit = (np.abs(denom) > 1e-9) & (t > 1e-6) & (t < best)
            best[hit], index[hit] = t[hit], k
            normals[hit] = n
        else:
            c = np.asarray(obj.centre, dtype=np.float64)
            oc = origin - c
            a = np.einsum("ij,ij->i", dirs, dirs)
            b = dirs @ oc
            cc = oc @ oc - obj.radius ** 2
            disc = b * b - a * cc
            with np.errstate(invalid="ignore"):
                t = (-b - np.sqrt(disc)) / a
            hit = (disc > 0) & (t > 1e-6) & (t < best)
            best[hit], index[hit] = t[hit], k
            pts = origin + t[hit, None] * dirs[hit]
            normals[hit] = (pts - c) / obj.radius
    return best, index, normals


@dataclass
class Scene:
    """A scene seen along a camera path; frames render on demand."""

    name: str
    camera: Camera
    poses: list[Pose]
    objects: tuple = DEFAULT_OBJECTS
    moving: tuple[MovingSphere, ...] = ()
    supersample: int = 2
    _cache: dict = field(default_factory=dict, repr=False)
    _moving_masks: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.poses)

    def objects_at(self, i: int) -> tuple:
        return self.objects + tuple(m.at(i) for m in self.moving)

    def moving_mask(self, i: int) -> np.ndarray:
        """Pixels of frame ``i`` that see an independently moving object."""
        self.render(i)
        return self._moving_masks[i]

    def _rays(self, pose: Pose, offsets: np.ndarray) -> np.ndarray:
        cam = self.camera
        u, v = np.meshgrid(np.arange(cam.width, dtype=np.float64),
                           np.arange(cam.height, dtype=np.float64))
        u = (u[..., None] + offsets[None, None, :, 0]).reshape(-1)
        v = (v[..., None] + offsets[None, None, :, 1]).reshape(-1)
        d_cam = np.stack([(u + 0.5 - cam.width / 2) / cam.focal,
                          (v + 0.5 - cam.height / 2) / cam.focal, np.ones_like(u)], axis=-1)
        return d_cam @ pose.R.T

    def render(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``i``: (HxWx3 uint8 sRGB-ish image, HxW float32 z-depth)."""
        if i in self._cache:
            return self._cache[i]
        cam, pose = self.camera, self.poses[i]
        objects = self.objects_at(i)
        s = self.supersample
        grid = (np.arange(s) + 0.5) / s - 0.5
        offsets = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
        dirs = self._rays(pose, offsets)
        t, index, normals = _cast(objects, pose.C, dirs)
        points = pose.C + t[:, None] * dirs
        for k, mover in enumerate(self.moving):      # textures fixed to the moving object
            on = index == len(self.objects) + k
            points[on] -= mover.offset(i)
        colours = np.array([o.colour for o in objects])[index]
        shade = 0.35 + 0.65 * np.clip(normals @ _LIGHT, 0.0, 1.0)
        value = colours * (shade * (0.35 + 0.9 * texture(points)))[:, None]
        image = value.reshape(cam.height, cam.width, s * s, 3).mean(axis=2)
        image = np.clip(image, 0.0, 1.0) ** (1 / 2.2)
        depth, hit, _ = _cast(objects, pose.C, self._rays(pose, np.zeros((1, 2))))
        self._moving_masks[i] = (hit >= len(self.objects)).reshape(cam.height, cam.width)
        out = (np.round(image * 255).astype(np.uint8),
               depth.reshape(cam.height, cam.width).astype(np.float32))
        self._cache[i] = out
        return out

    def depth(self, i: int) -> np.ndarray:
        return self.render(i)[1]

    def image(self, i: int) -> np.ndarray:
        return self.render(i)[0]

    def correspondence(self, t: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each pixel of frame ``t`` lands in frame ``s``: (map_x, map_y) in ``s``'s
        pixel coordinates (pixel centres at integers) and a mask of pixels whose scene point
        is static, in view and not occluded in ``s`` (its depth there matches within 0.5 %)."""
        cam = self.camera
        K, Kinv = cam.K, np.linalg.inv(cam.K)
        z = self.depth(t).astype(np.float64)
        u, v = np.meshgrid(np.arange(cam.width) + 0.5, np.arange(cam.height) + 0.5)
        rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ Kinv.T
        world = (rays * z[..., None]) @ self.poses[t].R.T + self.poses[t].C
        in_s = (world - self.poses[s].C) @ self.poses[s].R  # R^T (X - C), row-vector form
        proj = in_s @ K.T
        zs = proj[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            mx = proj[..., 0] / zs - 0.5
            my = proj[..., 1] / zs - 0.5
        inside = (zs > 1e-6) & (mx >= 0) & (my >= 0) & (mx <= cam.width - 1) & (my <= cam.height - 1)
        depth_s = self.depth(s).astype(np.float64)
        xi = np.clip(np.round(mx).astype(int), 0, cam.width - 1)
        yi = np.clip(np.round(my).astype(int), 0, cam.height - 1)
        visible = inside & (np.abs(depth_s[yi, xi] - zs) < 0.005 * zs) & ~self.moving_mask(t)
        return mx.astype(np.float32), my.astype(np.float32), visible


@cache
def make_scene(motion: str, frames: int = 16, size: tuple[int, int] = (160, 120),
               hfov_deg: float = 50.0) -> Scene:
    """The standard scene seen along ``motion`` for ``frames`` frames at ``size`` (w, h);
    the same arguments give the same (cached) scene."""
    objects = DEFAULT_OBJECTS + ((NEAR_BALL,) if motion == "pass" else ())
    moving = (ROLLING_BALL,) if motion == "mover" else ()
    return Scene(motion, Camera(size[0], size[1], hfov_deg), camera_path(motion, frames), objects,
                 moving)


def write_sequence(scene: Scene, folder: str | Path, start: int = 1001,
                   name: str | None = None) -> str:
    """Write the scene's frames as a PNG sequence numbered from ``start``; return its
    printf pattern (``<folder>/<name>.%04d.png``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or scene.name
    for i in range(len(scene)):
        image = scene.image(i)
        spec = oiio.ImageSpec(image.shape[1], image.shape[0], 3, oiio.UINT8)
        out = oiio.ImageOutput.create(str(folder / f"{name}.{start + i:04d}.png"))
        out.open(str(folder / f"{name}.{start + i:04d}.png"), spec)
        out.write_image(image)
        out.close()
    return str(folder / f"{name}.%04d.png")


def tiny_depth_anything(folder: str | Path, *, metric: bool = False, seed: int = 0) -> Path:
    """Save a tiny random Depth Anything checkpoint (about 140k parameters) into ``folder``
    with ``save_pretrained`` (``config.json`` + ``model.safetensors``); return the folder."""
    import torch
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
    )

    torch.manual_seed(seed)
    backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                            intermediate_size=64, patch_size=14, image_size=56,
                            out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, neck_hidden_sizes=[8, 16, 32, 32],
                                 fusion_hidden_size=16, head_hidden_size=8,
                                 reassemble_hidden_size=32, patch_size=14,
                                 initializer_range=0.3,
                                 depth_estimation_type="metric" if metric else "relative",
                                 max_depth=20)
    model = DepthAnythingForDepthEstimation(config).eval()
    folder = Path(folder)
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder


def write_movie(scene: Scene, path: str | Path, rate: int = 24) -> Path:
    """Write the scene's frames as an H.264 movie (frame i at pts i); return its path."""
    import av

    path = Path(path)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = scene.camera.width, scene.camera.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for i in range(len(scene)):
            frame = av.VideoFrame.from_ndarray(scene.image(i), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
