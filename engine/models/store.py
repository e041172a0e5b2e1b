"""The local weights store: ``<weights_dir>/<model>/<file>``, verified by SHA-256.

Installing copies a local file or downloads a URL into a temporary file, checks its
checksum, then renames it into place: a half-downloaded or tampered file never becomes a
weight file. Where the registry publishes no checksum, the first install records the file's
hash in ``<model>/manifest.json`` and later checks hold it to that ("pinned on first install").
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from moviola.plugin.errors import InvalidParamsError, MediaNotFoundError, MoviolaError

from ..devices import missing_packages
from .registry import ModelSpec, WeightFile

CHUNK = 1 << 20


class WeightsError(MoviolaError, ValueError):
    """A weight file is missing, or its checksum does not match."""
    code = "invalid_params"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class WeightsStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    def folder(self, spec: ModelSpec) -> Path:
        return self.root / spec.name

    def path(self, spec: ModelSpec, file: WeightFile) -> Path:
        return self.folder(spec) / file.name

    def _manifest(self, spec: ModelSpec) -> dict[str, Any]:
        try:
            return json.loads((self.folder(spec) / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write_manifest(self, spec: ModelSpec, manifest: dict[str, Any]) -> None:
        folder = self.folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, folder / "manifest.json")

    def expected_sha256(self, spec: ModelSpec, file: WeightFile) -> str | None:
        return file.sha256 or self._manifest(spec).get(file.name, {}).get("sha256")

    def installed(self, spec: ModelSpec) -> bool:
        """All weight files present; a bundled model needs its package importable."""
        if spec.bundled:
            package = spec.extra.get("package")
            return bool(package) and importlib.util.find_spec(package) is not None
        return all(self.path(spec, f).is_file() for f in spec.weights)

    def verify(self, spec: ModelSpec) -> dict[str, str]:
        """Check every file against its checksum; return name -> sha256. Raises WeightsError."""
        if spec.bundled:
            return {}
        hashes = {}
        for file in spec.weights:
            path = self.path(spec, file)
            if not path.is_file():
                raise WeightsError(f"model {spec.name!r} is not installed: {file.name} is missing; "
                                   f"install it with `moviola models install {spec.name} --from FILE`",
                                   path=str(path))
            actual = sha256_of(path)
            expected = self.expected_sha256(spec, file)
            if expected and actual != expected:
                raise WeightsError(f"{file.name} of {spec.name!r} fails its checksum "
                                   f"(expected {expected[:12]}…, got {actual[:12]}…)", path=str(path))
            hashes[file.name] = actual
        return hashes

    def install(self, spec: ModelSpec, file: WeightFile, source: str,
                sha256: str | None = None) -> Path:
        """Copy or download ``source`` into the store as ``file``, verified; return its path."""
        expected = sha256 or self.expected_sha256(spec, file)
        folder = self.folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                if "://" in source:
                    with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 - user asked
                        shutil.copyfileobj(response, out, CHUNK)
                else:
                    src = Path(source).expanduser()
                    if not src.is_file():
                        raise MediaNotFoundError("weight file to install does not exist", path=str(src))
                    with open(src, "rb") as handle:
                        shutil.copyfileobj(handle, out, CHUNK)
            actual = sha256_of(tmp)
            if expected and actual != expected:
                raise WeightsError(f"{source} does not match the checksum of {spec.name}/{file.name} "
                                   f"(expected {expected[:12]}…, got {actual[:12]}…)", path=source)
            final = self.path(spec, file)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        manifest = self._manifest(spec)
        manifest[file.name] = {"sha256": actual, "source": source}
        self._write_manifest(spec, manifest)
        return final

    def weight_file(self, spec: ModelSpec, name: str) -> WeightFile:
        for file in spec.weights:
            if file.name == name:
                return file
        raise InvalidParamsError(f"model {spec.name!r} has no file {name!r}; its files: "
                                 f"{', '.join(f.name for f in spec.weights)}")

    def unavailable_reason(self, spec: ModelSpec) -> str:
        """Why a neural model cannot run here ("" when it can): the stack, or its weights."""
        if missing_packages():
            return "torch and transformers are not installed (pip install 'moviola[ml]')"
        if not self.installed(spec):
            return (f"weights not installed: moviola models install {spec.name} --from FILE "
                    f"(files: {', '.join(f.name for f in spec.weights)})")
        return ""

    def status(self, spec: ModelSpec) -> dict[str, Any]:
        return {**spec.to_wire(), "installed": self.installed(spec),
                "folder": None if spec.bundled else str(self.folder(spec))}
