"""``moviola doctor``: is everything a host needs in place, and what to do where it is not.

Checks, in order: the engine answers; its version and protocol match this client; each host's
install is present and whole; a GPU is visible to the engine; model weights are installed.
Each check is ``ok``, ``warn`` (works, with less) or ``fail`` (does not work), with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviola.plugin._version import PROTOCOL_VERSION, __version__
from moviola.plugin.client import EngineClient
from moviola.plugin.errors import MoviolaError

from .errors import InstallError
from .hosts import HOSTS, Host
from .layouts import Target, local_os
from .manifest import file_sha256, read_manifest

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


def run_checks(target: Target, timeout: float = 5.0) -> list[Check]:
    hello, engine_check = _engine(timeout)
    checks = [engine_check]
    if hello is not None:
        checks.append(_versions(hello))
    checks += [_host_install(host, target) for host in HOSTS.values() if host.bridge is not None]
    checks += [_gpu(hello), _weights(hello)]
    return checks


def _engine(timeout: float) -> tuple[dict[str, Any] | None, Check]:
    try:
        with EngineClient.connect(autostart=False, timeout=timeout, client_name="moviola-doctor") as client:
            hello = client.hello()
    except MoviolaError as exc:
        return None, Check("engine", FAIL, f"no engine answers: {exc}",
                           "`moviola engine start --detach` (a host starts one on demand too)")
    return hello, Check("engine", OK, f"engine {hello['engine_version']} answers at {hello['endpoint']} "
                                      f"(pid {hello['pid']})")


def _versions(hello: dict[str, Any]) -> Check:
    engine, protocol = hello["engine_version"], tuple(hello["protocol"])
    if protocol[0] != PROTOCOL_VERSION[0]:
        return Check("versions", FAIL, f"the engine speaks protocol {protocol}, this client "
                                       f"{PROTOCOL_VERSION}", "stop the engine (`moviola engine stop`) "
                                       "and let this installation start its own")
    if engine != __version__:
        return Check("versions", WARN, f"engine {engine}, client {__version__}",
                     "restart the engine from this installation: `moviola engine stop`, then "
                     "`moviola engine start --detach`")
    return Check("versions", OK, f"engine and client {__version__}, protocol "
                                 f"{'.'.join(map(str, protocol))}")


def _host_install(host: Host, target: Target) -> Check:
    name = f"install: {host.name}"
    fix = f"`moviola install {host.name}`"
    try:
        manifest = read_manifest(target.manifests, host.name)
    except InstallError as exc:
        return Check(name, FAIL, str(exc), fix)
    if manifest is None:
        return Check(name, WARN, f"{host.title} bridge not installed", f"{fix} if you use {host.title}")
    missing = [p for p in manifest.files if not Path(p).exists()]
    if missing:
        return Check(name, FAIL, f"{len(missing)} installed file(s) are gone, e.g. {missing[0]}",
                     f"reinstall: {fix}")
    changed = [p for p, digest in manifest.files.items() if file_sha256(Path(p)) != digest]
    blocks = [e.path for e in manifest.edits
              if not Path(e.path).exists() or e.begin not in Path(e.path).read_text(encoding="utf-8")]
    if blocks:
        return Check(name, FAIL, f"the Moviola lines are gone from {blocks[0]}", f"reinstall: {fix}")
    problems = []
    if manifest.moviola_version != __version__:
        problems.append(f"installed by moviola {manifest.moviola_version}, this is {__version__}")
    if changed:
        problems.append(f"{len(changed)} file(s) changed since install, e.g. {changed[0]}")
    engine_python = _engine_python(manifest.bridge_dir)
    if engine_python and target.os_name == local_os() and not Path(engine_python).exists():
        return Check(name, FAIL, f"the engine Python it names is gone: {engine_python}", f"reinstall: {fix}")
    pythons = ", ".join(manifest.host_pythons) or "none: a JavaScript panel"
    if problems:
        return Check(name, WARN, "; ".join(problems), f"reinstall: {fix}")
    return Check(name, OK, f"{host.title} bridge in {manifest.bridge_dir} (Python {pythons})")


def _engine_python(bridge_dir: str) -> str | None:
    import json

    from .install import CONFIG_NAME

    try:
        return json.loads((Path(bridge_dir) / CONFIG_NAME).read_text(encoding="utf-8")).get("engine_python")
    except (OSError, ValueError):
        return None


def _gpu(hello: dict[str, Any] | None) -> Check:
    if hello is None:
        return Check("gpu", WARN, "unknown: the engine does not answer", "start the engine first")
    gpus = [d for d in hello.get("devices", []) if d.get("type") != "cpu"]
    seen = [d for d in gpus if "error" not in d]
    if seen:
        names = ", ".join(f"{d['type']}:{d.get('index', 0)} {d.get('name', '')}".strip() for d in seen)
        return Check("gpu", OK, names)
    why = "; ".join(str(d["error"]) for d in gpus) or "none found"
    return Check("gpu", WARN, f"no GPU visible to the engine ({why}): every job runs on the CPU, slower",
                 "on a machine with an NVIDIA GPU: install its driver and a CUDA build of torch "
                 "into Moviola's environment")


def _weights(hello: dict[str, Any] | None) -> Check:
    if hello is None:
        return Check("weights", WARN, "unknown: the engine does not answer", "start the engine first")
    models = hello.get("models", [])
    installed = [m["name"] for m in models if m.get("installed")]
    have = f"{len(installed)} of {len(models)} models installed" + (f": {', '.join(installed)}"
                                                                    if installed else "")
    # The engine's offers: each task whose neural model is missing, what installing it adds and
    # the exact command (a pinned download where there is one, else from a file).
    offers = hello.get("offers") or {}
    if not offers:
        return Check("weights", OK, have)
    missing = ", ".join(f"{task} ({offer['model']})" for task, offer in sorted(offers.items()))
    commands = "; ".join(f"{task}: `{offer['command']}`" for task, offer in sorted(offers.items()))
    return Check("weights", WARN, f"{have}; not installed, so the weight-free backends run: {missing}",
                 commands)


def worst(checks: list[Check]) -> str:
    statuses = {c.status for c in checks}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else OK
