"""One way to make a cache key: every cache keys its entries through media.identity.cache_key."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from moviola.engine.matchcuts.cache import MediaCache
from moviola.engine.matte.backend import create_backend
from moviola.engine.matte.prompts import Prompts
from moviola.engine.media.identity import cache_key

ENGINE = Path(__file__).resolve().parents[1] / "engine"


def test_cache_key_is_canonical_and_covers_every_part():
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key("walk", {"a": 1}) != cache_key("key", {"a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})
    assert cache_key(Path("/x")) == cache_key("/x")          # anything else hashes as str
    assert re.fullmatch(r"[0-9a-f]{32}", cache_key("x"))


def test_parameter_hashes_are_the_cache_key():
    prompts = Prompts(((5.0, 6.0),), ((7.5, 8.0),), (1.0, 2.0, 30.0, 40.0))
    assert prompts.digest() == cache_key(prompts.to_wire())
    backend = create_backend("classical")
    assert backend.config_key() == cache_key(backend.describe())


def test_media_cache_names_entries_by_the_settings_key(tmp_path):
    cache = MediaCache(tmp_path)
    settings = {"backend": "classical", "version": 1}
    cache.save("m" * 32, "shots", settings, {"x": np.zeros(2, np.float32)})
    assert (tmp_path / ("m" * 32) / f"shots-{cache_key(settings)}.npz").is_file()


def test_no_cache_hashes_its_own_way():
    """Only identity.py hashes for keys (TensorRT engines included); the weights store
    checksums files, which is not a key."""
    hashing = {p.relative_to(ENGINE).as_posix() for p in ENGINE.rglob("*.py")
               if "hashlib" in p.read_text(encoding="utf-8")}
    assert hashing == {"media/identity.py", "models/store.py"}
