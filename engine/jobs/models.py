"""``install_model``: put a model's weight files into the store, verified by SHA-256.

Without a ``source`` the files come from the registry's pinned URLs (every file of the model
not yet in the user's store); with one, the one file named by ``file`` comes from that local
file or URL. Progress counts bytes, with the rate; the first event says the model's licence
and the download's size before any byte is fetched. A cancel stops the copy between blocks,
and the partial file is removed: the store is left as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from moviola.plugin.errors import InvalidParamsError

from ..engine_view import EngineView
from ..models.registry import ModelSpec, WeightFile
from ..models.store import install_command
from .base import JobContext, JobKind
from .schema import param

MB = 1_000_000


@dataclass(frozen=True)
class InstallModelParams:
    model: str = param(help="registry name, e.g. sam2.1-hiera-tiny")
    source: str | None = param(None, help="local file path or URL of the weight file; none: "
                                          "download every missing file from the registry's pinned URLs")
    file: str | None = param(None, help="which of the model's files this is (default: the first)")
    sha256: str | None = param(None, help="expected checksum, where the registry has none")


def files_to_download(spec: ModelSpec, engine: EngineView, name: str | None) -> list[WeightFile]:
    """The files a registry download fetches: ``name``, or those missing from the user's store.

    Raises InvalidParamsError when one of them has no pinned URL (it must come from a file)."""
    store = engine.store
    if name is not None:
        files = [store.weight_file(spec, name)]
    else:
        files = [f for f in spec.weights if not (store.own_folder(spec) / f.name).is_file()]
    unpinned = [f.name for f in files if not (f.url and f.sha256)]
    if unpinned:
        raise InvalidParamsError(
            f"{spec.name} has no pinned download for {', '.join(unpinned)}; install from a file "
            f"with the checksum its publisher lists ({spec.source or 'see moviola models list'}): "
            f"{install_command(spec)}", detail={"param": "source", "model": spec.name})
    return files


class _ByteProgress:
    """Turns each file's copied bytes into the job's progress: done/total over all files."""

    def __init__(self, ctx: JobContext, spec: ModelSpec, files: list[WeightFile]) -> None:
        self.ctx, self.spec = ctx, spec
        self.sizes = {f.name: f.size or 0 for f in files}
        self.done_before = 0           # bytes of the files already copied
        self.started = time.monotonic()
        self.current = ""

    @property
    def total(self) -> int:
        return sum(self.sizes.values())

    def announce(self) -> None:
        """Size and licence up front, before the first byte."""
        size = f"{self.total / MB:.1f} MB" if all(self.sizes.values()) else "size unknown"
        self.ctx.progress(0, self.total, f"{self.spec.name}: {size}, {self.spec.license}",
                          model=self.spec.name, license=self.spec.license,
                          commercial_use=self.spec.commercial_use, bytes_done=0,
                          bytes_total=self.total, rate_bps=0.0, files=list(self.sizes))

    def file(self, name: str) -> Any:
        self.current = name

        def report(done: int, total: int) -> None:
            if total:
                self.sizes[name] = total   # the server's length, where the registry has none
            overall = self.done_before + done
            elapsed = max(time.monotonic() - self.started, 1e-6)
            rate = overall / elapsed
            self.ctx.progress(overall, max(self.total, overall),
                              f"{name}: {overall / MB:.1f} of {self.total / MB:.1f} MB at "
                              f"{rate / MB:.1f} MB/s", model=self.spec.name,
                              license=self.spec.license, bytes_done=overall,
                              bytes_total=max(self.total, overall), rate_bps=round(rate, 1))
        return report

    def finished(self, name: str, size: int) -> None:
        self.sizes[name] = size
        self.done_before += size


class InstallModelJob(JobKind):
    NAME = "install_model"
    DESCRIPTION = ("Install a model's weights into the local store, verified by SHA-256: from the "
                   "registry's pinned download, or one file from a local path or URL.")
    Params = InstallModelParams

    def check(self, params: InstallModelParams, engine: EngineView) -> None:
        spec = engine.models.get(params.model)
        if spec.bundled:
            raise InvalidParamsError(f"{spec.name} ships inside a package: nothing to install")
        if params.file is not None:
            engine.store.weight_file(spec, params.file)
        if params.source is None:
            if params.sha256 is not None:
                raise InvalidParamsError("--sha256 goes with --from: a registry download is "
                                         "checked against the registry's own pins",
                                         detail={"param": "sha256"})
            files_to_download(spec, engine, params.file)

    def run(self, params: InstallModelParams, ctx: JobContext) -> dict[str, Any]:
        spec = ctx.engine.models.get(params.model)
        store = ctx.engine.store
        if params.source is None:
            files = files_to_download(spec, ctx.engine, params.file)
            sources = [(f, str(f.url)) for f in files]
        else:
            file = store.weight_file(spec, params.file) if params.file else spec.weights[0]
            sources = [(file, params.source)]
        progress = _ByteProgress(ctx, spec, [f for f, _ in sources])
        progress.announce()
        installed = []
        for file, source in sources:
            path = store.install(spec, file, source, params.sha256,
                                 progress=progress.file(file.name),
                                 from_registry=params.source is None)
            progress.finished(file.name, path.stat().st_size)
            installed.append({"file": file.name, "path": str(path), "bytes": path.stat().st_size,
                              "sha256": store.expected_sha256(spec, file)})
        ctx.progress(progress.total, progress.total, "installed", model=spec.name,
                     bytes_done=progress.total, bytes_total=progress.total)
        first = installed[0] if installed else {"file": None, "path": None, "sha256": None}
        return {"model": spec.name, "license": spec.license, "files": installed,
                "file": first["file"], "path": first["path"], "sha256": first["sha256"],
                "bytes": progress.total, "installed": store.installed(spec),
                "folder": str(store.folder(spec))}
