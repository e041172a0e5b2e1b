"""Where the real test material lives: ``$MOVIOLA_SHARED_DATA``, else ``../shared/data`` beside
the checkout. It is read in place, never copied into the project; tests that need it skip,
naming this variable, when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("MOVIOLA_SHARED_DATA")
                   or Path(__file__).resolve().parents[2] / "shared" / "data")
MISSING_REASON = f"real test material not found at {SHARED_DATA} (set MOVIOLA_SHARED_DATA)"
# CI sets this: there the real material must be present, and its absence fails the run instead
# of skipping the tests that read it.
REQUIRED = os.environ.get("MOVIOLA_REQUIRE_SHARED_DATA", "") not in ("", "0")
