"""What installing a neural model would add, per task, for clients to offer (``hello``'s ``offers``).

For mattes and depth, the model ``auto`` would run when its weights are in the store: SAM 2.1
Hiera-Tiny (the matte backend's default) and the first commercial-safe depth model of the
registry. An offer names the model, its licence, its download size (the sum of the sizes the
registry lists, ``size_exact`` when it lists them all), whether the registry pins a download
(else: install from a file), the exact command, and what it adds over the backend that needs
no weights. No offer where the model is installed.
"""

from __future__ import annotations

from typing import Any

from ..devices import missing_packages
from .registry import ModelRegistry, ModelSpec
from .store import WeightsStore, install_command

__all__ = ["ADDS", "model_offers", "offer_for"]

# The matte backend's default model (``matte.sam2.DEFAULT_MODEL``, not imported: it loads numpy).
MATTE_MODEL = "sam2.1-hiera-tiny"

#: Per task: what the neural model adds over the backend that needs no weights.
ADDS = {
    "matte": "SAM 2.1 finds the whole object from one click and keeps it through occlusions, "
             "fast motion and similar colours, where the classical backend follows colour and "
             "motion only",
    "depth": "Depth Anything V2 gives depth on every shot, locked-off camera and moving objects "
             "included, where parallax needs a moving camera over a still scene",
}


def _default_spec(task: str, registry: ModelRegistry) -> ModelSpec | None:
    if task == "matte":
        return next((s for s in registry.for_task("matte") if s.name == MATTE_MODEL), None)
    models = registry.for_task(task)
    return models[0] if models else None


def offer_for(spec: ModelSpec, store: WeightsStore, task: str | None = None) -> dict[str, Any]:
    """The offer of ``spec``: what a client shows before it installs it."""
    sizes = [f.size for f in spec.weights]
    return {"task": task or spec.task, "model": spec.name, "description": spec.description,
            "license": spec.license, "commercial_use": spec.commercial_use,
            "size": sum(s for s in sizes if s) or None, "size_exact": all(sizes),
            "download": all(f.url and f.sha256 for f in spec.weights),
            "files": [{"name": f.name, "size": f.size, "url": f.url} for f in spec.weights],
            "source": spec.source, "command": install_command(spec),
            "needs_packages": missing_packages(), "adds": ADDS.get(task or spec.task, "")}


def model_offers(store: WeightsStore, registry: ModelRegistry) -> dict[str, dict[str, Any]]:
    """Per task (matte, depth) the offer of its default neural model, where it is not installed."""
    out = {}
    for task in ADDS:
        spec = _default_spec(task, registry)
        if spec is not None and not spec.bundled and not store.installed(spec):
            out[task] = offer_for(spec, store, task)
    return out
