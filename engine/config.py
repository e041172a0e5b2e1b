"""Engine settings: defaults < config file < environment < command-line flags.

The config file is ``<moviola home>/config.toml`` (``$MOVIOLA_CONFIG`` points elsewhere); every
key is documented in ``docs/configuration.md``. Unknown keys and wrong types are errors that
name the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from moviola.plugin.discovery import moviola_home
from moviola.plugin.errors import InvalidParamsError


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"          # never 0.0.0.0 unless the user says so
    port: int = 0                    # 0: any free port, published in the discovery file
    max_jobs: int = 2                # batch jobs running at once; more wait queued
    interactive_jobs: int = 2        # interactive jobs (frame, matte_preview, probe) at once
    orphan_timeout_s: float = 60.0   # attached jobs of a client silent this long are cancelled
    shutdown_grace_s: float = 30.0   # after this, a shutdown ends the process, stuck jobs or not
    finished_jobs_kept: int = 500    # finished job records kept for status queries
    weights_dir: str = ""            # default: <home>/weights
    site_weights_dir: str = ""       # a shared, pre-filled weights folder read after weights_dir
    output_dir: str = ""             # default output folder for jobs given none
    log_dir: str = ""                # default: <home>/logs
    log_level: str = "INFO"
    device: str = "auto"             # where matte and depth jobs run: auto, cpu, opencl, cuda
    gateway: bool = True             # also serve the protocol over a WebSocket, loopback only
    gateway_port: int = 0            # 0: any free port, published in the discovery file
    gateway_origins: str = "null,uxp://*"  # Origin headers the gateway accepts (comma-separated)

    @property
    def home(self) -> Path:
        return moviola_home()

    @property
    def weights_path(self) -> Path:
        return Path(self.weights_dir).expanduser() if self.weights_dir else self.home / "weights"

    @property
    def site_weights_path(self) -> Path | None:
        return Path(self.site_weights_dir).expanduser() if self.site_weights_dir else None

    @property
    def log_path(self) -> Path:
        folder = Path(self.log_dir).expanduser() if self.log_dir else self.home / "logs"
        return folder / "engine.log"


ENV_PREFIX = "MOVIOLA_"


def config_path() -> Path:
    env = os.environ.get("MOVIOLA_CONFIG")
    return Path(env).expanduser() if env else moviola_home() / "config.toml"


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is bool and isinstance(value, str):
            if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes")
        if kind in (int, float) and isinstance(value, bool):
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidParamsError(
            f"setting {name!r} must be {kind.__name__}, got {value!r}", detail={"setting": name}
        ) from None


def load_settings(overrides: Mapping[str, Any] | None = None, *, path: Path | None = None) -> Settings:
    """Settings from the config file, then ``MOVIOLA_<KEY>`` variables, then ``overrides``."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    kinds = {name: type(f.default) for name, f in fields.items()}
    values: dict[str, Any] = {}

    path = path or config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidParamsError(f"config file is not valid TOML: {exc}", path=str(path)) from None
        section = data.get("engine", data)
        for key, value in section.items():
            if key not in fields:
                raise InvalidParamsError(f"unknown setting {key!r} in config file", path=str(path),
                                         detail={"setting": key, "known": sorted(fields)})
            values[key] = _coerce(key, value, kinds[key])

    for name in fields:
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env is not None:
            values[name] = _coerce(ENV_PREFIX + name.upper(), env, kinds[name])

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in fields:
            raise InvalidParamsError(f"unknown setting {key!r}", detail={"setting": key})
        values[key] = _coerce(key, value, kinds[key])
    return Settings(**values)
