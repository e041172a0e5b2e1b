"""Settings come from one file, then environment variables, then flags."""

from __future__ import annotations

import pytest

from moviola.engine.config import Settings, load_settings
from moviola.plugin.errors import InvalidParamsError


def test_defaults_are_loopback_and_any_port(tmp_path):
    settings = load_settings(path=tmp_path / "none.toml")
    assert settings.host == "127.0.0.1" and settings.port == 0


def test_file_then_env_then_flags(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[engine]\nport = 7000\nmax_jobs = 4\nlog_level = "DEBUG"\n')
    monkeypatch.setenv("MOVIOLA_MAX_JOBS", "5")
    settings = load_settings({"log_level": "WARNING"}, path=config)
    assert (settings.port, settings.max_jobs, settings.log_level) == (7000, 5, "WARNING")


def test_unknown_key_and_bad_type_are_named(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("[engine]\nprot = 7000\n")
    with pytest.raises(InvalidParamsError, match="prot"):
        load_settings(path=config)
    config.write_text('[engine]\nport = "seven"\n')
    with pytest.raises(InvalidParamsError, match="port"):
        load_settings(path=config)
    monkeypatch.setenv("MOVIOLA_ORPHAN_TIMEOUT_S", "soon")
    with pytest.raises(InvalidParamsError, match="MOVIOLA_ORPHAN_TIMEOUT_S"):
        load_settings(path=tmp_path / "none.toml")


def test_paths_default_into_moviola_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIOLA_HOME", str(tmp_path))
    settings = Settings()
    assert settings.log_path == tmp_path / "logs" / "engine.log"
    assert settings.weights_path == tmp_path / "weights"
