"""What the engine knows, read once: its settings, model registry, weights store and devices.

The engine builds one :class:`EngineView` at start and hands it to every job's ``check`` and
``run`` (through :class:`~moviola.engine.jobs.base.JobContext`), so no job or backend reads
the config file or scans entry points again. Scripts and tests that run a job without an
engine make one with :meth:`EngineView.load`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from . import devices
from .config import Settings, load_settings
from .models.registry import ModelRegistry
from .models.store import WeightsStore

__all__ = ["EngineView"]


class EngineView:
    """The engine's one copy of each: ``settings``, ``models``, ``store``, ``devices`` and
    ``runtimes``. Devices are looked up on first use (listing CUDA devices imports torch),
    then kept."""

    def __init__(self, settings: Settings, models: ModelRegistry,
                 store: WeightsStore | None = None) -> None:
        self.settings = settings
        self.models = models
        self.store = store or WeightsStore(settings.weights_path, settings.site_weights_path)

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> EngineView:
        """Read the config and the model registry: for callers without an engine."""
        return cls(load_settings(overrides), ModelRegistry.default())

    @cached_property
    def devices(self) -> list[dict[str, Any]]:
        return devices.devices()

    @cached_property
    def runtimes(self) -> dict[str, bool]:
        """Compute stacks usable here (``hello``'s ``runtimes``): torch, cuda, tensorrt..."""
        return devices.backends()
