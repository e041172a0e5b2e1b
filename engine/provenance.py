"""What every generated item records about how it was made (OTIO metadata, file headers)."""

from __future__ import annotations

import datetime
from typing import Any

from moviola.plugin._version import __version__


def provenance(job: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Enough to re-run the job and audit it: engine version, job, parameters, time, models."""
    return {
        "engine_version": __version__,
        "job": job,
        "params": params,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
