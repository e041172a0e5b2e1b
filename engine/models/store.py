"""The local weights store: ``<weights_dir>/<model>/<file>``, verified by SHA-256.

Installing copies a local file or downloads a URL into a temporary file, checks its
checksum, then renames it into place: a half-downloaded or tampered file never becomes a
weight file. Where the registry publishes no checksum, the first install records the file's
hash in ``<model>/manifest.json`` and later checks hold it to that ("pinned on first install").

A download reports its bytes as it goes (``progress``), and whatever stops it (a cancel from
that callback, a dropped connection, a checksum mismatch) removes the partial file and leaves
the store as it was.

A studio can pre-fill one shared, read-only **site** folder laid out the same way
(``site_weights_dir``); a model complete in the user's store is read from there, else from a
model complete in the site folder, without copying. A site file is hashed once per machine
(the result is kept in the user's store, keyed by the file's size and modification time).
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import json
import os
import re
import socket
import stat
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
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


def check_download_url(url: str, *, private_ok: bool = False) -> None:
    """Only https, and never to this machine or a private network (the engine fetches it).

    ``private_ok``: the URL comes from the model registry (the engine's own configuration, e.g.
    a studio's mirror), not from a client, so a local or private address is allowed."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise WeightsError(f"weights download only over https, got {url!r}", path=url)
    if private_ok:
        return
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
    private_ok = False

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        # A redirect must pass the same rules as the first URL.
        check_download_url(newurl, private_ok=self.private_ok)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _RegistryRedirects(_HttpsOnlyRedirects):
    private_ok = True


_HTTPS_ONLY = urllib.request.build_opener(_HttpsOnlyRedirects)
_REGISTRY_HTTPS = urllib.request.build_opener(_RegistryRedirects)

#: ``progress(done_bytes, total_bytes)``: total is 0 while unknown. It may raise (a cancel),
#: which stops the copy and removes the partial file.
Progress = Callable[[int, int], None]
# Blocks small enough that a slow download still reports (and can be cancelled) often.
DOWNLOAD_BLOCK = 256 * 1024


def install_command(spec: ModelSpec) -> str:
    """The command that installs ``spec``'s weights: a download where the registry pins every
    file's URL, else one ``--from`` per file with the checksum its publisher lists."""
    if all(f.url for f in spec.weights):
        return f"moviola models install {spec.name}"
    many = len(spec.weights) > 1
    file = " --file NAME" if many else ""
    line = f"moviola models install {spec.name}{file} --from FILE --sha256 HEX"
    if many:
        line += f" (for each of {', '.join(f.name for f in spec.weights)})"
    return line


def copy_with_progress(source: Any, out: Any, total: int, progress: Progress | None) -> int:
    """Copy ``source`` (a file or HTTP response) into ``out`` in blocks; return the bytes."""
    done = 0
    read = getattr(source, "read1", source.read)
    if progress is not None:
        progress(0, total)
    while True:
        block = read(DOWNLOAD_BLOCK)
        if not block:
            break
        out.write(block)
        done += len(block)
        if progress is not None:
            progress(done, max(total, done))
    return done


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
    """The user's store at ``root``; ``site``, where given, a shared folder searched after it."""

    SITE_RECORD = ".site-verified.json"

    def __init__(self, root: str | os.PathLike[str],
                 site: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser()
        self.site = Path(site).expanduser() if site else None

    def own_folder(self, spec: ModelSpec) -> Path:
        """Where installs into this store write: always the user's store."""
        return self.root / spec.name

    def _complete(self, folder: Path, spec: ModelSpec) -> bool:
        return all((folder / f.name).is_file() for f in spec.weights)

    def site_folder(self, spec: ModelSpec) -> Path | None:
        """The site folder of ``spec`` when it holds all its files (and the user's does not)."""
        if self.site is None or self._complete(self.own_folder(spec), spec):
            return None
        folder = self.site / spec.name
        return folder if self._complete(folder, spec) else None

    def folder(self, spec: ModelSpec) -> Path:
        """The folder the model is read from: the user's store, else a complete site folder."""
        return self.site_folder(spec) or self.own_folder(spec)

    def path(self, spec: ModelSpec, file: WeightFile) -> Path:
        return self.folder(spec) / file.name

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _manifest(self, spec: ModelSpec, folder: Path | None = None) -> dict[str, Any]:
        return self._read_json((folder or self.own_folder(spec)) / "manifest.json")

    def _write_json(self, folder: Path, name: str, data: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, folder / name)

    def expected_sha256(self, spec: ModelSpec, file: WeightFile) -> str | None:
        """The registry's pin, else the checksum recorded beside the files in use."""
        recorded = self._manifest(spec, self.folder(spec)).get(file.name, {})
        return file.sha256 or (recorded.get("sha256") if isinstance(recorded, dict) else None)

    def installed(self, spec: ModelSpec) -> bool:
        """All weight files present; a bundled model needs its package importable."""
        if spec.bundled:
            package = spec.extra.get("package")
            if not package:
                return False
            return importlib.util.find_spec(package) is not None
        return self._complete(self.folder(spec), spec)

    def _site_hash(self, path: Path, records: dict[str, Any]) -> tuple[str, bool]:
        """A site file's SHA-256, and whether it was computed now; a file unchanged since this
        machine last hashed it (same size and modification time) is not read again."""
        info = path.stat()
        seen = records.get(str(path))
        if isinstance(seen, dict) and seen.get("size") == info.st_size \
                and seen.get("mtime_ns") == info.st_mtime_ns and _HEX64.fullmatch(str(seen.get("sha256"))):
            return str(seen["sha256"]), False
        return sha256_of(path), True

    def verify(self, spec: ModelSpec) -> dict[str, str]:
        """Check every file against its checksum; return name -> sha256. Raises WeightsError."""
        if spec.bundled:
            return {}
        site = self.site_folder(spec)
        records = self._read_json(self.root / self.SITE_RECORD) if site else {}
        changed = False
        hashes = {}
        for file in spec.weights:
            path = self.path(spec, file)
            if not path.is_file():
                raise WeightsError(f"model {spec.name!r} is not installed: {file.name} is missing; "
                                   f"install it with `{install_command(spec)}`", path=str(path))
            expected = self.expected_sha256(spec, file)
            if site is None:
                actual = sha256_of(path)
            else:
                actual, fresh = self._site_hash(path, records)
                seen = records.get(str(path))
                # An unpinned site file with no manifest is held to the hash first seen here.
                expected = expected or (seen.get("sha256") if isinstance(seen, dict) else None)
                if fresh and (not expected or actual == expected):
                    info = path.stat()
                    records[str(path)] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns,
                                          "sha256": actual}
                    changed = True
            if expected and actual != expected:
                raise WeightsError(f"{file.name} of {spec.name!r} fails its checksum "
                                   f"(expected {expected[:12]}…, got {actual[:12]}…)", path=str(path))
            hashes[file.name] = actual
        if changed:
            try:
                self._write_json(self.root, self.SITE_RECORD, records)
            except OSError:
                pass  # a read-only home only costs hashing again next time
        return hashes

    def install(self, spec: ModelSpec, file: WeightFile, source: str,
                sha256: str | None = None, *, progress: Progress | None = None,
                from_registry: bool = False) -> Path:
        """Copy or download ``source`` into the store as ``file``, verified; return its path.

        ``source`` is exactly what the user named: a regular local file of the weight file's
        kind, or an https URL whose checksum is known before the download starts.
        ``from_registry``: ``source`` is the registry's own URL for the file (which may name a
        studio mirror on the local network). ``progress`` gets the bytes copied so far.
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
        own_record = self._manifest(spec).get(file.name, {})
        expected = pinned or sha256 or (own_record.get("sha256") if isinstance(own_record, dict) else None)
        if is_url(source):
            check_download_url(source, private_ok=from_registry)
            if not expected:
                raise WeightsError(
                    f"refusing to download {spec.name}/{file.name} with no checksum to check it "
                    f"against: pass --sha256 with the checksum its publisher lists", path=source)
        else:
            check_local_weight_file(Path(source), file)
        folder = self.own_folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                if is_url(source):
                    opener = _REGISTRY_HTTPS if from_registry else _HTTPS_ONLY
                    with opener.open(source, timeout=60) as response:
                        length = response.headers.get("Content-Length")
                        total = int(length) if length and length.isdigit() else (file.size or 0)
                        copy_with_progress(response, out, total, progress)
                else:
                    with open(source, "rb") as handle:
                        copy_with_progress(handle, out, os.fstat(handle.fileno()).st_size, progress)
            check_weight_content(tmp, file, source)
            actual = sha256_of(tmp)
            if expected and actual != expected:
                raise WeightsError(_mismatch_message(spec, file, source, expected, actual,
                                                     pinned=bool(pinned), given=bool(sha256)),
                                   path=source, detail={"expected": expected, "actual": actual})
            final = folder / file.name
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        manifest = self._manifest(spec)
        manifest[file.name] = {"sha256": actual, "source": source}
        self._write_json(folder, "manifest.json", manifest)
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
            return f"weights not installed: {install_command(spec)}"
        return ""

    def status(self, spec: ModelSpec) -> dict[str, Any]:
        site = None if spec.bundled else self.site_folder(spec)
        return {**spec.to_wire(), "installed": self.installed(spec),
                "folder": None if spec.bundled else str(self.folder(spec)),
                "location": "site" if site else "user", "install": install_command(spec)}
