"""The local weights store: ``<weights_dir>/<model>/<file>``, verified by SHA-256.

Installing copies a local file or downloads a URL into a temporary file, checks its
checksum, then renames it into place: a half-downloaded or tampered file never becomes a
weight file. Where the registry publishes no checksum, the first install records the file's
hash in ``<model>/manifest.json`` and later checks hold it to that ("pinned on first install").
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import urllib.parse
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


def require_store(store: WeightsStore | None, model: str) -> WeightsStore:
    """``store``, for a model that loads its weights: a place with no store cannot run one."""
    if store is None:
        raise WeightsError(f"{model} needs its weights, and no weights store was given")
    return store


_HEX64 = re.compile(r"[0-9a-f]{64}")
# Pseudo-file systems whose "regular files" are the machine's state, not weights.
_SYSTEM_TREES = ("/proc", "/sys", "/dev")
# Weight files are data in one of these formats; the suffix must match the registry's file.
_JSON_MAX_BYTES = 4 * 1024 * 1024


def is_url(source: str) -> bool:
    return "://" in source


def check_download_url(url: str) -> None:
    """Only https, and never to this machine or a private network (the engine fetches it)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise WeightsError(f"weights download only over https, got {url!r}", path=url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise WeightsError(f"cannot resolve {parts.hostname}: {exc}", path=url) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise WeightsError(f"refusing to download from {parts.hostname}: it is a local or "
                               f"private address ({address})", path=url)


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_download_url(newurl)  # a redirect must pass the same rules as the first URL
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_HTTPS_ONLY = urllib.request.build_opener(_HttpsOnlyRedirects)


def check_local_weight_file(path: Path, file: WeightFile) -> None:
    """A regular file, outside the system's pseudo-file systems, of the weight file's kind."""
    if not path.is_absolute():
        raise WeightsError(f"weight file path must be absolute, got {str(path)!r}", path=str(path))
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except OSError:
        raise MediaNotFoundError("weight file to install does not exist", path=str(path)) from None
    if any(str(real) == tree or str(real).startswith(tree + os.sep) for tree in _SYSTEM_TREES):
        raise WeightsError(f"{path} is not a weight file", path=str(path))
    if not stat.S_ISREG(info.st_mode):
        raise WeightsError(f"{path} is not a regular file", path=str(path))
    expected_suffix = Path(file.name).suffix.lower()
    if real.suffix.lower() != expected_suffix and path.suffix.lower() != expected_suffix:
        raise WeightsError(f"{path.name} is not a {expected_suffix} file, which "
                           f"{file.name} must be", path=str(path))


def check_weight_content(path: Path, file: WeightFile, source: str) -> None:
    """The bytes are what the file's name says: a safetensors header, or a JSON object."""
    suffix = Path(file.name).suffix.lower()
    with open(path, "rb") as handle:
        if suffix == ".safetensors":
            head = handle.read(8)
            size = int.from_bytes(head, "little") if len(head) == 8 else 0
            header = handle.read(size) if 0 < size <= 100 * 1024 * 1024 else b""
            try:
                ok = isinstance(json.loads(header.decode("utf-8")), dict)
            except ValueError:
                ok = False
            if not ok:
                raise WeightsError(f"{source} is not a safetensors file", path=source)
        elif suffix == ".json":
            data = handle.read(_JSON_MAX_BYTES + 1)
            try:
                ok = len(data) <= _JSON_MAX_BYTES and isinstance(json.loads(data), dict)
            except ValueError:
                ok = False
            if not ok:
                raise WeightsError(f"{source} is not a JSON configuration file", path=source)


def _mismatch_message(spec: ModelSpec, file: WeightFile, source: str, expected: str,
                      actual: str, *, pinned: bool, given: bool) -> str:
    head = f"{source} does not match the checksum of {spec.name}/{file.name}: " \
           f"expected {expected}, got {actual}."
    if pinned:
        where = f" from {file.url}" if file.url else ""
        return head + f" The registry pins this file; get the published one{where}."
    if given:
        return head + " Check the --sha256 you gave against the publisher's checksum."
    return (head + " The expected checksum was recorded when an earlier file was installed; "
            f"if this file is the right one, run the install again with --sha256 {actual}.")


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
            if not package:
                return False
            return importlib.util.find_spec(package) is not None
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
        """Copy or download ``source`` into the store as ``file``, verified; return its path.

        ``source`` is exactly what the user named: a regular local file of the weight file's
        kind, or an https URL whose checksum is known before the download starts.
        """
        pinned = file.sha256
        if sha256 is not None:
            sha256 = sha256.strip().lower()
            if not _HEX64.fullmatch(sha256):
                raise WeightsError(f"--sha256 must be 64 hex digits, got {sha256!r}")
            if pinned and sha256 != pinned:
                raise WeightsError(
                    f"the registry pins {spec.name}/{file.name} to sha256 {pinned}; a different "
                    f"--sha256 cannot override it", detail={"expected": pinned})
        # A hash the user gives replaces one recorded by an earlier install (which may have
        # been the wrong file); the registry's own pin is never replaced.
        expected = pinned or sha256 or self.expected_sha256(spec, file)
        if is_url(source):
            check_download_url(source)
            if not expected:
                raise WeightsError(
                    f"refusing to download {spec.name}/{file.name} with no checksum to check it "
                    f"against: pass --sha256 with the checksum its publisher lists", path=source)
        else:
            check_local_weight_file(Path(source), file)
        folder = self.folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                if is_url(source):
                    with _HTTPS_ONLY.open(source, timeout=60) as response:
                        shutil.copyfileobj(response, out, CHUNK)
                else:
                    with open(source, "rb") as handle:
                        shutil.copyfileobj(handle, out, CHUNK)
            check_weight_content(tmp, file, source)
            actual = sha256_of(tmp)
            if expected and actual != expected:
                raise WeightsError(_mismatch_message(spec, file, source, expected, actual,
                                                     pinned=bool(pinned), given=bool(sha256)),
                                   path=source, detail={"expected": expected, "actual": actual})
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
