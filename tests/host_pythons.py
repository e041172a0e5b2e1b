"""The hosts' own Pythons for tests: the oldest one a host brings (3.9, Nuke 14), which
``.ci/run`` builds as ``.venv39`` with the client's three dependencies, and the modules a
host-side process must never load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"numpy", "av", "torch", "cv2", "OpenImageIO", "OpenEXR", "PySide6"}


def oldest_python() -> str | None:
    """A Python 3.9 with the client's three dependencies, or None."""
    for candidate in (os.environ.get("MOVIOLA_TEST_PYTHON39"), ROOT / ".venv39" / "bin" / "python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def need_python39(python: str | None) -> str:
    """``python``, else fail under CI (which must provide one) or skip, saying how to get one."""
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a Python 3.9 with pyzmq, msgpack and opentimelineio (.venv39)")
        pytest.skip("no Python 3.9 with the client's dependencies here; .ci/run creates .venv39")
    return python
