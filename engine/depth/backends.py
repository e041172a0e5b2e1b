"""Which depth backends exist here, which one ``auto`` means, and making one.

- ``parallax``: always; needs no weights (:mod:`.parallax`).
- every ``depth`` model of the model registry (Depth Anything V2 Small, the non-commercial
  Base as opt-in, models other packages register): available when torch and transformers
  import and its weights are in the store (:mod:`.anything_v2`).
- ``auto``: the first commercial-safe installed model in registry order (V2 Small first),
  else ``parallax``. Opt-in (non-commercial) models run only when named.

Availability is decided without importing torch, so the engine's server thread can check a
request before it is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moviola.plugin.errors import InvalidParamsError

from ..models.registry import ModelRegistry, ModelSpec
from ..models.store import WeightsStore
from .anything_v2 import EngineBuilder, read_config
from .base import DepthBackend

__all__ = ["AUTO", "PARALLAX", "BackendOptions", "available", "resolve", "is_metric",
           "min_frames", "create"]

AUTO = "auto"
PARALLAX = "parallax"


@dataclass(frozen=True)
class BackendOptions:
    working_size: int = 0            # shorter side of the working resolution; 0: the backend's
    fov_deg: float | None = None     # parallax: horizontal field of view
    device: str = "auto"
    precision: str = "auto"
    runtime: str = "torch"
    builder: EngineBuilder | None = None


def _models(registry: ModelRegistry) -> list[ModelSpec]:
    return registry.for_task("depth", include_opt_in=True)


def available(store: WeightsStore, registry: ModelRegistry) -> list[dict[str, Any]]:
    """Every backend with whether it can run here, and why not."""
    out = [{"name": PARALLAX, "available": True, "reason": "", "license": "Apache-2.0",
            "opt_in": False, "weights": False}]
    for spec in _models(registry):
        reason = store.unavailable_reason(spec)
        out.append({"name": spec.name, "available": not reason, "reason": reason,
                    "license": spec.license, "opt_in": spec.opt_in, "weights": True})
    return out


def resolve(name: str, store: WeightsStore, registry: ModelRegistry) -> str:
    """The backend ``name`` stands for (``auto`` chooses), checked to be runnable here.

    Raises:
        InvalidParamsError: an unknown name, or a backend that cannot run here (says why).
    """
    table = {b["name"]: b for b in available(store, registry)}
    if name == AUTO:
        for entry in table.values():
            if entry["weights"] and entry["available"] and not entry["opt_in"]:
                return entry["name"]
        return PARALLAX
    entry = table.get(name)
    if entry is None:
        raise InvalidParamsError(f"unknown depth backend {name!r}; known: "
                                 f"{', '.join([AUTO, *table])}", detail={"param": "backend"})
    if not entry["available"]:
        raise InvalidParamsError(f"depth backend {name!r} cannot run here: {entry['reason']}",
                                 detail={"param": "backend", "backend": name})
    return name


def is_metric(name: str, store: WeightsStore, registry: ModelRegistry) -> bool:
    """Whether a resolved backend predicts depth in scene units (read from its config)."""
    if name == PARALLAX:
        return False
    return read_config(store, registry.get(name)).get("depth_estimation_type") == "metric"


def min_frames(name: str) -> int:
    """Frames a clip needs for a resolved backend."""
    if name == PARALLAX:
        from .parallax import ParallaxBackend

        return ParallaxBackend.min_frames
    return DepthBackend.min_frames


def create(name: str, options: BackendOptions, store: WeightsStore,
           registry: ModelRegistry) -> DepthBackend:
    """A ready backend for a resolved name (the neural ones verify and load their weights)."""
    if name == PARALLAX:
        from .parallax import ParallaxBackend

        return ParallaxBackend(options.fov_deg, options.working_size)
    from .anything_v2 import DepthAnythingBackend

    return DepthAnythingBackend(registry.get(name), store, working_size=options.working_size,
                                device=options.device, precision=options.precision,
                                runtime=options.runtime, builder=options.builder)
