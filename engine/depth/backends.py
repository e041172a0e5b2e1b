"""Which depth backends exist here, which one ``auto`` means, and making one.

- ``parallax``: always; needs no weights (:mod:`.parallax`).
- every ``depth`` model of the model registry (Depth Anything V2 Small, the non-commercial
  Base as opt-in, models other packages register): available when torch and transformers
  import and its weights are in the store (:mod:`.anything_v2`).
- ``auto``: the first commercial-safe installed model in registry order (V2 Small first),
  else ``parallax``. Opt-in (non-commercial) models run only when named.

The table goes to the engine's backend registry (:mod:`moviola.engine.backends`, through
:func:`backends`), which answers availability and ``auto`` for every task the same way.
Availability is decided without importing torch, so the engine's server thread can check a
request before it is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import backends as engine_backends
from ..models.checkpoints import read_config
from ..models.registry import ModelRegistry, ModelSpec
from ..models.store import WeightsStore, require_store
from ..models.tensorrt import EngineCache
from .base import DepthBackend

__all__ = ["AUTO", "PARALLAX", "BackendOptions", "backends", "available", "resolve",
           "is_metric", "min_frames", "create"]

AUTO = "auto"
PARALLAX = "parallax"


@dataclass(frozen=True)
class BackendOptions:
    working_size: int = 0            # shorter side of the working resolution; 0: the backend's
    fov_deg: float | None = None     # parallax: horizontal field of view
    device: str = "auto"
    precision: str = "auto"
    runtime: str = "torch"
    engines: EngineCache | None = None   # the TensorRT engine cache; None: the default one


def _models(registry: ModelRegistry) -> list[ModelSpec]:
    return registry.for_task("depth", include_opt_in=True)


def backends(where: engine_backends.Where) -> list[engine_backends.Backend]:
    """The depth backends, best first: the registry's depth models, then parallax."""
    store, models = where.store, where.models
    table = [engine_backends.Backend(
        "depth", spec.name, engine_backends.weights_answer(store, spec),
        lambda options, _n=spec.name: create(_n, options, store, models),
        opt_in=spec.opt_in, info={"license": spec.license, "weights": True})
        for spec in _models(models)]
    table.append(engine_backends.Backend(
        "depth", PARALLAX, lambda: (True, ""),
        lambda options: create(PARALLAX, options, store, models),
        info={"license": "Apache-2.0", "weights": False}))
    return table


def available(store: WeightsStore, registry: ModelRegistry) -> list[dict[str, Any]]:
    """Every backend with whether it can run here, and why not."""
    return engine_backends.status(engine_backends.Where(store, registry), tasks=["depth"])["depth"]


def resolve(name: str, store: WeightsStore, registry: ModelRegistry) -> str:
    """The backend ``name`` stands for (``auto`` chooses), checked to be runnable here.

    Raises:
        InvalidParamsError: an unknown name, or a backend that cannot run here (says why).
    """
    return engine_backends.choose("depth", name, engine_backends.Where(store, registry),
                                  label="depth backend").name


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


def create(name: str, options: BackendOptions, store: WeightsStore | None,
           registry: ModelRegistry) -> DepthBackend:
    """A ready backend for a resolved name (the neural ones verify and load their weights)."""
    if name == PARALLAX:
        from .parallax import ParallaxBackend

        return ParallaxBackend(options.fov_deg, options.working_size)
    from .anything_v2 import DepthAnythingBackend

    return DepthAnythingBackend(registry.get(name), require_store(store, name),
                                working_size=options.working_size,
                                device=options.device, precision=options.precision,
                                runtime=options.runtime, engines=options.engines)
