"""The job registry: built-in kinds, then kinds other packages register.

Other packages add kinds through the ``moviola.jobs`` entry-point group (each entry point names
a JobKind subclass), or a studio lists ``module:Class`` specs, comma-separated, in
``$MOVIOLA_JOB_PLUGINS``. A plugin that fails to load is logged and skipped, never fatal.
"""

from __future__ import annotations

import importlib
import logging
import os
from importlib.metadata import entry_points

from moviola.plugin.errors import UnknownJobKindError

from .base import JobKind

log = logging.getLogger(__name__)

# module:Class of every built-in kind; imported lazily so an optional dependency of one kind
# cannot stop the engine from starting.
BUILTIN_KINDS = (
    "moviola.engine.jobs.probe:ProbeJob",
    "moviola.engine.jobs.proxy:ProxyJob",
    "moviola.engine.jobs.sample:SampleJob",
    "moviola.engine.jobs.models:InstallModelJob",
    "moviola.engine.jobs.matte:MatteJob",
    "moviola.engine.jobs.matte:MattePreviewJob",
    "moviola.engine.jobs.shots:ShotsJob",
    "moviola.engine.jobs.matchcuts:MatchCutsJob",
    "moviola.engine.jobs.depth:DepthJob",
    "moviola.engine.jobs.frame:FrameJob",
)


def _load(spec: str) -> type[JobKind]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class JobRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def register(self, kind: type[JobKind]) -> None:
        self._kinds[kind.NAME] = kind()

    def get(self, name: str) -> JobKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownJobKindError(
                f"unknown job kind {name!r}; this engine runs: {', '.join(sorted(self._kinds))}",
                detail={"kind": name, "known": sorted(self._kinds)}) from None

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def describe(self) -> list[dict]:
        return [self._kinds[n].describe() for n in self.names()]

    @classmethod
    def default(cls) -> JobRegistry:
        registry = cls()
        for spec in BUILTIN_KINDS:
            try:
                registry.register(_load(spec))
            except Exception:  # an optional dependency is missing: the kind is absent
                log.exception("built-in job kind %s failed to load", spec)
        for spec in filter(None, os.environ.get("MOVIOLA_JOB_PLUGINS", "").split(",")):
            try:
                registry.register(_load(spec.strip()))
            except Exception:
                log.exception("job plugin %s failed to load", spec)
        for ep in entry_points(group="moviola.jobs"):
            try:
                registry.register(ep.load())
            except Exception:
                log.exception("job plugin %s failed to load", ep.name)
        return registry
