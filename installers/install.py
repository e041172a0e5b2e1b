"""Install a host bridge, list what an install would write, and uninstall from the manifest.

Layout (paths from :mod:`.layouts`):

- Nuke: the bridge in ``~/.nuke/moviola/`` (its init.py, menu.py, moviola_nuke), and a marked
  block at the end of ``~/.nuke/init.py`` that adds that folder to Nuke's plug-in path.
- Resolve: the bridge in ``<moviola home>/bridges/resolve/``, and for each entry script of the
  bridge a short launcher of the same name in Resolve's per-user ``Fusion/Scripts/Utility``
  (Workspace > Scripts lists every script there, so the bridge's package cannot live there).

Beside each bridge: ``moviola_bootstrap.py``, ``moviola_host.json`` (how to start the engine)
and ``site-packages/py3.X/`` per host Python: the wheels built for it, and the pure-Python
``moviola.plugin`` (and ``moviola.ui`` for Nuke).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from moviola.plugin._version import __version__

from . import premiere, user_files
from .errors import InstallError
from .hosts import Host, python_version, wheel_arch
from .layouts import Target
from .manifest import Manifest, file_sha256, manifest_path, read_manifest, write_manifest
from .wheels import fetch_wheels

BOOTSTRAP = "moviola_bootstrap.py"
CONFIG_NAME = "moviola_host.json"  # moviola_bootstrap.CONFIG_NAME
SITE_PACKAGES = "site-packages"  # moviola_bootstrap.SITE_PACKAGES
SKIPPED = ("__pycache__", ".pyc", ".pyo", ".DS_Store")


def _quiet(message: str) -> None:
    pass


@dataclass
class PlannedFile:
    dest: Path
    source: Path | None = None
    content: bytes | None = None
    executable: bool = False


@dataclass
class PlannedEdit:
    path: Path
    lines: list[str]


@dataclass
class Plan:
    host: Host
    target: Target
    bridge_dir: Path
    host_pythons: list[str]
    files: list[PlannedFile] = field(default_factory=list)
    edits: list[PlannedEdit] = field(default_factory=list)
    engine_python: str = ""


@dataclass
class HostReport:
    """What was done (or would be) for one host; ``files``/``edits`` are paths."""

    host: str
    status: str  # installed | would_install | unavailable | uninstalled | not_installed
    files: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: str | None = None
    bridge_dir: str | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)


def bridges_root() -> Path:
    import moviola.host_bridges as bridges

    return Path(bridges.__file__).resolve().parent


def client_source(package: str) -> Path:
    """The folder of moviola.<package> in this installation."""
    import importlib

    module = importlib.import_module(f"moviola.{package}")
    return Path(module.__file__ or "").resolve().parent


def bridge_dir_for(host: Host, target: Target) -> Path:
    if host.name == "nuke":
        return target.nuke_home / "moviola"
    return target.moviola_home / "bridges" / host.name


def install(host: Host, target: Target, *, host_pythons: Sequence[str] | None = None,
            engine_python: str | None = None, arch: str | None = None,
            dry_run: bool = False, say: Callable[[str], None] = _quiet) -> HostReport:
    """Install one host's bridge (or, with ``dry_run``, list every file it would write).

    ``say`` hears each slow step (a wheel download) as it starts.
    """
    if host.bridge is None:
        return HostReport(host=host.name, status="unavailable", notes=[host.why_unavailable])
    previous = read_manifest(target.manifests, host.name)
    owned = set(previous.files) if previous else set()
    with planned(host, target, host_pythons, engine_python, arch, owned, say) as plan:
        if dry_run:
            return HostReport(
                host=host.name, status="would_install", bridge_dir=str(plan.bridge_dir),
                files=[str(f.dest) for f in plan.files] + [str(manifest_path(target.manifests, host.name))],
                edits=[str(e.path) for e in plan.edits],
                notes=[user_files.planned_block(e.path, host.name, e.lines) for e in plan.edits])
        if previous is not None:
            uninstall(host, target)
        manifest = apply(plan)
    return HostReport(host=host.name, status="installed", files=sorted(manifest.files),
                      edits=[e.path for e in manifest.edits], bridge_dir=str(plan.bridge_dir),
                      manifest=str(manifest_path(target.manifests, host.name)),
                      notes=[premiere.how_to_load(plan.bridge_dir)] if host.name == "premiere" else [])


@contextmanager
def planned(host: Host, target: Target, host_pythons: Sequence[str] | None,
            engine_python: str | None, arch: str | None, owned: set[str],
            say: Callable[[str], None] = _quiet) -> Iterator[Plan]:
    """Every file and edit of an install; the wheels wait in a temporary folder until applied.

    ``owned``: files an earlier install wrote, which this one replaces.
    """
    assert host.bridge is not None
    source = bridges_root() / host.bridge
    if not source.is_dir():
        raise InstallError(f"the {host.title} bridge's files are missing from this installation",
                           path=str(source))
    # A host without Python (Premiere's JavaScript panel) takes no wheels, whatever was asked.
    asked = (host_pythons or host.pythons) if host.pythons else ()
    pythons = sorted({python_version(v) for v in asked}, key=lambda v: tuple(int(p) for p in v.split(".")))
    plan = Plan(host=host, target=target, bridge_dir=bridge_dir_for(host, target), host_pythons=pythons,
                engine_python=engine_python or sys.executable)
    _plan_bridge(plan, source)
    config = {"host": host.name, "moviola_version": __version__, "host_pythons": pythons,
              "engine_python": plan.engine_python}
    plan.files.append(PlannedFile(plan.bridge_dir / CONFIG_NAME,
                                  content=(json.dumps(config, indent=1) + "\n").encode()))
    plan.files.append(PlannedFile(plan.bridge_dir / BOOTSTRAP, source=bridges_root() / BOOTSTRAP))
    _refuse_files_in_the_way(plan, owned)  # before any download
    with tempfile.TemporaryDirectory(prefix="moviola-wheels-") as scratch:
        for version in pythons:
            site = plan.bridge_dir / SITE_PACKAGES / f"py{version}"
            fetched = Path(scratch) / f"py{version}"
            platforms = target.wheel_platforms(wheel_arch(host, target.os_name, version, arch))
            say(f"{host.title}: fetching wheels for Python {version} ({', '.join(platforms)})")
            fetch_wheels(fetched, version, platforms, host.requirements)
            _plan_tree(plan, fetched, site)
            for package in host.client_packages:
                _plan_tree(plan, client_source(package), site / "moviola" / package)
        yield plan


def _plan_bridge(plan: Plan, source: Path) -> None:
    if plan.host.name == "premiere":
        _plan_premiere(plan, source)
        return
    if plan.host.name == "nuke":
        _plan_tree(plan, source, plan.bridge_dir)
        plan.edits.append(PlannedEdit(plan.target.nuke_home / "init.py",
                                      user_files.nuke_init_lines(plan.bridge_dir)))
        return
    _plan_tree(plan, source, plan.bridge_dir)
    entries = sorted(p for p in source.glob("*.py") if p.name != "__init__.py")
    if not entries:
        raise InstallError(f"the {plan.host.title} bridge has no entry script to list under "
                           "Workspace > Scripts", path=str(source))
    for entry in entries:
        plan.files.append(PlannedFile(plan.target.resolve_utility_scripts / entry.name,
                                      content=resolve_launcher(plan.bridge_dir, entry.name).encode()))


def _plan_premiere(plan: Plan, source: Path) -> None:
    """The UXP panel as a folder (for the UXP Developer Tool) and a .ccx package, and the
    launcher its "Start the engine" button opens."""
    for path in premiere.panel_files(source):
        plan.files.append(PlannedFile(plan.bridge_dir / premiere.PLUGIN_FOLDER / path.relative_to(source),
                                      source=path))
    plan.files.append(PlannedFile(plan.bridge_dir / premiere.PACKAGE_NAME,
                                  content=premiere.ccx_package(source)))
    name, content = premiere.launcher(plan.target.os_name, plan.engine_python)
    plan.files.append(PlannedFile(plan.bridge_dir / name, content=content, executable=True))


def resolve_launcher(bridge_dir: Path, entry: str) -> str:
    """The script Resolve lists: it runs the bridge's entry script with Resolve's globals."""
    folder = repr(str(bridge_dir))
    return "\n".join([
        "# Moviola: written by `moviola install resolve`; `moviola uninstall resolve` removes it.",
        "# The bridge itself lives in the folder below, outside the Scripts menu.",
        "import os, runpy, sys",
        f"_folder = {folder}",
        "if _folder not in sys.path:",
        "    sys.path.insert(0, _folder)",
        "import moviola_bootstrap",
        "moviola_bootstrap.activate(_folder)",
        f"runpy.run_path(os.path.join(_folder, {entry!r}), init_globals=dict(globals()), "
        "run_name='__main__')",
        "",
    ])


def _plan_tree(plan: Plan, source: Path, dest: Path) -> None:
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or any(part == "__pycache__" or part.endswith(SKIPPED) for part in rel.parts):
            continue
        plan.files.append(PlannedFile(dest / rel, source=path))


def apply(plan: Plan) -> Manifest:
    """Write every planned file and edit, recording each in the manifest (written even on failure)."""
    target = plan.target
    manifest = Manifest(host=plan.host.name, moviola_version=__version__, os_name=target.os_name,
                        host_pythons=list(plan.host_pythons), bridge_dir=str(plan.bridge_dir))
    _refuse_files_in_the_way(plan, set())
    _make_dirs(target.manifests, manifest)
    try:
        for planned_file in plan.files:
            _make_dirs(planned_file.dest.parent, manifest)
            if planned_file.content is not None:
                planned_file.dest.write_bytes(planned_file.content)
            else:
                assert planned_file.source is not None
                shutil.copyfile(planned_file.source, planned_file.dest)
            if planned_file.executable:
                planned_file.dest.chmod(0o755)
            manifest.files[str(planned_file.dest)] = file_sha256(planned_file.dest)
        for edit in plan.edits:
            _make_dirs(edit.path.parent, manifest)
            manifest.edits.append(user_files.append_block(edit.path, plan.host.name, edit.lines))
    finally:
        write_manifest(target.manifests, manifest)
    return manifest


def _refuse_files_in_the_way(plan: Plan, owned: set[str]) -> None:
    theirs = [str(f.dest) for f in plan.files if f.dest.exists() and str(f.dest) not in owned]
    if theirs:
        raise InstallError(f"{len(theirs)} file(s) that Moviola did not write are in the way; move them "
                           f"and install again: {', '.join(theirs[:5])}", path=theirs[0])


def _make_dirs(folder: Path, manifest: Manifest) -> None:
    missing = []
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    for created in reversed(missing):
        created.mkdir()
        manifest.created_dirs.append(str(created))


def uninstall(host: Host, target: Target) -> HostReport:
    """Remove exactly what the manifest lists; a file changed since install is kept and named."""
    manifest = read_manifest(target.manifests, host.name)
    if manifest is None:
        return HostReport(host=host.name, status="not_installed")
    report = HostReport(host=host.name, status="uninstalled", bridge_dir=manifest.bridge_dir,
                        manifest=str(manifest_path(target.manifests, host.name)))
    for edit in manifest.edits:
        report.notes.append(user_files.remove_block(edit))
        report.edits.append(edit.path)
    for name, digest in sorted(manifest.files.items()):
        path = Path(name)
        if not path.exists():
            continue
        if file_sha256(path) != digest:
            report.notes.append(f"{path}: changed since install, kept")
            continue
        path.unlink()
        report.files.append(name)
    manifest_path(target.manifests, host.name).unlink()
    # Deepest first: folders handed over by several installs are not in creation order.
    deepest_first = sorted(manifest.created_dirs, key=lambda d: len(Path(d).parts), reverse=True)
    left = [d for d in deepest_first if not _remove_if_empty(Path(d))]
    _hand_over(left, target)
    return report


def _remove_if_empty(folder: Path) -> bool:
    if not folder.exists():
        return True
    try:
        folder.rmdir()
        return True
    except OSError:  # not empty: something else lives there now
        return False


def _hand_over(folders: list[str], target: Target) -> None:
    """Folders still in use go to another install's manifest: the last uninstall removes them."""
    if not folders or not target.manifests.is_dir():
        return
    for path in sorted(target.manifests.glob("*.json")):
        other = read_manifest(target.manifests, path.stem)
        if other is None:
            continue
        uses = [d for d in reversed(folders) if d not in other.created_dirs]
        other.created_dirs = uses + other.created_dirs  # outer folders first, as created
        write_manifest(target.manifests, other)
