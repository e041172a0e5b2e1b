"""What one install wrote, so uninstall removes exactly that and nothing of the user's.

One JSON file per host in ``<moviola home>/installs/``: each file written (with its hash, so a
file the user changed since is kept and reported), each folder created, and each block added to
a user's own file (Nuke's init.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import InstallError

MANIFEST_VERSION = 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class BlockEdit:
    """A marked block appended to a user's file; ``created_file``: the file did not exist."""

    path: str
    begin: str
    end: str
    created_file: bool
    # The file did not end with a newline, so one was added before the block.
    newline_added: bool = False


@dataclass
class Manifest:
    host: str
    moviola_version: str
    os_name: str
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    created_dirs: list[str] = field(default_factory=list)  # in creation order
    edits: list[BlockEdit] = field(default_factory=list)
    host_pythons: list[str] = field(default_factory=list)
    bridge_dir: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"manifest_version": MANIFEST_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        body = {k: v for k, v in data.items() if k != "manifest_version"}
        body["edits"] = [BlockEdit(**e) for e in body.get("edits", [])]
        return cls(**body)


def manifest_path(manifests_dir: Path, host: str) -> Path:
    return manifests_dir / f"{host}.json"


def read_manifest(manifests_dir: Path, host: str) -> Manifest | None:
    path = manifest_path(manifests_dir, host)
    if not path.exists():
        return None
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        raise InstallError(f"the install record for {host} is unreadable ({exc}); remove it "
                           "and the files it lists by hand", path=str(path)) from exc


def write_manifest(manifests_dir: Path, manifest: Manifest) -> Path:
    path = manifest_path(manifests_dir, manifest.host)
    path.write_text(json.dumps(manifest.to_json(), indent=1, sort_keys=True), encoding="utf-8")
    return path
