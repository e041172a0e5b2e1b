"""``install_model``: put a weight file into the store from a local file or a URL, verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moviola.plugin.errors import InvalidParamsError

from ..engine_view import EngineView
from .base import JobContext, JobKind
from .schema import param


@dataclass(frozen=True)
class InstallModelParams:
    model: str = param(help="registry name, e.g. sam2.1-hiera-tiny")
    source: str = param(help="local file path or URL of the weight file")
    file: str | None = param(None, help="which of the model's files this is (default: the first)")
    sha256: str | None = param(None, help="expected checksum, where the registry has none")


class InstallModelJob(JobKind):
    NAME = "install_model"
    DESCRIPTION = "Install a model's weight file into the local store, verified by SHA-256."
    Params = InstallModelParams

    def check(self, params: InstallModelParams, engine: EngineView) -> None:
        spec = engine.models.get(params.model)
        if spec.bundled:
            raise InvalidParamsError(f"{spec.name} ships inside a package: nothing to install")
        if params.file is not None:
            engine.store.weight_file(spec, params.file)

    def run(self, params: InstallModelParams, ctx: JobContext) -> dict[str, Any]:
        spec = ctx.engine.models.get(params.model)
        store = ctx.engine.store
        file = store.weight_file(spec, params.file) if params.file else spec.weights[0]
        ctx.progress(0, 1, f"installing {file.name}")
        path = store.install(spec, file, params.source, params.sha256)
        ctx.progress(1, 1)
        return {"model": spec.name, "file": file.name, "path": str(path),
                "installed": store.installed(spec), "sha256": store.expected_sha256(spec, file)}
